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

import logging

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from hawiya.api.schemas import SIGNATURE_HEADER_PARAMETER, SIGNED_ENDPOINT_ERRORS, ErrorOut
from hawiya.api.signature_failures import SignatureFailures
from hawiya.core.client import client_ip
from hawiya.payments import errors
from hawiya.payments.gateways import SIGNATURE_HEADER
from hawiya.payments.services import CallbackRejected, payment_callback_apply

logger = logging.getLogger(__name__)

router = Router(tags=["payments"])

# Badly signed callbacks an address may send in 10 minutes (the gateway sends none).
BAD_SIGNATURES = SignatureFailures(
    name="payment-callback",
    limit_setting="HAWIYA_PAYMENT_CALLBACK_FAILURE_LIMIT",
    label="Payment callback (signature)",
    code=errors.CALLBACK_THROTTLED,
    message=_("Too many callbacks that could not be verified. Try again later."),
    logger=logger,
)


# The gateway's event and payment ids (payments.services checks the same shape).
ID_PATTERN = "^[A-Za-z0-9_.:-]{1,64}$"


class CallbackAccepted(Schema):
    event_id: str
    bill_number: str
    outcome: str


@router.post(
    "/callback",
    response={200: CallbackAccepted, 404: ErrorOut, 409: ErrorOut, **SIGNED_ENDPOINT_ERRORS},
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
                            "event_id": {"type": "string", "maxLength": 64, "pattern": ID_PATTERN},
                            "bill_number": {
                                "type": "string",
                                "maxLength": 12,
                                "pattern": "^[0-9]{12}$",
                                "example": "202611230001",
                            },
                            "amount_sar": {
                                "type": "string",
                                "pattern": "^[0-9]{1,7}[.][0-9]{2}$",
                                "example": "135.00",
                            },
                            "status": {"type": "string", "enum": ["paid", "failed"]},
                            "payment_id": {"type": "string", "maxLength": 64, "pattern": ID_PATTERN},
                        },
                    }
                }
            },
        },
        "parameters": [SIGNATURE_HEADER_PARAMETER],
    },
)
def payment_callback(request: HttpRequest) -> dict[str, str]:
    """Record a payment (or a declined one). 200 when applied or replayed (the same body again
    changes nothing), 400 malformed (not JSON, a field out of shape, a NUL character), 413 a body
    over the size limit, 401 signature missing or not valid, 404 unknown bill, 409
    amount not the bill's or event id already used with another body, 429 too many callbacks
    with a bad signature from this address."""
    try:
        callback = payment_callback_apply(
            body=request.body, signature_header=request.headers.get(SIGNATURE_HEADER, "")
        )
    except CallbackRejected as exc:
        if exc.code == errors.CALLBACK_SIGNATURE_INVALID:
            BAD_SIGNATURES.record(client_ip(request), str(exc.extra.get("reason", "invalid")))
        raise
    return {
        "event_id": callback.event_id,
        "bill_number": callback.bill_number,
        "outcome": callback.outcome,
    }
