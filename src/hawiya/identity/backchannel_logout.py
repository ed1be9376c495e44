"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a citizen's session at Hawiya
ends (every way one ends goes through `identity.services.sessions.citizen_session_ended`: sign-out,
timeouts, a party's RP-initiated logout, ending devices from the security page, a password change
or reset...) or they withdraw a party's access (Connected services), each party they are connected
to that registered a `backchannel_logout_uri` is sent a Logout Token, so it can end its own session
for them.

The sign-out never waits for a party: `backchannel_logout_schedule` writes one outbox row per party
(BackchannelLogout) and hands it to a worker after commit. The worker (`backchannel_logout_deliver`)
posts the token through the one outbound layer (core/outbound.py, Partner.RELYING_PARTY), backs off
while the party is down and gives up after the last attempt (core/outbox.py); both ends audited.

The token is signed like the party's ID tokens (the active key of its algorithm, RS256 or ES256,
from identity/signing_keys.py, its kid in the header); `sub` is the party's pairwise subject, never
the account id; it carries no nonce (§2.4). It is made afresh at each attempt (short lived) with
the row's one `jti`, so a party that received an earlier attempt can tell a repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.db.models import Q
from django_tasks import task
from oauth2_provider.models import AccessToken, RefreshToken

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.core.outbound import Partner, post_form
from hawiya.core.outbox import RetryPolicy

from .models import BackchannelLogout, Consent, RelyingParty, User
from .oidc_claims import pairwise_subject
from .signed_push import SignedPush, party_token

logger = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
# Long enough for a party's clock to differ a little; short, since a stolen token is a logout.
TOKEN_LIFETIME = dt.timedelta(minutes=2)
TIMEOUT_SECONDS = 5.0
POLICY = RetryPolicy(
    max_attempts=5,
    first_backoff=dt.timedelta(seconds=10),
    backoff_factor=3,
    lease=dt.timedelta(minutes=1),
)
ACTOR = Actor.system("oidc.backchannel_logout")


# --- Whom to tell --------------------------------------------------------------------------------


def parties_to_tell(user: User) -> list[RelyingParty]:
    """The parties with a back-channel logout URI that hold tokens for, or a live consent of, `user`."""
    # One query (subqueries, not lists read first): every end of a citizen's session asks this.
    holding = Q(application_id__in=AccessToken.objects.filter(user=user).values("application_id")) | Q(
        application_id__in=RefreshToken.objects.filter(user=user).values("application_id")
    )
    consented = Q(pk__in=Consent.objects.filter(user=user, revoked_at__isnull=True).values("party_id"))
    return list(
        RelyingParty.objects.select_related("application")
        .exclude(backchannel_logout_uri="")
        .filter(suspended_at__isnull=True)
        .filter(holding | consented)
        .order_by("pk")
    )


def backchannel_logout_schedule(user: User, parties: Iterable[RelyingParty] | None = None) -> list[int]:
    """Owe each of `parties` (default: parties_to_tell) a Logout Token about `user`; the rows are
    handed to a worker once the caller's transaction commits. Returns the rows' ids."""
    chosen = parties_to_tell(user) if parties is None else [p for p in parties if p.backchannel_logout_uri]
    ids: list[int] = []
    with transaction.atomic():
        for party in chosen:
            row = BackchannelLogout.objects.create(
                party=party,
                subject=pairwise_subject(user, party),
                jti=secrets.token_urlsafe(24),
                next_attempt_at=clock.now(),
            )
            ids.append(row.pk)
            transaction.on_commit(partial(_enqueue, row.pk), robust=True)
    return ids


def _enqueue(logout_id: int, run_after: dt.datetime | None = None) -> None:
    if run_after is None:
        backchannel_logout_deliver.enqueue(logout_id)
    else:
        backchannel_logout_deliver.using(run_after=run_after).enqueue(logout_id)


# --- The token -----------------------------------------------------------------------------------


def logout_token(row: BackchannelLogout, *, now: dt.datetime | None = None) -> str:
    """The signed Logout Token of `row` (§2.4): iss, aud, iat, exp, jti, sub, events; no nonce."""
    issued = now or clock.now()
    return party_token(
        row.party,
        "logout+jwt",
        {
            "iat": int(issued.timestamp()),
            "exp": int((issued + TOKEN_LIFETIME).timestamp()),
            "jti": row.jti,
            "sub": row.subject,
            "events": {EVENT: {}},
        },
    )


# --- The worker ----------------------------------------------------------------------------------


def _post(row: BackchannelLogout) -> None:
    post_form(
        Partner.RELYING_PARTY,
        row.party.backchannel_logout_uri,
        {"logout_token": logout_token(row)},
        timeout=TIMEOUT_SECONDS,
    )


PUSH: SignedPush[BackchannelLogout] = SignedPush(
    noun="back-channel logout",
    model=BackchannelLogout,
    party_path="party",
    policy=POLICY,
    actor=ACTOR,
    action="oidc.backchannel_logout",
    post=_post,
    enqueue=_enqueue,
)


@task()
def backchannel_logout_deliver(logout_id: int) -> str:
    """Post row `logout_id`'s Logout Token once; returns the row's state (or "skipped")."""
    return PUSH.deliver(logout_id)


def backchannel_logout_sweep(*, grace: dt.timedelta = dt.timedelta(minutes=2)) -> list[int]:
    """Hand to a worker the rows whose hand-over was lost or whose worker died (for a periodic job)."""
    return PUSH.sweep(grace=grace)
