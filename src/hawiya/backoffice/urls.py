"""Back-office URLs (under /<lang>/staff/). Officer pages here; supervisor pages in
supervisor_urls.py; the staff sign-in in signin_urls.py."""

from django.urls import URLPattern, URLResolver, include, path

app_name = "backoffice"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("hawiya.backoffice.signin_urls")),
    path("", include("hawiya.backoffice.officer_urls")),
    path("supervisor/", include("hawiya.backoffice.supervisor_urls")),
]
