"""Security signals to relying parties (OpenID Shared Signals Framework 1.0): a party with a signals
stream (`RelyingParty.signals_endpoint`, `signals_events`) is pushed a Security Event Token
(RFC 8417, delivered as RFC 8935 push) when something happens to a citizen connected to it (a live
Consent): a document reported lost or replaced, the password changed or reset, sessions ended, the
account locked or blocked.

The services where those things happen call one function, `security_event_emit`, inside their
transaction: it writes one outbox row (SecurityEventDelivery) per subscribed party, naming the
citizen by that party's pairwise `sub`, and hands each row to a worker after commit. The worker
(`security_event_deliver`) pushes the token through the one outbound layer (core/outbound.py,
Partner.RELYING_PARTY), backs off while the party is down and gives up after the last attempt or a
4xx refusal (core/outbox.py); both ends audited. The token's `jti` and `iat` are the row's, so
every attempt sends the same event and a receiver can drop a repeat.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.core.outbound import Partner, post_token
from hawiya.core.outbox import RetryPolicy

from .models import Consent, RelyingParty, SecurityEventDelivery, User
from .oidc_claims import pairwise_subject
from .signed_push import SignedPush, party_token

logger = logging.getLogger(__name__)

# --- The event types ------------------------------------------------------------------------------

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
HAWIYA = "https://hawiya.sa/secevent/"

SESSION_REVOKED = CAEP + "session-revoked"
CREDENTIAL_CHANGE = CAEP + "credential-change"
ACCOUNT_DISABLED = RISC + "account-disabled"
DOCUMENT_REPORTED_LOST = HAWIYA + "document-reported-lost"
DOCUMENT_REPLACED = HAWIYA + "document-replaced"

# What a party may subscribe to, as the back-office shows it.
EVENT_TYPES: dict[str, Any] = {
    DOCUMENT_REPORTED_LOST: _("A document was reported lost"),
    DOCUMENT_REPLACED: _("A document was replaced"),
    CREDENTIAL_CHANGE: _("The password was changed or reset"),
    SESSION_REVOKED: _("Sessions at Hawiya ended"),
    ACCOUNT_DISABLED: _("Sign-in was locked or blocked"),
}

MEDIA_TYPE = "application/secevent+jwt"
TOKEN_TYPE = "secevent+jwt"  # noqa: S105 (a JWT type, not a password)
TIMEOUT_SECONDS = 5.0
POLICY = RetryPolicy(
    max_attempts=6,
    first_backoff=dt.timedelta(seconds=10),
    backoff_factor=3,
    lease=dt.timedelta(minutes=1),
)
ACTOR = Actor.system("oidc.security_signals")


# --- Whom to tell ----------------------------------------------------------------------------------


def subscribed_parties(user: User, event_type: str) -> list[RelyingParty]:
    """The active parties `user` is connected to (a consent not revoked) whose stream asks for
    `event_type`."""
    connected = Consent.objects.filter(user=user, revoked_at__isnull=True).values("party_id")
    parties = (
        RelyingParty.objects.select_related("application")
        .exclude(signals_endpoint="")
        .filter(suspended_at__isnull=True, pk__in=connected)  # one query, the consents a subquery
        .order_by("pk")
    )
    # The wanted types are a short JSON list; SQLite cannot look inside it, so it is read here.
    return [party for party in parties if event_type in (party.signals_events or [])]


def security_event_emit(user: User, event_type: str, detail: Mapping[str, Any] | None = None) -> list[int]:
    """Owe every party subscribed to `event_type` and connected to `user` a Security Event Token
    about them; `detail` is the event's own claims (`event_timestamp` is added). Call inside the
    transaction of the change it reports: the rows are written with it and handed to a worker
    once it commits. A staff account (no person) tells no one. Returns the rows' ids."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"not a security event type Hawiya sends: {event_type}")
    if user.person_id is None:
        return []
    now = clock.now()
    event = {"event_timestamp": int(now.timestamp()), **(detail or {})}
    ids: list[int] = []
    with transaction.atomic():
        for party in subscribed_parties(user, event_type):
            row = SecurityEventDelivery.objects.create(
                party=party,
                event_type=event_type,
                event=event,
                subject=pairwise_subject(user, party),
                jti=secrets.token_urlsafe(24),
                created_at=now,
                next_attempt_at=now,
            )
            ids.append(row.pk)
            transaction.on_commit(partial(_enqueue, row.pk), robust=True)
    if ids:
        logger.info("security event %s owed to %d party(ies)", event_type.rsplit("/", 1)[-1], len(ids))
    return ids


def security_event_emit_for_person(
    person_id: int, event_type: str, detail: Mapping[str, Any] | None = None
) -> list[int]:
    """`security_event_emit` for the account of the person `person_id` (nothing without one)."""
    user = User.objects.filter(person_id=person_id).first()
    return [] if user is None else security_event_emit(user, event_type, detail)


def _enqueue(delivery_id: int, run_after: dt.datetime | None = None) -> None:
    if run_after is None:
        security_event_deliver.enqueue(delivery_id)
    else:
        security_event_deliver.using(run_after=run_after).enqueue(delivery_id)


# --- The token -------------------------------------------------------------------------------------


def security_event_token(row: SecurityEventDelivery) -> str:
    """The signed SET of `row`: typ secevent+jwt; iss, aud (the party's client id), iat (when the
    event was recorded), jti, sub_id (iss_sub with the pairwise sub), events {type: claims}. No
    exp (RFC 8417 §2.2: the jti says it is a repeat). The same claims at every attempt."""
    return party_token(
        row.party,
        TOKEN_TYPE,
        {
            "iat": int(row.created_at.timestamp()),
            "jti": row.jti,
            "sub_id": {"format": "iss_sub", "iss": settings.HAWIYA_OIDC_ISSUER, "sub": row.subject},
            "events": {row.event_type: row.event},
        },
    )


# --- The worker ------------------------------------------------------------------------------------


def _post(row: SecurityEventDelivery) -> None:
    post_token(
        Partner.RELYING_PARTY,
        row.party.signals_endpoint,
        security_event_token(row),
        content_type=MEDIA_TYPE,
        timeout=TIMEOUT_SECONDS,
    )


def receiver_error(body: bytes) -> str:
    """The `err` code of a push receiver's error answer (RFC 8935 §2.3), or ""."""
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ""
    err = answer.get("err") if isinstance(answer, dict) else None
    return err[:30] if isinstance(err, str) and err.replace("_", "").isalnum() else ""


PUSH: SignedPush[SecurityEventDelivery] = SignedPush(
    noun="security event",
    model=SecurityEventDelivery,
    party_path="party",
    policy=POLICY,
    actor=ACTOR,
    action="oidc.security_event",
    post=_post,
    enqueue=_enqueue,
    detail=lambda row: {"event_type": row.event_type, "jti": row.jti},
    refusal_reason=receiver_error,
)


@task()
def security_event_deliver(delivery_id: int) -> str:
    """Push row `delivery_id`'s token once; returns the row's state (or "skipped", "stale")."""
    return PUSH.deliver(delivery_id)


def security_event_sweep(*, grace: dt.timedelta = dt.timedelta(minutes=2)) -> list[int]:
    """Hand to a worker the rows whose hand-over was lost or whose worker died (a periodic job:
    `manage.py oidc_security_events_requeue`)."""
    return PUSH.sweep(grace=grace)
