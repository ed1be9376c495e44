"""Payments API: the gateway's signed callback.

The gateway POSTs a JSON body `{"event_id", "bill_number", "amount_sar", "status": "paid" |
"failed", "payment_id"}` with the header `X-Hawiya-Signature: t=<unix>,v1=<hmac hex>`. The body is
verified as received (raw bytes), so it is read from the request, not parsed by a schema first.
No cookie authentication, so no CSRF: the signature is the authentication.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from hawiya.payments.gateways import SIGNATURE_HEADER
from hawiya.payments.services import payment_callback_apply

router = Router(tags=["payments"])


class CallbackAccepted(Schema):
    event_id: str
    bill_number: str
    outcome: str


class ErrorOut(Schema):
    code: str
    message: str


@router.post(
    "/callback",
    response={200: CallbackAccepted, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut},
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
    """Record a payment (or a declined one). 200 when applied or replayed (a replay changes
    nothing), 400 malformed, 401 signature missing or not valid, 404 unknown bill, 409 amount
    not the bill's."""
    callback = payment_callback_apply(
        body=request.body, signature_header=request.headers.get(SIGNATURE_HEADER, "")
    )
    return {
        "event_id": callback.event_id,
        "bill_number": callback.bill_number,
        "outcome": callback.outcome,
    }
