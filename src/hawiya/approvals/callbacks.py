"""The signed answer to a party's callback URL when its approval request ends.

The end of a request never waits for the party: `callback_schedule` writes one outbox row
(ApprovalCallback, one per request) and hands it to a worker after commit. The worker
(`approval_callback_deliver`) POSTs `{"token": "<JWT>"}` through the one outbound layer
(core/outbound.py, Partner.RELYING_PARTY), with the token's `jti` as the Idempotency-Key; it backs
off while the party is down and gives up after the last attempt (core/outbox.py), both audited.

The token is signed like the party's ID tokens (the active key of its algorithm, from
identity/signing_keys.py, its kid in the header), so the party verifies it with the JWKS at
/oidc/jwks/. Claims: iss, aud (the party's client id), iat, exp, jti, approval_id, status. It is made
afresh at each attempt (short lived) with the row's one `jti`: a party that got an earlier attempt
can tell the repeat.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django_tasks import task
from jwcrypto import jwt

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.outbound import OutboundFailure, Partner, classify, post_json
from hawiya.core.outbox import Outbox, RetryPolicy
from hawiya.identity.signing_keys import active_signing_key

from .models import ApprovalCallback

if TYPE_CHECKING:
    from .models import ApprovalRequest

logger = logging.getLogger(__name__)

TOKEN_TYPE = "approval+jwt"  # noqa: S105 (a media type)
TOKEN_LIFETIME = dt.timedelta(minutes=2)
TIMEOUT_SECONDS = 5.0
POLICY = RetryPolicy(
    max_attempts=5,
    first_backoff=dt.timedelta(seconds=10),
    backoff_factor=3,
    lease=dt.timedelta(minutes=1),
)
ACTOR = Actor.system("approvals.callback")
OBJECT_TYPE = "approvals.approvalcallback"

State = ApprovalCallback.State


def callback_schedule(request: ApprovalRequest) -> ApprovalCallback:
    """Owe the party of the ended `request` its callback; handed to a worker after commit. Called
    once per request (the row is one-to-one with it)."""
    row = ApprovalCallback.objects.create(
        request=request, jti=secrets.token_urlsafe(24), next_attempt_at=clock.now()
    )
    transaction.on_commit(partial(_enqueue, row.pk), robust=True)
    return row


def _enqueue(callback_id: int, run_after: dt.datetime | None = None) -> None:
    if run_after is None:
        approval_callback_deliver.enqueue(callback_id)
    else:
        approval_callback_deliver.using(run_after=run_after).enqueue(callback_id)


def callback_token(row: ApprovalCallback, *, now: dt.datetime | None = None) -> str:
    """The signed token of `row`: iss, aud, iat, exp, jti, approval_id, status."""
    issued = now or clock.now()
    request = row.request
    party = request.party
    claims = {
        "iss": settings.HAWIYA_OIDC_ISSUER,
        "aud": party.application.client_id,
        "iat": int(issued.timestamp()),
        "exp": int((issued + TOKEN_LIFETIME).timestamp()),
        "jti": row.jti,
        "approval_id": request.public_id,
        "status": request.status,
    }
    alg = party.id_token_signed_response_alg
    kid, key = active_signing_key(alg)
    signed = jwt.JWT(
        header=json.dumps({"typ": TOKEN_TYPE, "alg": alg, "kid": kid}), claims=json.dumps(claims)
    )
    signed.make_signed_token(key)
    return str(signed.serialize())


def _locked(callback_id: int) -> ApprovalCallback | None:
    return (
        ApprovalCallback.objects.select_for_update(of=("self",))
        .select_related("request__party__application")
        .filter(pk=callback_id)
        .first()
    )


def _audit(row: ApprovalCallback, action: str, **detail: object) -> None:
    audit_record(
        actor=ACTOR,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=row.pk,
        detail={
            "client_id": row.request.party.application.client_id,
            "approval": row.request_id,
            "attempts": row.attempts,
            **detail,
        },
    )


def _give_up(row: ApprovalCallback, code: str, permanent: bool) -> None:
    row.state = State.FAILED
    row.last_error_code = code[:40]
    row.next_attempt_at = None
    row.save(update_fields=["state", "last_error_code", "next_attempt_at"])
    _audit(row, "approvals.callback_given_up", reason=code, refused=permanent)
    logger.warning("approval callback %s given up: %s after %d attempts", row.pk, code, row.attempts)


def _retry_noted(row: ApprovalCallback, code: str) -> list[str]:
    row.last_error_code = code[:40]
    return ["last_error_code"]


OUTBOX: Outbox[ApprovalCallback] = Outbox(
    policy=POLICY,
    noun="approval callback",
    lock=_locked,
    attempts_field="attempts",
    due_field="next_attempt_at",
    state_field="state",
    is_open=lambda row: row.state == State.PENDING,
    on_retry=_retry_noted,
    retry_later=_enqueue,
    label=lambda row: f"approval callback {row.pk}",
    give_up=_give_up,
)


@task()
def approval_callback_deliver(callback_id: int) -> str:
    """Post row `callback_id`'s token once; returns the row's state (or "skipped")."""
    claim = OUTBOX.claim(callback_id)
    if claim is None:
        return "skipped"
    row = claim.row
    try:
        post_json(
            Partner.RELYING_PARTY,
            row.request.callback_url,
            json.dumps({"token": callback_token(row)}).encode(),
            token="",
            idempotency_key=row.jti,
            timeout=TIMEOUT_SECONDS,
        )
    except OutboundFailure as exc:
        if exc.status is None:
            return OUTBOX.record_failure(callback_id, claim, exc.reason, permanent=False)
        verdict = classify(Partner.RELYING_PARTY, exc.status)
        return OUTBOX.record_failure(
            callback_id, claim, verdict.code("party", exc.status), permanent=verdict.permanent
        )
    except ValueError:
        return OUTBOX.record_failure(callback_id, claim, "invalid_uri", permanent=True)
    with transaction.atomic():
        current = _locked(callback_id)
        if current is None:
            return "skipped"
        if current.state != State.SENT:
            current.state = State.SENT
            current.sent_at = clock.now()
            current.next_attempt_at = None
            current.save(update_fields=["state", "sent_at", "next_attempt_at"])
            _audit(current, "approvals.callback_sent")
    return str(current.state)


def approval_callbacks_sweep(*, grace: dt.timedelta = dt.timedelta(minutes=2)) -> list[int]:
    """Hand to a worker the rows whose hand-over was lost or whose worker died (a periodic job)."""
    return OUTBOX.sweep(
        ApprovalCallback.objects.filter(state=State.PENDING),
        enqueue=_enqueue,
        now=clock.now(),
        grace=grace,
        rearm=True,
    )
