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
import secrets
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django_tasks import task

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.core.outbound import Partner, post_json
from hawiya.core.outbox import RetryPolicy
from hawiya.identity.signed_push import SignedPush, party_token

from .models import ApprovalCallback

if TYPE_CHECKING:
    from .models import ApprovalRequest

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
    return party_token(
        request.party,
        TOKEN_TYPE,
        {
            "iat": int(issued.timestamp()),
            "exp": int((issued + TOKEN_LIFETIME).timestamp()),
            "jti": row.jti,
            "approval_id": request.public_id,
            "status": request.status,
        },
    )


def _post(row: ApprovalCallback) -> None:
    post_json(
        Partner.RELYING_PARTY,
        row.request.callback_url,
        json.dumps({"token": callback_token(row)}).encode(),
        token="",
        idempotency_key=row.jti,
        timeout=TIMEOUT_SECONDS,
    )


PUSH: SignedPush[ApprovalCallback] = SignedPush(
    noun="approval callback",
    model=ApprovalCallback,
    party_path="request__party",
    policy=POLICY,
    actor=ACTOR,
    action="approvals.callback",
    post=_post,
    enqueue=_enqueue,
    detail=lambda row: {"approval": row.request_id},
)


@task()
def approval_callback_deliver(callback_id: int) -> str:
    """Post row `callback_id`'s token once; returns the row's state (or "skipped")."""
    return PUSH.deliver(callback_id)


def approval_callbacks_sweep(*, grace: dt.timedelta = dt.timedelta(minutes=2)) -> list[int]:
    """Hand to a worker the rows whose hand-over was lost or whose worker died (a periodic job)."""
    return PUSH.sweep(grace=grace)
