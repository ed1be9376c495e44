"""App approval by number matching (Nafath-style): the rules.

- A relying party allowed the `approvals` scope asks for a person's approval by ID number, with a
  purpose in Arabic and in English and, if it wants to be told, an https callback URL. It gets an
  opaque id and a two-digit number (10–99) to show its user; the request waits for three minutes
  (LIFETIME).
- The citizen, signed in to the portal, sees the request (which party, for what) with three numbers:
  the party's and two distinct decoys, in an order drawn once. The right number approves
  (`COMPLETED`); a wrong one or "deny" refuses (`REJECTED`); both are final. Unanswered, the request
  is `EXPIRED` at its time: read as such at once, written by the next read or by the sweep.
- Privacy: an ID number without an activated account gets the same answer as any other (201, a
  number, `WAITING`), and its request can only expire. The party cannot tell such a person from one
  who did not answer; the limits below count it alike.
- Limits: per party HAWIYA_APPROVALS_RATE_LIMIT requests a minute and per person PERSON_LIMIT in
  ten minutes (limits.py, 429); at most one waiting request per party and person and
  PENDING_PER_PERSON per person (409). The person's account row is locked while the waiting
  requests are counted, and a unique constraint backs the one-per-party rule, so two concurrent
  requests cannot both pass.
- Every creation and every end is audited (the party, the citizen, or the system for an expiry); an
  end owes the party a signed callback when it gave a URL (callbacks.py).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from hawiya.audit.actors import Actor, ActorKind
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.outbound import LOCAL_HOSTS
from hawiya.identity.models import RelyingParty, User
from hawiya.identity.oidc_claims import APPROVALS_SCOPE

from . import errors
from .callbacks import callback_schedule
from .limits import approvals_count
from .models import ApprovalRequest, ApprovalStatus

LIFETIME = dt.timedelta(minutes=3)
PENDING_PER_PERSON = 3
OBJECT_TYPE = "approvals.approvalrequest"
EXPIRY_ACTOR = Actor.system("approvals.expiry")

_random = random.SystemRandom()


@dataclass(frozen=True)
class NewApproval:
    id_number: str
    purpose_ar: str
    purpose_en: str
    callback_url: str = ""


def subject_key(id_number: str) -> str:
    """The keyed hash the limits count a person by (the ID number itself is not kept)."""
    return salted_hmac("hawiya.approvals.subject", id_number, algorithm="sha256").hexdigest()


def draw_numbers() -> tuple[int, list[int]]:
    """The party's number and the three the citizen is offered (it and two distinct decoys), in
    a random order."""
    picked = _random.sample(range(10, 100), 3)
    shown = list(picked)
    _random.shuffle(shown)
    return picked[0], shown


def _registered_hosts(party: RelyingParty) -> set[str]:
    hosts = set()
    for uri in party.application.redirect_uris.split():
        try:
            host = urlsplit(uri).hostname
        except ValueError:
            continue
        if host:
            hosts.add(host.lower())
    return hosts


def callback_url_check(url: str, party: RelyingParty) -> str:
    """`url` if the party may be called there: https, with no credentials, to a host of one of the
    party's registered redirect URIs (so a party cannot make Hawiya call somebody else, or a host
    inside our network); plain http only to this machine, and only where
    HAWIYA_APPROVALS_LOOPBACK_CALLBACKS allows it (demo, tests)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise errors.callback_url_invalid() from None
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise errors.callback_url_invalid()
    if parts.scheme == "https" and host.lower() in _registered_hosts(party):
        return url
    if parts.scheme == "http" and host in LOCAL_HOSTS and settings.HAWIYA_APPROVALS_LOOPBACK_CALLBACKS:
        return url
    raise errors.callback_url_invalid()


def _audit(row: ApprovalRequest, actor: Actor, action: str, **detail: object) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=row.pk,
        detail={"client_id": row.party.application.client_id, **detail},
    )


def _end(row: ApprovalRequest, status: str, *, actor: Actor, at: dt.datetime, **detail: object) -> None:
    """End a waiting request (locked by the caller): its status, the audit, the callback owed."""
    row.status = status
    row.decided_at = at
    row.save(update_fields=["status", "decided_at"])
    _audit(row, actor, f"approvals.{status.lower()}", **detail)
    if row.callback_url:
        callback_schedule(row)


def _expire_waiting(rows: list[ApprovalRequest]) -> None:
    for row in rows:
        _end(row, ApprovalStatus.EXPIRED, actor=EXPIRY_ACTOR, at=row.expires_at)


