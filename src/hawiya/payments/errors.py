"""Stable error codes of bills and payment callbacks (pages and the API match on these)."""

from __future__ import annotations

from typing import Final

BILL_NOT_FOUND: Final = "bill_not_found"
BILL_NOT_NEEDED: Final = "bill_not_needed"
BILL_NOT_PAYABLE: Final = "bill_not_payable"
BILL_NOT_REFUNDABLE: Final = "bill_not_refundable"
# Callbacks: 401, 400, 404, 409, 409, 429 in the API.
CALLBACK_SIGNATURE_INVALID: Final = "callback_signature_invalid"
CALLBACK_MALFORMED: Final = "callback_malformed"
CALLBACK_UNKNOWN_BILL: Final = "callback_unknown_bill"
CALLBACK_AMOUNT_MISMATCH: Final = "callback_amount_mismatch"
# The event id was already used with another body.
CALLBACK_EVENT_CONFLICT: Final = "callback_event_conflict"
# Too many badly signed callbacks from this address.
CALLBACK_THROTTLED: Final = "callback_throttled"
# The gateway did not do what we asked (checkout, refund).
GATEWAY_UNAVAILABLE: Final = "payment_gateway_unavailable"
GATEWAY_REFUSED: Final = "payment_gateway_refused"
