"""What every endpoint of the API shares: the error shape, and the statuses any operation can answer
before its own code runs (core/guard.py: a NUL byte or a malformed request is 400, a body over the
upload limit 413; a bad signature 401, too many of them 429)."""

from __future__ import annotations

from ninja import Field, Schema


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
