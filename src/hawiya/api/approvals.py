"""App approval by number matching, for relying parties (the approvals app has the rules).

Authentication is an OAuth 2.0 access token from the client credentials grant with the
`approvals` scope (`grant_type=client_credentials&scope=approvals` at /oidc/token/), sent as
`Authorization: Bearer <token>`. No token, or an unknown, expired or revoked one → 401; a token
without the scope → 403.

`POST /api/v1/approvals` asks the person with an ID number to approve; the answer carries the id to
poll and the two-digit number the party shows its user. `GET /api/v1/approvals/{id}` answers the
status: `WAITING`, `COMPLETED`, `REJECTED` or `EXPIRED` (three minutes after the request). A party
that gave a `callback_url` is also sent the end as a JWT signed with Hawiya's keys.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from ninja import Status as Answer
from ninja.params.functions import Path

from hawiya.api.party_bearer import PartyBearer
from hawiya.api.schemas import ErrorOut
from hawiya.approvals.limits import approval_poll_count
from hawiya.approvals.models import ApprovalRequest
from hawiya.approvals.services import NewApproval, approval_of_party, approval_request_create
from hawiya.audit.actors import Actor
from hawiya.identity.oidc_claims import APPROVALS_SCOPE
from hawiya.identity.selectors import PartyToken

router = Router(
    tags=["app approvals"],
    auth=PartyBearer(APPROVALS_SCOPE, refused=_("This access token does not allow app approvals.")),
)

Status = Literal["WAITING", "COMPLETED", "REJECTED", "EXPIRED"]
ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"


class ApprovalIn(Schema):
    id_number: str = Field(
        pattern=r"^[12][0-9]{9}$",
        description="The person's national ID or Iqama number (ten digits).",
        examples=["1012345678"],
    )
    purpose_ar: str = Field(
        min_length=1, max_length=200, description="What is approved, in Arabic.", examples=["تسجيل الدخول"]
    )
    purpose_en: str = Field(
        min_length=1, max_length=200, description="What is approved, in English.", examples=["Sign in"]
    )
    callback_url: str | None = Field(
        default=None,
        max_length=500,
        description="Where to POST the signed result when the request ends: https, on the host of "
        "one of your registered redirect URIs.",
        examples=["https://bank.example/hawiya/approvals"],
    )


class ApprovalCreatedOut(Schema):
    id: str = Field(description="The request's id, to poll.", examples=["q3V5c0x1bm9wZXJzb24tYXBwcm92YWw"])
    number: int = Field(ge=10, le=99, description="The number to show the person.", examples=[42])
    status: Literal["WAITING"] = Field(examples=["WAITING"])
    expires_at: dt.datetime = Field(description="When it expires unanswered (three minutes).")


class ApprovalOut(Schema):
    id: str
    number: int = Field(ge=10, le=99)
    status: Status = Field(
        description="`WAITING`; `COMPLETED` (the person tapped the number); `REJECTED` (a wrong "
        "number, or refused); `EXPIRED` (not answered in time).",
        examples=["COMPLETED"],
    )
    created_at: dt.datetime
    expires_at: dt.datetime
    decided_at: dt.datetime | None = Field(description="When it ended (empty while it waits).")


def _token(request: HttpRequest) -> PartyToken:
    token: PartyToken = request.auth  # type: ignore[attr-defined]
    return token


def _retry_after(description: str) -> dict[str, Any]:
    return {
        "responses": {
            429: {
                "description": description,
                "headers": {
                    "Retry-After": {
                        "description": "Seconds until the party may ask again.",
                        "schema": {"type": "integer", "minimum": 1},
                    }
                },
            }
        }
    }


@router.post(
    "",
    response={
        201: ApprovalCreatedOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="Ask a person to approve by matching a number",
    openapi_extra=_retry_after("Too many approval requests (by this party, or for this person)."),
)
def approval_create(request: HttpRequest, body: ApprovalIn) -> Answer[dict[str, Any]]:
    """Show the answer's `number` to your user: they open Hawiya, see your request and tap that
    number. An ID number without a Hawiya account is answered alike (its request only expires).
    One waiting request per person for each party (409 `approval_pending`)."""
    token = _token(request)
    row = approval_request_create(
        actor=Actor.relying_party(token.client_id),
        party=token.party,
        new=NewApproval(
            id_number=body.id_number,
            purpose_ar=body.purpose_ar,
            purpose_en=body.purpose_en,
            callback_url=body.callback_url or "",
        ),
    )
    return Answer(
        201, {"id": row.public_id, "number": row.number, "status": row.status, "expires_at": row.expires_at}
    )


def _out(row: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": row.public_id,
        "number": row.number,
        "status": row.status,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "decided_at": row.decided_at,
    }


@router.get(
    "/{approval_id}",
    response={
        200: ApprovalOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="The status of an approval request",
    openapi_extra=_retry_after("This request was asked about too often (more than 60 times a minute)."),
)
def approval_status(
    request: HttpRequest, approval_id: str = Path(..., pattern=ID_PATTERN, max_length=64)
) -> dict[str, Any]:
    """Your own request only: another party's id is answered 404 like an unknown one. Poll it at
    most once a second (60 a minute), or give a `callback_url` when you ask."""
    party = _token(request).party
    approval_poll_count(party_id=party.pk, approval_id=approval_id)
    return _out(approval_of_party(party=party, approval_id=approval_id))
