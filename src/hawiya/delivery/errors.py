"""Stable error codes of the delivery app (the courier API and the pages answer with these)."""

from __future__ import annotations

from hawiya.core.errors import ApplicationError

SHIPMENT_NOT_FOUND = "shipment_not_found"
SHIPMENT_NOT_DELIVERABLE = "shipment_not_deliverable"
SHIPMENT_EVENT_CONFLICT = "shipment_event_conflict"
SHIPMENT_EVENT_OUT_OF_ORDER = "shipment_event_out_of_order"
SHIPMENT_EVENT_INVALID = "shipment_event_invalid"
SHIPMENT_REASON_REQUIRED = "shipment_reason_required"
SHIPMENT_HANDOVER_CODE_REQUIRED = "shipment_handover_code_required"
COURIER_UNAVAILABLE = "courier_unavailable"
COURIER_REFUSED = "courier_refused"
COURIER_SIGNATURE_INVALID = "courier_signature_invalid"
COURIER_THROTTLED = "courier_throttled"


class ShipmentConflict(ApplicationError):
    """The update does not fit where the shipment is (out of order, or an event id reused)."""

    status_code = 409


class ShipmentEventInvalid(ApplicationError):
    """The update is well formed JSON but says something impossible (a missing reason…)."""

    status_code = 422
