from django.urls import URLPattern, re_path

from . import payments_views

# Bill numbers are 12 digits (SADAD style); anything else is not a page.
urlpatterns: list[URLPattern] = [
    re_path(r"^(?P<bill_number>[0-9]{12})/$", payments_views.bill, name="payments-bill"),
    re_path(r"^(?P<bill_number>[0-9]{12})/return/$", payments_views.bill_return, name="payments-return"),
    # Demo mode only (404 otherwise): the demo gateway's pay page.
    re_path(r"^demo/(?P<bill_number>[0-9]{12})/$", payments_views.demo_gateway, name="payments-demo"),
]
