"""Document-status API for relying parties (banks, agencies): is this document valid?

Authentication is an OAuth 2.0 access token from the client credentials grant with the
`document_status` scope: the party POSTs `grant_type=client_credentials&scope=document_status`
to /oidc/token/, authenticating as it registered, and sends `Authorization: Bearer <token>`.
No token, or an unknown, expired or revoked one → 401; a token without the scope → 403.

The answer is only the document's status (`valid`, `reported_lost`, `replaced`, `expired`,
`cancelled`) or `not_found`, with the time it was given; every answer is recorded for the holder
to see. The rules are the document_checks app's; this module parses and answers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, Self

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from pydantic import model_validator

from hawiya.api.party_bearer import PartyBearer
from hawiya.api.schemas import ErrorOut
from hawiya.audit.actors import Actor
from hawiya.document_checks.services import MAX_BATCH, StatusAnswer, StatusQuery, document_status_check
from hawiya.identity.oidc_claims import DOCUMENT_STATUS_SCOPE
from hawiya.identity.selectors import PartyToken

router = Router(
    tags=["document status"],
    auth=PartyBearer(
        DOCUMENT_STATUS_SCOPE, refused=_("This access token does not allow document-status checks.")
    ),
)


# --- Schemas --------------------------------------------------------------------------------------

Status = Literal["valid", "reported_lost", "replaced", "expired", "cancelled", "not_found"]
Kind = Literal["national_id_card", "birth_certificate", "death_certificate", "family_record"]


class StatusQueryIn(Schema):
    id_number: str = Field(
        pattern=r"^[12][0-9]{9}$",
        description="The holder's national ID or Iqama number (ten digits).",
        examples=["1012345678"],
    )
    kind: Kind = Field(examples=["national_id_card"])
    serial_number: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][0-9]{9}$",
        description="The document's serial number (a letter and nine digits). Give it or `version`, or both.",
        examples=["N482913306"],
    )
    version: int | None = Field(
        default=None,
        ge=1,
        le=32767,
        description="The document's version (نسخة), when the serial number is not at hand.",
        examples=[2],
    )

    @model_validator(mode="after")
    def serial_or_version(self) -> Self:
        if not self.serial_number and self.version is None:
            raise ValueError("serial_number or version is required")
        return self

    def query(self) -> StatusQuery:
        return StatusQuery(
            id_number=self.id_number,
            kind=self.kind,
            serial_number=(self.serial_number or "").upper(),
            version=self.version,
        )


class StatusOut(Schema):
    status: Status = Field(
        description="`valid`, `reported_lost`, `replaced`, `expired`, `cancelled`, or `not_found` "
        "(no such document of that holder).",
        examples=["valid"],
    )
    checked_at: dt.datetime = Field(
        description="When the answer was given.", examples=["2026-12-06T22:30:00+03:00"]
    )


class BatchIn(Schema):
    documents: list[StatusQueryIn] = Field(
        min_length=1,
        json_schema_extra={"maxItems": MAX_BATCH},
        description=f"Up to {MAX_BATCH} documents.",
    )


class BatchOut(Schema):
    results: list[StatusOut] = Field(description="One answer per document, in the order asked.")


def _out(answer: StatusAnswer) -> dict[str, Any]:
    return {"status": answer.status, "checked_at": answer.checked_at}


def _check(request: HttpRequest, queries: list[StatusQuery]) -> list[StatusAnswer]:
    token: PartyToken = request.auth  # type: ignore[attr-defined]
    return document_status_check(
        actor=Actor.relying_party(token.client_id), party=token.party, queries=queries
    )


# Statuses any call can get besides its own: a body that is not JSON or a NUL byte (400), no or a
# bad token (401), no scope (403), too large (413), not the schema (422), the party's limit (429).
_RESPONSES: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}
_RETRY_AFTER = {
    "responses": {
        429: {
            "description": "Too many documents checked this minute.",
            "headers": {
                "Retry-After": {
                    "description": "Seconds until the party may check again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        }
    }
}


@router.post(
    "",
    response={200: StatusOut, **_RESPONSES},
    summary="Check the status of one document",
    openapi_extra=_RETRY_AFTER,
)
def document_status(request: HttpRequest, document: StatusQueryIn) -> dict[str, Any]:
    """The status of one document of one holder, named by its kind and its serial number or
    version. Nothing else about the person is answered. Each check is recorded and shown to the
    holder (which party, when, the answer)."""
    return _out(_check(request, [document.query()])[0])


@router.post(
    "/batch",
    response={200: BatchOut, **_RESPONSES},
    summary=f"Check the status of up to {MAX_BATCH} documents",
    openapi_extra=_RETRY_AFTER,
)
def document_status_batch(request: HttpRequest, batch: BatchIn) -> dict[str, Any]:
    """As the single check, for up to 100 documents at once (each counts toward the party's limit
    per minute); more is refused with 422 `batch_too_large`."""
    return {
        "results": [_out(answer) for answer in _check(request, [item.query() for item in batch.documents])]
    }
