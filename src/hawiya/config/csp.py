"""The Content-Security-Policy of every page (django-csp; the directives are in settings.py).

Two things the settings alone cannot say:

- The policy is sent with HTML pages only. A PDF (Form 58, receipts, tickets) is shown by the
  browser's own viewer, which builds a page of its own with inline styles and an `<embed>`:
  `object-src 'none'` and `style-src 'self'` on the PDF response would leave it blank. JSON,
  CSV, calendar files and images run no script. The other security headers stay on everything.
- "Pay" posts to our own page, which redirects the person to the payment gateway's checkout on
  the gateway's host. Browsers apply `form-action` to the redirects that follow a form post, so
  with a real gateway its checkout origin (https on the checkout host, any port, as the gateway
  client accepts) is added to `form-action`; the demo gateway's page is our own.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase

from hawiya.payments.gateways import HttpPaymentGateway, payment_gateway, payment_gateway_name


def checkout_origin() -> str:
    """The origin of the payment gateway's checkout pages ("" with the demo gateway)."""
    if payment_gateway_name() != "http":
        return ""
    gateway = payment_gateway()
    host = gateway.checkout_host if isinstance(gateway, HttpPaymentGateway) else ""
    return f"https://{host}:*" if host else ""


def is_html(response: HttpResponseBase) -> bool:
    return str(response.get("Content-Type", "")).split(";")[0].strip().lower() == "text/html"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not is_html(response):
            response._csp_exempt = True  # type: ignore[attr-defined]
        return super().process_response(request, response)

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origin = checkout_origin()
        if origin and not report_only:
            parts.update = {**(parts.update or {}), "form-action": [origin]}
        return parts
