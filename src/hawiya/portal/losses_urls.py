"""Report a lost document (portal:losses-*): the questions, check answers, the report, its receipt."""

from django.urls import URLPattern, path, re_path

from . import losses_views

urlpatterns: list[URLPattern] = [
    path("", losses_views.start, name="losses-start"),
    path("when/", losses_views.when, name="losses-when"),
    path("where/", losses_views.where, name="losses-where"),
    path("circumstances/", losses_views.what, name="losses-what"),
    path("declaration/", losses_views.declaration, name="losses-declaration"),
    path("check/", losses_views.check, name="losses-check"),
    # Any short word of letters and digits reaches the view, which answers 404 alike for a
    # malformed, unknown or someone else's reference.
    re_path(r"^(?P<reference>[A-Za-z0-9]{1,20})/$", losses_views.report, name="losses-report"),
    re_path(r"^(?P<reference>[A-Za-z0-9]{1,20})/receipt\.pdf$", losses_views.receipt, name="losses-receipt"),
]
