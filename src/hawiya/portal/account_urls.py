"""My account: profile, security history, sessions, sign-in methods (under /<lang>/account/)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
