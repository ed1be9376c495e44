from django.urls import URLPattern, URLResolver, path

from . import signin_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", signin_views.home, name="home"),
    path("sign-in/", signin_views.sign_in, name="sign-in"),
    path("sign-in/code/", signin_views.sign_in_code, name="sign-in-code"),
    path("sign-out/", signin_views.sign_out, name="sign-out"),
]
