"""Payments API: the gateway's signed callback.

The gateway POSTs a JSON body `{"event_id", "bill_number", "amount_sar", "status": "paid" |
"failed", "payment_id"}` with the header `X-Hawiya-Signature: t=<unix>,v1=<hmac hex>`. The body is
verified as received (raw bytes), so it is read from the request, not parsed by a schema first.
No cookie authentication, so no CSRF: the signature is the authentication.

Anyone can POST here, so a callback without a valid signature writes nothing (no record, no
audit event): it is counted per address in the cache and logged with the address, and once an
address has sent too many (HAWIYA_PAYMENT_CALLBACK_FAILURE_LIMIT in 10 minutes) its badly signed
callbacks are answered 429, and no longer logged one by one, until its window ends. The limit
applies to badly signed callbacks only: a validly signed one is always applied, so a flood from
an address the gateway shares (a proxy in front of us) can never hold the real payments back.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from hawiya.core.client import client_ip
from hawiya.core.errors import ApplicationError
from hawiya.identity.throttles import ip_bucket
from hawiya.payments import errors
from hawiya.payments.gateways import SIGNATURE_HEADER
from hawiya.payments.services import CallbackRejected, payment_callback_apply

logger = logging.getLogger(__name__)

router = Router(tags=["payments"])

FAILURE_WINDOW_SECONDS = 600


class CallbackThrottled(ApplicationError):
    status_code = 429


def failure_limit() -> int:
    """Badly signed callbacks an address may send in 10 minutes (the gateway sends none)."""
    return int(getattr(settings, "HAWIYA_PAYMENT_CALLBACK_FAILURE_LIMIT", 20))


def _failures_key(ip: str) -> str:
    digest = hashlib.sha256(ip_bucket(ip).encode()).hexdigest()[:32]
    return f"hawiya:api:payment-callback:failures:{digest}"


def _bad_signature(ip: str, reason: str) -> None:
    """Count and log a badly signed callback; raise CallbackThrottled past the limit."""
    count = _count_failure(ip)
    limit = failure_limit()
    if count <= limit:
        logger.warning(
            "Payment callback refused from %s: signature %s (%d in this window)", ip or "-", reason, count
        )
        return
    if count == limit + 1:
        logger.warning("Payment callbacks from %s throttled: %d badly signed in 10 minutes", ip or "-", count)
    raise CallbackThrottled(
        errors.CALLBACK_THROTTLED, _("Too many callbacks that could not be verified. Try again later.")
    )


def _count_failure(ip: str) -> int:
    key = _failures_key(ip)
    cache.add(key, 0, timeout=FAILURE_WINDOW_SECONDS)
    try:
        return int(cache.incr(key))
    except ValueError:
        # The window ended between add and incr: this failure opens the next one.
        cache.add(key, 1, timeout=FAILURE_WINDOW_SECONDS)
        return 1


class CallbackAccepted(Schema):
    event_id: str
    bill_number: str
    outcome: str


class ErrorOut(Schema):
    code: str
    message: str


@router.post(
    "/callback",
    response={
        200: CallbackAccepted,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        429: ErrorOut,
    },
    summary="Payment gateway callback (signed)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["event_id", "bill_number", "amount_sar", "status"],
                        "properties": {
                            "event_id": {"type": "string", "maxLength": 64},
                            "bill_number": {"type": "string", "maxLength": 32},
                            "amount_sar": {"type": "string", "example": "135.00"},
                            "status": {"type": "string", "enum": ["paid", "failed"]},
                            "payment_id": {"type": "string", "maxLength": 64},
                        },
                    }
                }
            },
        },
        "parameters": [
            {
                "in": "header",
                "name": SIGNATURE_HEADER,
                "required": True,
                "schema": {"type": "string", "example": "t=1767225600,v1=<hex>"},
            }
        ],
    },
)
def payment_callback(request: HttpRequest) -> dict[str, str]:
    """Record a payment (or a declined one). 200 when applied or replayed (the same body again
    changes nothing), 400 malformed, 401 signature missing or not valid, 404 unknown bill, 409
    amount not the bill's or event id already used with another body, 429 too many callbacks
    with a bad signature from this address."""
    try:
        callback = payment_callback_apply(
            body=request.body, signature_header=request.headers.get(SIGNATURE_HEADER, "")
        )
    except CallbackRejected as exc:
        if exc.code == errors.CALLBACK_SIGNATURE_INVALID:
            _bad_signature(client_ip(request), str(exc.extra.get("reason", "invalid")))
        raise
    return {
        "event_id": callback.event_id,
        "bill_number": callback.bill_number,
        "outcome": callback.outcome,
    }