def _locked_waiting_overdue(now: dt.datetime, limit: int = 500, **filters: object) -> list[ApprovalRequest]:
    return list(
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("party__application")
        .filter(status=ApprovalStatus.WAITING, expires_at__lte=now, **filters)
        .order_by("pk")[:limit]
    )


def approval_request_create(*, actor: Actor, party: RelyingParty, new: NewApproval) -> ApprovalRequest:
    """A waiting request for the approval of the person with `new.id_number` (see the module's
    rules). Raises Throttled (429), Conflict `approval_pending` / `approvals_pending_for_person`
    (409), Invalid `callback_url_invalid` (422), or `approvals_forbidden` for any actor but a party
    allowed the scope."""
    if actor.kind != ActorKind.RELYING_PARTY or APPROVALS_SCOPE not in party.allowed_scopes:
        raise errors.forbidden()
    callback_url = callback_url_check(new.callback_url, party)
    key = subject_key(new.id_number)
    approvals_count(party_id=party.pk, subject_key=key)
    with transaction.atomic():
        user = (
            User.objects.select_for_update(of=("self",))
            .filter(person__id_number=new.id_number, is_active=True)
            .only("pk")
            .first()
        )
        now = clock.now()
        _expire_waiting(_locked_waiting_overdue(now, subject_key=key))
        waiting = list(
            ApprovalRequest.objects.filter(subject_key=key, status=ApprovalStatus.WAITING).values_list(
                "party_id", flat=True
            )
        )
        if party.pk in waiting:
            raise errors.approval_pending()
        if len(waiting) >= PENDING_PER_PERSON:
            raise errors.person_busy()
        number, shown = draw_numbers()
        try:
            with transaction.atomic():
                row = ApprovalRequest.objects.create(
                    party=party,
                    user=user,
                    subject_key=key,
                    number=number,
                    choices=shown,
                    purpose_ar=new.purpose_ar,
                    purpose_en=new.purpose_en,
                    callback_url=callback_url,
                    created_at=now,
                    expires_at=now + LIFETIME,
                )
        except IntegrityError:
            # Only without an account (no row to lock): a concurrent request of the same party won.
            raise errors.approval_pending() from None
        row.party = party
        _audit(row, actor, "approvals.requested", account=user is not None)
    return row


def _settled(row: ApprovalRequest) -> ApprovalRequest:
    """`row` as it stands now: a waiting request past its time is expired first."""
    if row.status != ApprovalStatus.WAITING or row.expires_at > clock.now():
        return row
    with transaction.atomic():
        _expire_waiting(_locked_waiting_overdue(clock.now(), pk=row.pk))
    row.refresh_from_db(fields=["status", "decided_at"])
    return row


def approval_of_party(*, party: RelyingParty, approval_id: str) -> ApprovalRequest:
    """The party's own request `approval_id`, expired if its time has come; NotFound for an
    unknown id or another party's (alike)."""
    row = (
        ApprovalRequest.objects.select_related("party__application")
        .filter(public_id=approval_id, party=party)
        .first()
    )
    if row is None:
        raise errors.not_found()
    return _settled(row)


def approval_answer(*, actor: Actor, user: User, approval_id: str, number: int | None) -> ApprovalRequest:
    """The citizen's answer to their own waiting request: `number` tapped (the party's number
    approves, any other refuses), or None for "deny" (refuses). Returns the request as it ended
    (EXPIRED when its time had come first). NotFound for an unknown id or another person's;
    Conflict `approval_not_waiting` when it had already ended."""
    if actor.kind != ActorKind.CITIZEN or actor.user_id != user.pk:
        raise errors.not_found()
    with transaction.atomic():
        row = (
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("party__application")
            .filter(public_id=approval_id, user=user)
            .first()
        )
        if row is None:
            raise errors.not_found()
        if row.status != ApprovalStatus.WAITING:
            raise errors.not_waiting()
        now = clock.now()
        if row.expires_at <= now:
            _end(row, ApprovalStatus.EXPIRED, actor=EXPIRY_ACTOR, at=row.expires_at)
        elif number is None:
            _end(row, ApprovalStatus.REJECTED, actor=actor, at=now, reason="denied")
        elif number == row.number:
            _end(row, ApprovalStatus.COMPLETED, actor=actor, at=now)
        else:
            _end(row, ApprovalStatus.REJECTED, actor=actor, at=now, reason="wrong_number")
    return row


def approvals_expire_due(*, limit: int = 500) -> int:
    """Expire every waiting request past its time (a periodic job; reads expire them too); returns
    how many."""
    with transaction.atomic():
        rows = _locked_waiting_overdue(clock.now(), limit)
        _expire_waiting(rows)
    return len(rows)
