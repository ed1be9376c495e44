"""The payment gateway: one interface, a demo gateway and the real gateway's HTTP client, and the
signature on the callbacks the gateway sends us.

`payment_gateway()` returns whichever the settings choose (docs/design.md §4b: the demo sits behind
the same interface as the real client). A gateway opens a checkout for a bill (the page the
person pays on) and refunds part of a paid bill. The gateway tells us a bill was paid through a
callback signed with a shared secret: HMAC-SHA256 over `<timestamp>.<body>`, sent as
`X-Hawiya-Signature: t=<unix seconds>,v1=<hex>` and refused more than five minutes from now.

Errors are short stable codes; nothing here puts the gateway's response body, the API key or the
secret into an exception or a log line.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ApplicationError
from hawiya.core.outbound import CREDENTIAL_STATUSES, OutboundFailure, Partner, classify, post_json
from hawiya.core.signing import (
    SIGNATURE_HEADER,
    SIGNATURE_TOLERANCE,
    SignatureInvalid,
    sign,
    signature_header,
    verify,
)

from . import errors
from .models import Bill

logger = logging.getLogger(__name__)

GATEWAYS = ("demo", "http")

# Callback signatures: the shared implementation in core.signing (the courier API signs the same
# way); the gateway signs the raw body. Re-exported here for the payments code and its tests.
__all__ = [
    "GATEWAYS",
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE",
    "DemoGateway",
    "GatewayError",
    "HttpPaymentGateway",
    "PaymentGateway",
    "SignatureInvalid",
    "payment_gateway",
    "payment_gateway_name",
    "sign",
    "signature_header",
    "verify",
    "webhook_secret",
]


def payment_gateway_name() -> str:
    """HAWIYA_PAYMENT_GATEWAY: "demo" or "http" (demo by default only in demo mode)."""
    default = "demo" if getattr(settings, "DEMO", False) else "http"
    return str(getattr(settings, "HAWIYA_PAYMENT_GATEWAY", "") or default)


def webhook_secret() -> str:
    """The secret the gateway signs callbacks with. The demo gateway, which signs its own
    callbacks, falls back to a key derived from SECRET_KEY; the real one has no fallback."""
    configured = str(getattr(settings, "HAWIYA_PAYMENT_WEBHOOK_SECRET", "") or "")
    if configured or payment_gateway_name() != "demo":
        return configured
    return salted_hmac("hawiya.payments.demo-webhook", "callback", algorithm="sha256").hexdigest()


# --- Gateways ------------------------------------------------------------------------------------------


class GatewayError(ApplicationError):
    """The gateway did not do what we asked; `extra["reason"]` is a short stable code."""

    status_code = 502


def _unavailable(reason: str) -> GatewayError:
    return GatewayError(
        errors.GATEWAY_UNAVAILABLE,
        _("The payment service is not answering at the moment. Try again in a few minutes."),
        reason=reason,
    )


def _refused(reason: str) -> GatewayError:
    return GatewayError(
        errors.GATEWAY_REFUSED,
        _("The payment service could not handle this request. Try again later or contact us."),
        reason=reason,
    )


class PaymentGateway(Protocol):
    """What the services and pages need from a payment gateway."""

    def checkout_url(self, bill: Bill, return_url: str, *, attempt: int = 1) -> str:
        """Where to send the person to pay `bill`; the gateway sends them back to `return_url`.
        `attempt` counts the checkouts that ended without a payment (a declined card): each
        attempt is a new checkout at the gateway, a repeat of one attempt is the same checkout."""
        ...

    def refund(self, bill: Bill, amount_sar: Decimal) -> str:
        """Pay `amount_sar` of the paid `bill` back; returns the gateway's refund id."""
        ...


class DemoGateway:
    """Demo mode: the checkout is the demo pay page the setting PAYMENT_DEMO_CHECKOUT_URL names
    (the portal's: the interface provides the page, this app only its URL name); refunds happen
    at once."""

    def checkout_url(self, bill: Bill, return_url: str, *, attempt: int = 1) -> str:
        return reverse(settings.PAYMENT_DEMO_CHECKOUT_URL, args=[bill.bill_number])

    def refund(self, bill: Bill, amount_sar: Decimal) -> str:
        return f"demo-refund-{bill.bill_number}"


