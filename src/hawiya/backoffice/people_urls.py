"""Find a person (under /<lang>/staff/people/): search by name or ID number, open a result at
the counter."""

from django.urls import URLPattern, URLResolver, path

from . import people_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.people_search, name="people-search"),
    path("open/", views.people_open, name="people-open"),
]
