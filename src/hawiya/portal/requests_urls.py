"""Track my requests and request a replacement (under /<lang>/requests/)."""

from django.urls import URLPattern, URLResolver, path

from . import requests_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.requests_list, name="requests-list"),
    path("new/", views.requests_new, name="requests-new"),
    path("new/checks/", views.requests_new_checks, name="requests-new-checks"),
    path("new/contact/", views.requests_new_contact, name="requests-new-contact"),
    path("new/how-to-receive/", views.requests_new_method, name="requests-new-method"),
    path("new/photo/", views.requests_new_photo, name="requests-new-photo"),
    path("new/photo/preview/", views.requests_new_photo_preview, name="requests-new-photo-preview"),
    path("new/check-answers/", views.requests_new_check, name="requests-new-check"),
    path("<str:reference>/", views.requests_detail, name="requests-detail"),
    path("<str:reference>/form-58.pdf", views.requests_form58, name="requests-form58"),
    path("<str:reference>/receipt.pdf", views.requests_receipt, name="requests-receipt"),
    path("<str:reference>/cancel/", views.requests_cancel, name="requests-cancel"),
]
