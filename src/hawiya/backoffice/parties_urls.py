"""The administrators' relying-party pages (under /<lang>/staff/parties/)."""

from django.urls import URLPattern, URLResolver, path

from . import parties_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.parties, name="parties"),
    path("register/", views.party_register, name="party-register"),
    path("<int:party_id>/", views.party_edit, name="party-edit"),
    path("<int:party_id>/secret/", views.party_secret, name="party-secret"),
    path("<int:party_id>/suspend/", views.party_suspend, name="party-suspend"),
    path("<int:party_id>/resume/", views.party_resume, name="party-resume"),
    path("<int:party_id>/new-secret/", views.party_rotate_secret, name="party-rotate-secret"),
]
