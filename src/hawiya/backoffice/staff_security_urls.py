"""The administrators' staff-security pages (under /<lang>/staff/security/)."""

from django.urls import URLPattern, URLResolver, path

from . import staff_security_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("roles/", views.roles, name="staff-security-roles"),
    path("roles/<slug:role>/", views.role_policy, name="staff-security-role"),
]
