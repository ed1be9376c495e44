"""Counter identity services (under /<lang>/staff/counter/): find a person by ID number, re-bind
their mobile number, start activating their digital identity."""

from django.urls import URLPattern, URLResolver, path

from . import counter_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.counter, name="counter"),
    path("mobile/", views.rebind_mobile, name="counter-rebind"),
    path("activation/", views.start_activation, name="counter-activate"),
    path("done/", views.done, name="counter-done"),
]
