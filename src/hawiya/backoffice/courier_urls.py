"""The demo courier's pages (under /<lang>/staff/dev/courier/): demo mode only, any staff member."""

from django.urls import URLPattern, URLResolver, path

from . import courier_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", courier_views.courier_list, name="courier"),
    path(
        "<str:reference>/picked-up/",
        courier_views.courier_step,
        {"kind": "picked_up"},
        name="courier-picked-up",
    ),
    path(
        "<str:reference>/out-for-delivery/",
        courier_views.courier_step,
        {"kind": "out_for_delivery"},
        name="courier-out-for-delivery",
    ),
    path("<str:reference>/delivered/", courier_views.courier_delivered, name="courier-delivered"),
    path("<str:reference>/failed/", courier_views.courier_failed, name="courier-failed"),
]
