from django.urls import URLPattern, URLResolver, path

from . import passkey_views, signin_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", signin_views.home, name="home"),
    path("sign-in/", signin_views.sign_in, name="sign-in"),
    path("sign-in/code/", signin_views.sign_in_code, name="sign-in-code"),
    path("sign-in/passkey/", passkey_views.sign_in, name="sign-in-passkey"),
    path("sign-in/passkey/options/", passkey_views.sign_in_options, name="sign-in-passkey-options"),
    path("sign-out/", signin_views.sign_out, name="sign-out"),
    path("passkeys/", passkey_views.passkeys_page, name="passkeys"),
    path("passkeys/options/", passkey_views.passkey_options, name="passkey-options"),
    path("passkeys/<int:passkey_id>/remove/", passkey_views.passkey_remove, name="passkey-remove"),
]
