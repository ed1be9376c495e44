from django.urls import URLPattern, URLResolver, path

from . import misuse_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.misuse_reports, name="misuse-reports"),
    path("<str:reference>/close/", views.misuse_report_close_page, name="misuse-report-close"),
]
