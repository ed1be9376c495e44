from django.urls import include, path

from . import passkey_views, signin_views, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("services/<slug:slug>/", views.service_start, name="service-start"),
    path("privacy/", views.content_page, {"page": "privacy"}, name="privacy"),
    path("cookies/", views.content_page, {"page": "cookies"}, name="cookies"),
    path("accessibility/", views.content_page, {"page": "accessibility"}, name="accessibility"),
    path("terms/", views.content_page, {"page": "terms"}, name="terms"),
    path("contact/", views.content_page, {"page": "contact"}, name="contact"),
    # The footer's accessibility tools (text size, contrast): a GET form that sets a cookie.
    path("display/", views.display_settings, name="display"),
    # Sign-in and the journeys around it (signin_views.py).
    path("sign-in/", signin_views.sign_in, name="sign-in"),
    path("sign-in/code/", signin_views.sign_in_code, name="sign-in-code"),
    path("sign-in/code/resend/", signin_views.sign_in_resend, name="sign-in-resend"),
    path("sign-in/locked/", signin_views.sign_in_locked, name="sign-in-locked"),
    path("sign-in/passkey/", passkey_views.sign_in, name="sign-in-passkey"),
    path("sign-in/passkey/options/", passkey_views.sign_in_options, name="sign-in-passkey-options"),
    path("sign-out/", signin_views.sign_out, name="sign-out"),
    path("keep-alive/", signin_views.keep_alive, name="keep-alive"),
    path("activate/", signin_views.activate, name="activate"),
    path("activate/code/", signin_views.activate_code, name="activate-code"),
    path("activate/continue/<str:challenge>/", signin_views.activate_continue, name="activate-continue"),
    path("activate/code/resend/", signin_views.activate_resend, name="activate-resend"),
    path("activate/create/", signin_views.activate_create, name="activate-create"),
    path("activate/done/", signin_views.activate_done, name="activate-done"),
    path("password-reset/", signin_views.password_reset, name="password-reset"),
    path("password-reset/code/", signin_views.password_reset_code, name="password-reset-code"),
    path("password-reset/code/resend/", signin_views.password_reset_resend, name="password-reset-resend"),
    path("password-reset/new/", signin_views.password_reset_new, name="password-reset-new"),
    path("password-reset/done/", signin_views.password_reset_done, name="password-reset-done"),
    path("reauthenticate/", signin_views.reauthenticate, name="reauthenticate"),
    path("reauthenticate/passkey/", passkey_views.reauthenticate, name="reauthenticate-passkey"),
    path(
        "reauthenticate/passkey/options/",
        passkey_views.reauthenticate_options,
        name="reauthenticate-passkey-options",
    ),
    path("reauthenticate/code/", signin_views.reauthenticate_code, name="reauthenticate-code"),
    path("reauthenticate/code/resend/", signin_views.reauthenticate_resend, name="reauthenticate-resend"),
    # Demo only (404 unless settings.DEMO at request time); /dev/sms redirects here.
    path("dev/sms/", signin_views.dev_sms, name="dev-sms"),
    path("dev/sms/<uuid:reference>/delivered/", signin_views.dev_sms_delivered, name="dev-sms-delivered"),
    path("account/", include("hawiya.portal.account_urls")),
    # The lost-documents journeys, one module each (names prefixed by the module's subject).
    path("lost-documents/", include("hawiya.portal.losses_urls")),
    path("notifications/", include("hawiya.portal.inbox_urls")),
    path("requests/", include("hawiya.portal.requests_urls")),
    path("payments/", include("hawiya.portal.payments_urls")),
    path("appointments/", include("hawiya.portal.appointments_urls")),
]