class HttpPaymentGateway:
    """The gateway's JSON API, with a bearer API key.

    POST {base}/checkouts {"bill_number", "amount_sar", "currency", "return_url"} → {"url"}.
    POST {base}/refunds {"bill_number", "payment_id", "amount_sar", "currency"} → {"id"}.
    Both carry an Idempotency-Key, so a retry after a timeout cannot open a second checkout or
    pay a refund twice. The checkout key names the attempt (`checkout-<bill>-<attempt>`): after a
    declined card the next "Pay" opens a new checkout instead of getting the spent one back.
    The checkout URL we send the person to must be https on the gateway's host (`checkout_host`,
    by default the API's host): anything else is a bad response, never a redirect.
    """

    def __init__(
        self, *, base_url: str, api_key: str, timeout: float = 10.0, checkout_host: str = ""
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.checkout_host = (checkout_host or urlsplit(self.base_url).hostname or "").lower()

    def __repr__(self) -> str:
        return f"HttpPaymentGateway(base_url={self.base_url!r}, timeout={self.timeout})"  # never the key

    def _post(self, path: str, payload: dict[str, str], *, idempotency_key: str) -> dict[str, Any]:
        try:
            raw = post_json(
                Partner.PAYMENT_GATEWAY,
                self.base_url + path,
                json.dumps(payload).encode(),
                token=self.api_key,
                idempotency_key=idempotency_key,
                timeout=self.timeout,
            )
        except OutboundFailure as exc:
            if exc.status is not None:
                raise _classify(exc.status) from None
            raise _unavailable(f"gateway_{exc.reason}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise _unavailable("gateway_bad_response") from None
        if not isinstance(data, dict):
            raise _unavailable("gateway_bad_response")
        return data

    def checkout_url(self, bill: Bill, return_url: str, *, attempt: int = 1) -> str:
        data = self._post(
            "/checkouts",
            {
                "bill_number": bill.bill_number,
                "amount_sar": f"{bill.amount_sar:.2f}",
                "currency": "SAR",
                "return_url": return_url,
            },
            idempotency_key=f"checkout-{bill.bill_number}-{attempt}",
        )
        url = data.get("url")
        if not isinstance(url, str) or len(url) > 2000 or not url.isascii() or not url.isprintable():
            raise _unavailable("gateway_bad_response")
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
        except ValueError:
            raise _unavailable("gateway_bad_response") from None
        if (
            parts.scheme != "https"
            or not host
            or host != self.checkout_host
            or parts.username
            or parts.password
        ):
            logger.error("Payment gateway returned a checkout URL off its host or not https")
            raise _unavailable("gateway_bad_checkout_url")
        return url

    def refund(self, bill: Bill, amount_sar: Decimal) -> str:
        data = self._post(
            "/refunds",
            {
                "bill_number": bill.bill_number,
                "payment_id": bill.gateway_payment_id,
                "amount_sar": f"{amount_sar:.2f}",
                "currency": "SAR",
            },
            idempotency_key=f"refund-{bill.bill_number}",
        )
        refund_id = data.get("id")
        if isinstance(refund_id, int) and not isinstance(refund_id, bool):
            refund_id = str(refund_id)
        if not isinstance(refund_id, str) or not refund_id or len(refund_id) > 64:
            raise _unavailable("gateway_bad_response")
        return refund_id


def _classify(status: int) -> GatewayError:
    """Only an answer about the request itself (400, 404, 422…) is a definite refusal. Our key
    refused is a misconfiguration that someone will fix, and 409 means the same idempotency key
    is still being handled: both may succeed later, so they are retried like an outage."""
    if status in CREDENTIAL_STATUSES:
        logger.error("Payment gateway refused our credentials (HTTP %s)", status)
    verdict = classify(Partner.PAYMENT_GATEWAY, status)  # core.outbound.STATUS_RULES
    code = verdict.code("gateway", status)
    return _refused(code) if verdict.permanent else _unavailable(code)


def payment_gateway() -> PaymentGateway:
    """The gateway the settings choose, built per call (overridden settings apply at once)."""
    name = payment_gateway_name()
    if name == "demo":
        return DemoGateway()
    if name == "http":
        return HttpPaymentGateway(
            base_url=str(getattr(settings, "HAWIYA_PAYMENT_GATEWAY_URL", "")),
            api_key=str(getattr(settings, "HAWIYA_PAYMENT_API_KEY", "")),
            timeout=float(getattr(settings, "HAWIYA_PAYMENT_GATEWAY_TIMEOUT", 10.0)),
            checkout_host=str(getattr(settings, "HAWIYA_PAYMENT_CHECKOUT_HOST", "") or ""),
        )
    raise ValueError(f"HAWIYA_PAYMENT_GATEWAY must be 'demo' or 'http', not {name!r}")
