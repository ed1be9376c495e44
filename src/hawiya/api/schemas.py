"""What every endpoint of the API shares: the error shape, and the statuses any operation can answer
before its own code runs (core/guard.py: a NUL byte or a malformed request is 400, a body over the
upload limit 413; a bad signature 401, too many of them 429)."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema

from hawiya.core.signing import SIGNATURE_HEADER


class ErrorOut(Schema):
    """Every error of the API: a stable code for programs and a message for people (in the
    language of `Accept-Language`, Arabic or English)."""

    code: str = Field(examples=["request_malformed"])
    message: str = Field(examples=["The request is not valid."])


# The statuses of a signed endpoint that no operation may leave out of its OpenAPI description.
SIGNED_ENDPOINT_ERRORS: dict[int, type[ErrorOut]] = {
    400: ErrorOut,
    401: ErrorOut,
    413: ErrorOut,
    429: ErrorOut,
}


# The OpenAPI description of the signature header of a body-signed webhook (the payment gateway's
# callbacks and the SMS operator's delivery reports: core/signing.py).
SIGNATURE_HEADER_PARAMETER: dict[str, Any] = {
    "in": "header",
    "name": SIGNATURE_HEADER,
    "required": True,
    "schema": {"type": "string", "maxLength": 1024, "example": "t=1767225600,v1=<hex>"},
}
