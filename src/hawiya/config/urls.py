from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from hawiya.api.v1 import api as api_v1
from hawiya.audit import views as audit_views
from hawiya.config.metrics_view import metrics
from hawiya.oidc import views as oidc_views
from hawiya.portal import signin_views as portal_signin_views
from hawiya.portal import views as portal_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", portal_views.root, name="root"),
    path("favicon.ico", portal_views.favicon, name="favicon"),
    path("healthz", portal_views.healthz, name="healthz"),
    path("readyz", portal_views.readyz, name="readyz"),
    # Prometheus scrapes: bearer token, or open in demo/debug/embedded mode only (config/metrics_view.py).
    path("metrics", metrics, name="metrics"),
    # Demo only: the SMS inbox lives under the language prefix (portal:dev-sms).
    path("dev/sms", portal_signin_views.dev_sms_redirect, name="dev-sms-redirect"),
    # The REST API speaks JSON, not a page language: outside the language prefix.
    path("api/v1/", api_v1.urls),
    # The OpenID Connect provider speaks to relying parties: outside the language prefix too.
    path(".well-known/openid-configuration", oidc_views.discovery, name="oidc-discovery"),
    path(".well-known/ssf-configuration", oidc_views.ssf_configuration, name="ssf-configuration"),
    path(".well-known/hawiya-audit-key", audit_views.audit_key, name="audit-key"),
    path("oidc/", include("hawiya.oidc.urls")),
]

# Every page lives under its language (/ar/…, /en/…): the toggle swaps the prefix, so the
# person stays on the same page, and a shared link opens in the language it was shared in.
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("staff/", include("hawiya.backoffice.urls")),
    path("", include("hawiya.portal.urls")),
    prefix_default_language=True,
)

handler400 = "hawiya.portal.views.bad_request"
handler403 = "hawiya.portal.views.permission_denied"
handler404 = "hawiya.portal.views.page_not_found"
handler500 = "hawiya.portal.views.server_error"
