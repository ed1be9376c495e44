from django.urls import include, path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("services/<slug:slug>/", views.service_start, name="service-start"),
    path("privacy/", views.content_page, {"page": "privacy"}, name="privacy"),
    path("cookies/", views.content_page, {"page": "cookies"}, name="cookies"),
    path("accessibility/", views.content_page, {"page": "accessibility"}, name="accessibility"),
    path("terms/", views.content_page, {"page": "terms"}, name="terms"),
    path("contact/", views.content_page, {"page": "contact"}, name="contact"),
    path("account/", include("hawiya.portal.account_urls")),
]
