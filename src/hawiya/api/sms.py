"""SMS API: the operator's signed delivery reports.

The operator POSTs one report per message, `{"message_id", "status": "delivered" | "failed",
"occurred_at", "error_code"?}`, naming the message by the id it gave when it accepted it, with the
header `X-Hawiya-Signature: t=<unix>,v1=<hmac hex>` (HMAC-SHA256 of `<t>.<body>` under
SMS_OPERATOR_WEBHOOK_SECRET, as the payment callback). The body is verified as received, so it is
read raw, not parsed by a schema first. No cookie authentication, so no CSRF.

A report without a valid signature writes nothing; it is counted per address and logged with the
address, and past SMS_DELIVERY_REPORT_FAILURE_LIMIT in 10 minutes that address's badly signed
reports are answered 429. Validly signed reports are never held back.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from hawiya.api.schemas import SIGNATURE_HEADER_PARAMETER, SIGNED_ENDPOINT_ERRORS, ErrorOut
from hawiya.api.signature_failures import SignatureFailures
from hawiya.core.client import client_ip
from hawiya.core.signing import SIGNATURE_HEADER
from hawiya.notifications import errors
from hawiya.notifications.services import DeliveryReportRejected, sms_delivery_report_apply

logger = logging.getLogger(__name__)

router = Router(tags=["sms"])

BAD_SIGNATURES = SignatureFailures(
    name="sms-delivery-report",
    limit_setting="SMS_DELIVERY_REPORT_FAILURE_LIMIT",
    label="SMS delivery report (signature)",
    code=errors.SMS_REPORT_THROTTLED,
    message=_("Too many delivery reports that could not be verified. Try again later."),
    logger=logger,
)


class ReportApplied(Schema):
    message_id: str
    # What the message is now: a `failed` report about a delivered message leaves it delivered.
    status: str


@router.post(
    "/delivery-reports",
    response={200: ReportApplied, 404: ErrorOut, **SIGNED_ENDPOINT_ERRORS},
    summary="SMS operator delivery report (signed)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["message_id", "status", "occurred_at"],
                        "properties": {
                            "message_id": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 100,
                                "pattern": "^[\\x21-\\x7e]+$",
                                "description": "The id the operator answered when it accepted the message.",
                            },
                            "status": {"type": "string", "enum": ["delivered", "failed"]},
                            "occurred_at": {
                                "type": "string",
                                "format": "date-time",
                                "example": "2026-12-06T10:42:05+03:00",
                            },
                            "error_code": {
                                "type": "string",
                                "maxLength": 40,
                                "pattern": "^[A-Za-z0-9_.:-]*$",
                            },
                        },
                    }
                }
            },
        },
        "parameters": [SIGNATURE_HEADER_PARAMETER],
    },
)
def delivery_report(request: HttpRequest) -> dict[str, str]:
    """Record that a text message was delivered to the phone, or could not be. 200 when applied
    or replayed (the same report again, or a report a final one has overtaken, changes nothing;
    the answer says the message's status), 400 malformed, 401 signature missing, stale or not
    valid, 404 no message has this operator id, 429 too many badly signed reports from this
    address."""
    try:
        message = sms_delivery_report_apply(
            body=request.body, signature_header=request.headers.get(SIGNATURE_HEADER, "")
        )
    except DeliveryReportRejected as exc:
        if exc.code == errors.SMS_REPORT_SIGNATURE_INVALID:
            BAD_SIGNATURES.record(client_ip(request), str(exc.extra.get("reason", "invalid")))
        raise
    return {"message_id": message.operator_message_id, "status": str(message.status)}
