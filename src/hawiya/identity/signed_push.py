"""Signed tokens pushed to relying parties, none lost and none twice: a back-channel Logout Token
(identity/backchannel_logout.py), a Security Event Token (identity/security_signals.py), an
approval's callback (approvals/callbacks.py).

Each is an outbox row (core.models.PushedRow, with its party) handed to a worker after commit. The
worker (`SignedPush.deliver`) claims the row (core/outbox.py), makes the token, posts it through
the one outbound layer (core/outbound.py, Partner.RELYING_PARTY), and records the answer: sent, or
a failure that backs off while the party is down and gives up after the last attempt or on a
refusal (a 4xx); sent and given up are audited. `SignedPush.sweep` hands the rows whose hand-over
was lost, or whose worker died, to a worker again.

Every token is signed like the party's ID tokens (`party_token`: the active key of the party's
algorithm, its kid in the header), so the party verifies it with the JWKS.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import models, transaction
from jwcrypto import jwt

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.models import PushedRow
from hawiya.core.outbound import OutboundFailure, Partner, classify
from hawiya.core.outbox import Outbox, RetryPolicy

from .models import RelyingParty
from .signing_keys import active_signing_key

logger = logging.getLogger(__name__)

Row = TypeVar("Row", bound=PushedRow)
State = PushedRow.State


def party_token(party: RelyingParty, token_type: str, claims: Mapping[str, Any]) -> str:
    """`claims` signed for `party`, with `iss` Hawiya and `aud` the party's client id: the header's
    `typ` is `token_type`, `alg` the party's ID-token algorithm and `kid` the active key's."""
    alg = party.id_token_signed_response_alg
    kid, key = active_signing_key(alg)
    body = {"iss": settings.HAWIYA_OIDC_ISSUER, "aud": party.application.client_id, **claims}
    signed = jwt.JWT(header=json.dumps({"typ": token_type, "alg": alg, "kid": kid}), claims=json.dumps(body))
    signed.make_signed_token(key)
    return str(signed.serialize())


@dataclass(frozen=True)
class SignedPush(Generic[Row]):
    """One kind of signed token pushed to parties from its outbox rows."""

    noun: str  # in log lines: "security event 12 given up"
    model: type[Row]
    party_path: str  # from the row to its RelyingParty, as select_related spells it: "party"
    policy: RetryPolicy
    actor: Actor
    action: str  # the audit actions are `<action>_sent` and `<action>_given_up`
    # Posts the row's token (a fresh one, or the same one at every attempt: the kind decides);
    # raises OutboundFailure, or ValueError for a URL the outbound layer refuses.
    post: Callable[[Row], object]
    # Hands the row to the worker task now, or at `run_after`.
    enqueue: Callable[[int, dt.datetime | None], None]
    # What the audit rows say of the row, beside its party, attempts and reason.
    detail: Callable[[Row], Mapping[str, object]] = lambda row: {}
    # The reason a refusal's body gives, added to the error code (RFC 8935's `err`), or "".
    refusal_reason: Callable[[bytes], str] = lambda body: ""

    def party(self, row: Row) -> RelyingParty:
        party: Any = row
        for step in self.party_path.split("__"):
            party = getattr(party, step)
        return party

    @cached_property
    def outbox(self) -> Outbox[Row]:
        return Outbox(
            policy=self.policy,
            noun=self.noun,
            lock=self._locked,
            attempts_field="attempts",
            due_field="next_attempt_at",
            state_field="state",
            is_open=lambda row: row.state == State.PENDING,
            on_retry=self._retry_noted,
            retry_later=self.enqueue,
            label=lambda row: f"{self.noun} {row.pk}",
            give_up=self._give_up,
        )

    # --- The worker ------------------------------------------------------------------------------

    def deliver(self, pk: int) -> str:
        """Post row `pk`'s token once; returns the row's state (or "skipped", "stale")."""
        claim = self.outbox.claim(pk)
        if claim is None:
            return "skipped"
        try:
            self.post(claim.row)
        except OutboundFailure as exc:
            if exc.status is None:
                return self.outbox.record_failure(pk, claim, exc.reason, permanent=False)
            verdict = classify(Partner.RELYING_PARTY, exc.status)
            code = verdict.code("party", exc.status)
            reason = self.refusal_reason(exc.body) if verdict.permanent else ""
            return self.outbox.record_failure(
                pk, claim, f"{code}_{reason}" if reason else code, permanent=verdict.permanent
            )
        except ValueError:
            return self.outbox.record_failure(pk, claim, "invalid_uri", permanent=True)
        with transaction.atomic():
            current = self._locked(pk)
            if current is None:
                return "skipped"
            if current.state != State.SENT:
                current.state = State.SENT
                current.sent_at = clock.now()
                current.next_attempt_at = None
                current.save(update_fields=["state", "sent_at", "next_attempt_at"])
                self._audit(current, f"{self.action}_sent")
        return str(current.state)

    def sweep(self, *, grace: dt.timedelta = dt.timedelta(minutes=2)) -> list[int]:
        """Hand to a worker the rows whose hand-over was lost or whose worker died (a periodic job)."""
        return self.outbox.sweep(
            self.model._default_manager.filter(state=State.PENDING),
            enqueue=lambda pk: self.enqueue(pk, None),
            now=clock.now(),
            grace=grace,
            rearm=True,
        )

    # --- The outbox's pieces -----------------------------------------------------------------

    def _locked(self, pk: int) -> Row | None:
        rows: models.QuerySet[Row] = self.model._default_manager.select_for_update(of=("self",))
        return rows.select_related(f"{self.party_path}__application").filter(pk=pk).first()

    def _audit(self, row: Row, action: str, **detail: object) -> None:
        audit_record(
            actor=self.actor,
            action=action,
            object_type=self.model._meta.label_lower,
            object_id=row.pk,
            detail={
                "client_id": self.party(row).application.client_id,
                **self.detail(row),
                "attempts": row.attempts,
                **detail,
            },
        )

    def _give_up(self, row: Row, code: str, permanent: bool) -> None:
        row.state = State.FAILED
        row.last_error_code = code[:40]
        row.next_attempt_at = None
        row.save(update_fields=["state", "last_error_code", "next_attempt_at"])
        self._audit(row, f"{self.action}_given_up", reason=code, refused=permanent)
        logger.warning("%s %s given up: %s after %d attempts", self.noun, row.pk, code, row.attempts)

    @staticmethod
    def _retry_noted(row: Row, code: str) -> list[str]:
        row.last_error_code = code[:40]
        return ["last_error_code"]
