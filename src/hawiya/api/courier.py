"""Courier API: what to pick up, and the courier's status updates (picked up, out for delivery,
delivered with the holder's handover code, failed attempt).

Authentication is a signed API key. Every call carries
`X-Hawiya-Key-Id: <key id>` and
`X-Hawiya-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<METHOD>.<path>.<body>")>`,
where `<path>` is the request path with its query string as sent (e.g.
`/api/v1/courier/shipments?state=awaiting_pickup`) and `<body>` the raw body (empty for GET). A
signature older or newer than five minutes is refused; while the secret is rotated, the previous
secret is accepted as well. No cookie, so no CSRF: the signature is the authentication.

Badly signed calls write nothing; they are counted per address and logged with it, and an
address past HAWIYA_COURIER_FAILURE_LIMIT in 10 minutes is answered 429 until its window ends
(validly signed calls are never held back). Every error is JSON `{"code", "message"}`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any, Literal

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.params.functions import Path
from ninja.security import APIKeyHeader
from pydantic import AfterValidator

from hawiya.api.schemas import ErrorOut
from hawiya.api.signature_failures import SignatureFailures
from hawiya.audit.actors import Actor
from hawiya.core.bidi import strip_bidi_controls
from hawiya.core.client import client_ip
from hawiya.core.errors import ApplicationError
from hawiya.core.signing import SIGNATURE_HEADER
from hawiya.delivery import errors
from hawiya.delivery.couriers import KEY_ID_HEADER, CourierUnauthorized, courier_call_verify
from hawiya.delivery.selectors import OPEN_STATES, CourierShipment, shipments_for_courier
from hawiya.delivery.services import shipment_event_apply

logger = logging.getLogger(__name__)

# Free text that an officer will read: bidi override and isolate controls removed (core/bidi.py).
FreeText = Annotated[str, AfterValidator(strip_bidi_controls)]

REPLAY_HEADER = "Idempotent-Replayed"


class RequestTooLarge(ApplicationError):
    status_code = 413


# Badly signed calls an address may send in 10 minutes (the courier sends none).
BAD_SIGNATURES = SignatureFailures(
    name="courier",
    limit_setting="HAWIYA_COURIER_FAILURE_LIMIT",
    label="Courier API call",
    code=errors.COURIER_THROTTLED,
    message=_("Too many requests that could not be verified. Try again later."),
    logger=logger,
)


class CourierSignature(APIKeyHeader):
    """The signed API key (see the module docstring); `request.auth` is then the key id."""

    param_name = SIGNATURE_HEADER
    openapi_description = (
        "Signed API key. Send `X-Hawiya-Key-Id: <key id>` and `X-Hawiya-Signature: "
        't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<METHOD>.<path>.<body>")>`; '
        "`<path>` includes the query string; valid for five minutes."
    )

    def authenticate(self, request: HttpRequest, key: str | None) -> str:
        try:
            body = request.body
        except RequestDataTooBig:
            # Past DATA_UPLOAD_MAX_MEMORY_SIZE: no update is anywhere near it.
            raise RequestTooLarge(
                "request_too_large", _("The request is too large. An update is a few hundred bytes.")
            ) from None
        try:
            return courier_call_verify(
                key_id=request.headers.get(KEY_ID_HEADER, ""),
                signature=key or "",
                method=request.method or "",
                path=request.get_full_path(),
                body=body,
            )
        except CourierUnauthorized as exc:
            BAD_SIGNATURES.record(client_ip(request), str(exc.extra.get("reason", "invalid")))
            raise


router = Router(tags=["courier"], auth=CourierSignature())


# --- Schemas --------------------------------------------------------------------------------------


class RecipientOut(Schema):
    name_ar: str = Field(
        description="Full name in Arabic, as on the card.", examples=["محمد عبدالله سعد العتيبي"]
    )
    name_en: str = Field(
        description="Full name in Latin letters, as on the card.",
        examples=["Mohammed Abdullah Saad Alotaibi"],
    )
    mobile: str = Field(
        description="The applicant's mobile (E.164), to call on arrival.", examples=["+966501234567"]
    )


class AddressOut(Schema):
    building_number: str = Field(examples=["2929"])
    street_ar: str = Field(examples=["طريق الملك فهد"])
    street_en: str = Field(examples=["King Fahd Road"])
    district_ar: str = Field(examples=["الملز"])
    district_en: str = Field(examples=["Al Malaz"])
    city_ar: str = Field(examples=["الرياض"])
    city_en: str = Field(examples=["Riyadh"])
    region: str = Field(examples=["riyadh"])
    postal_code: str = Field(examples=["12345"])
    additional_number: str = Field(examples=["8538"])
    unit_number: str = Field(examples=[""])
    short_address: str = Field(examples=["RRRD2929"])


class OfficeOut(Schema):
    code: str = Field(examples=["riyadh-malaz"])
    name_ar: str
    name_en: str
    address_ar: str
    address_en: str
    city_ar: str
    city_en: str


class ShipmentOut(Schema):
    reference: str = Field(
        description="Our shipment reference: use it in the event URL.", examples=["SH48217730"]
    )
    state: Literal["awaiting_pickup", "picked_up", "out_for_delivery", "failed_attempt"] = Field(
        examples=["awaiting_pickup"]
    )
    failed_attempts: int = Field(
        description="Failed attempts so far (the second returns the card).", examples=[0]
    )
    courier_reference: str = Field(description="Your tracking number, once announced.", examples=["TRK-1001"])
    created_at: dt.datetime
    recipient: RecipientOut
    address: AddressOut = Field(description="The national address when the shipment was made.")
    office: OfficeOut | None = Field(description="The issuing office: where the card returns.")


class ShipmentListOut(Schema):
    count: int
    shipments: list[ShipmentOut]


# Identifiers: what ours look like (a shipment reference is "SH" and 8 digits) and what an event id
# may be; anything else is answered 422 before any lookup.
REFERENCE_PATTERN = r"^[A-Z]{2}[0-9]{8}$"
EVENT_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
KEY_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


class EventIn(Schema):
    event_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=EVENT_ID_PATTERN,
        description="Your id of this update: resending it with the same content is safe.",
        examples=["evt-20261123-0001"],
    )
    type: Literal["picked_up", "out_for_delivery", "delivered", "failed_attempt"] = Field(
        examples=["delivered"]
    )
    at: dt.datetime = Field(
        description="When it happened, with its time zone.", examples=["2026-11-23T10:15:00+03:00"]
    )
    handover_code: str = Field(
        default="",
        max_length=32,
        description="delivered only: the 6-digit code the holder reads to you.",
        examples=["482913"],
    )
    reason: Literal[
        "", "nobody_home", "address_not_found", "holder_unreachable", "no_handover_code", "refused", "other"
    ] = Field(default="", description="failed_attempt only: why, from the list.", examples=["nobody_home"])
    reason_text: FreeText = Field(
        default="",
        max_length=200,
        description="failed_attempt only: optional words.",
        examples=["Gate locked"],
    )


class EventOut(Schema):
    reference: str = Field(examples=["SH48217730"])
    event_id: str = Field(examples=["evt-20261123-0001"])
    state: str = Field(description="The shipment's state after this update.", examples=["delivered"])


def _shipment_out(shipment: CourierShipment) -> dict[str, Any]:
    office = shipment.office
    return {
        "reference": shipment.reference,
        "state": shipment.state,
        "failed_attempts": shipment.failed_attempts,
        "courier_reference": shipment.courier_reference,
        "created_at": shipment.created_at,
        "recipient": {
            "name_ar": shipment.recipient_name_ar,
            "name_en": shipment.recipient_name_en,
            "mobile": shipment.recipient_mobile,
        },
        "address": shipment.address,
        "office": None
        if office is None
        else {
            "code": office.code,
            "name_ar": office.name_ar,
            "name_en": office.name_en,
            "address_ar": office.address_ar,
            "address_en": office.address_en,
            "city_ar": office.city_ar,
            "city_en": office.city_en,
        },
    }


_EVENT_EXAMPLES = {
    "picked_up": {
        "summary": "Picked up at the office",
        "value": {"event_id": "evt-0001", "type": "picked_up", "at": "2026-11-23T09:00:00+03:00"},
    },
    "out_for_delivery": {
        "summary": "Out for delivery (the holder is sent a handover code)",
        "value": {"event_id": "evt-0002", "type": "out_for_delivery", "at": "2026-11-23T10:00:00+03:00"},
    },
    "delivered": {
        "summary": "Delivered, with the code the holder read",
        "value": {
            "event_id": "evt-0003",
            "type": "delivered",
            "at": "2026-11-23T10:15:00+03:00",
            "handover_code": "482913",
        },
    },
    "failed_attempt": {
        "summary": "Failed attempt, with a reason from the list",
        "value": {
            "event_id": "evt-0004",
            "type": "failed_attempt",
            "at": "2026-11-23T10:15:00+03:00",
            "reason": "nobody_home",
            "reason_text": "Rang twice, no answer",
        },
    },
}

_KEY_ID_PARAMETER = {
    "in": "header",
    "name": KEY_ID_HEADER,
    "required": True,
    "description": "The courier's key id.",
    "schema": {"type": "string", "maxLength": 64, "pattern": KEY_ID_PATTERN, "example": "acme-courier-1"},
}


# --- Endpoints ------------------------------------------------------------------------------------


@router.get(
    "/shipments",
    response={
        200: ShipmentListOut,
        400: ErrorOut,
        401: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="Shipments to act on",
    openapi_extra={"parameters": [_KEY_ID_PARAMETER]},
)
def shipments_list(
    request: HttpRequest,
    state: Query[Literal["awaiting_pickup", "picked_up", "out_for_delivery", "failed_attempt"] | None] = None,
    limit: Query[int] = 100,
) -> dict[str, Any]:
    """Open shipments, oldest first: by default every open one, or those in `state`
    (`awaiting_pickup` is what to pick up). At most `limit` (1–200). Each names the recipient
    (name as on the card, the applicant's mobile), the address when the shipment was made, and
    the office the card returns to. No ID number, no date of birth."""
    states = (state,) if state else OPEN_STATES
    shipments = shipments_for_courier(states=states, limit=max(1, min(limit, 200)))
    return {"count": len(shipments), "shipments": [_shipment_out(shipment) for shipment in shipments]}


@router.post(
    "/shipments/{reference}/events",
    response={
        200: EventOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="Report a status update of a shipment",
    openapi_extra={
        "parameters": [_KEY_ID_PARAMETER],
        "requestBody": {"content": {"application/json": {"examples": _EVENT_EXAMPLES}}},
    },
)
def shipment_event(
    request: HttpRequest,
    response: HttpResponse,
    event: EventIn,
    reference: str = Path(..., max_length=10, pattern=REFERENCE_PATTERN, example="SH48217730"),
) -> dict[str, str]:
    """Record one update: `picked_up`, `out_for_delivery` (we then text the holder a handover
    code), `delivered` (only with that code in `handover_code`), or `failed_attempt` (with a
    `reason`; the second failure returns the card to the office).

    200: applied, or the same `event_id` with the same content again (the first answer, with the
    header `Idempotent-Replayed: true`). 404: unknown shipment. 409: the `event_id` was used for
    a different update, or the update cannot follow the shipment's state (out of order). 422: a
    wrong, expired, used or locked handover code (the try is counted; after 5 wrong tries a new
    code is sent on the next `out_for_delivery`), a missing reason or code, or a reference or
    event id not of their shape. 400: a body that is not JSON, or a NUL character anywhere.
    413: a body over the size limit. 401: signature."""
    result = shipment_event_apply(
        reference=reference,
        event_id=event.event_id,
        kind=event.type,
        at=event.at,
        handover_code=event.handover_code,
        reason=event.reason,
        reason_text=event.reason_text,
        actor=Actor.courier(str(getattr(request, "auth", "")), ip=client_ip(request)),
    )
    if result.replayed:
        response[REPLAY_HEADER] = "true"
    return {
        "reference": result.shipment.reference,
        "event_id": result.event.event_id,
        "state": result.event.state_after,
    }
