"""The notification centre (portal:inbox-*)."""

from django.urls import URLPattern, path

from . import inbox_views

urlpatterns: list[URLPattern] = [
    path("", inbox_views.inbox_list, name="inbox-list"),
    path("mark-read/", inbox_views.mark_read, name="inbox-mark-read"),
]
