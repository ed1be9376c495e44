"""One outbox for every call to a partner that must not be lost (an SMS, a refund, a shipment's
announcement): lease → attempt → back off → give up → sweep.

A row carries its attempt count and the time it is next due (`attempts_field`, `due_field`). A
worker `claim`s the row in a transaction of its own (counting the attempt and leasing the row for
`policy.lease`), calls the partner outside any transaction, and records the answer: success is the
caller's own write; a failure goes through `record_failure`, which backs off and re-enqueues, or
gives up (the caller's `give_up` writes what giving up means for its row, audit included). A worker
that dies leaves its lease to run out; `sweep` hands such rows, and lost hand-overs, to a worker
again. The partner de-duplicates on an idempotency key, so every repeat is safe.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from django.db import models, transaction

from hawiya.core import clock

logger = logging.getLogger(__name__)

Row = TypeVar("Row", bound=models.Model)

# A reason to give up on, and whether it is a definite refusal (not a run of failed attempts).
GiveUp = Callable[[Row, str, bool], None]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    first_backoff: dt.timedelta
    backoff_factor: int
    # How long a claimed row is left to its worker before the sweeper may hand it to another:
    # well above the partner's timeout, so a slow but live worker is not second-guessed.
    lease: dt.timedelta
    # A duplicate task that runs this much before the row's due time is ignored (the scheduled
    # task follows); the margin absorbs clock differences between workers.
    early_tolerance: dt.timedelta = dt.timedelta(seconds=2)

    def backoff(self, attempts: int) -> dt.timedelta:
        """Wait before the next try after `attempts` tries: first, first×factor, first×factor²…"""
        return self.first_backoff * self.backoff_factor ** max(attempts - 1, 0)


@dataclass(frozen=True)
class Claim(Generic[Row]):
    """A worker's lease on `row`, for its attempt number `attempt`."""

    row: Row
    attempt: int


@dataclass(frozen=True)
class Outbox(Generic[Row]):
    """One kind of outbox row: how to lock it, which of its fields count and schedule, and which
    rows are still to be sent (`is_open`)."""

    policy: RetryPolicy
    noun: str  # in log lines: "<noun> 12 does not exist"
    lock: Callable[[int], Row | None]  # the row, locked (select_for_update), or None
    attempts_field: str
    due_field: str
    state_field: str  # what record_failure returns: str(row.<state_field>)
    is_open: Callable[[Row], bool]
    # What a failure short of giving up writes on the row (the reason), naming the fields.
    on_retry: Callable[[Row, str], Iterable[str]]
    # Hands the next try to a worker: (pk, run_after), after commit.
    retry_later: Callable[[int, dt.datetime], object]
    # Names the row in log lines.
    label: Callable[[Row], str]
    # What giving up writes, audit included (a call may pass its own: the SMS one needs the client).
    give_up: GiveUp[Row] | None = None
    # Rows with a state of their own while a worker holds them (an SMS is `sending`): such a lease
    # is honoured to the second, and only that state may record a failure. Without one, a lease and
    # a backoff look alike, both get the early tolerance, and every open row may record a failure.
    is_in_flight: Callable[[Row], bool] | None = None
    # When the row is of no use any more (a one-time code that expired): not sent, or not retried
    # past that time.
    expires_at: Callable[[Row], dt.datetime | None] | None = None
    expired_reason: str = "expired_before_send"

    # --- Lease and attempt -------------------------------------------------------------------

    def claim(
        self,
        pk: int,
        *,
        give_up: GiveUp[Row] | None = None,
        on_claim: Callable[[Row, dt.datetime], Iterable[str]] | None = None,
    ) -> Claim[Row] | None:
        """Count the attempt and take the lease, in a transaction of its own; None when there is
        nothing to do (no such row, settled, leased to another worker, a duplicate task ahead of
        the backoff, given up now: `give_up`, else the outbox's own). `on_claim` writes the
        caller's own fields and names them."""
        give_up = self._give_up(give_up)
        with transaction.atomic():
            row = self.lock(pk)
            if row is None:
                logger.warning("%s %s does not exist", self.noun, pk)
                return None
            if not self.is_open(row):
                return None
            now = clock.now()
            if self._held(row, now):
                return None
            if self._expired(row, now):
                give_up(row, self.expired_reason, False)
                return None
            if self.attempts(row) >= self.policy.max_attempts:
                # A worker died during the last allowed attempt; the partner may have it or not.
                give_up(row, "attempts_exhausted", False)
                return None
            attempt = self.attempts(row) + 1
            setattr(row, self.attempts_field, attempt)
            setattr(row, self.due_field, now + self.policy.lease)
            fields = list(on_claim(row, now)) if on_claim else []
            row.save(update_fields=[*fields, self.attempts_field, self.due_field])
            return Claim(row=row, attempt=attempt)

    def _give_up(self, given: GiveUp[Row] | None) -> GiveUp[Row]:
        chosen = given or self.give_up
        if chosen is None:
            raise TypeError(f"{self.noun}: give_up comes from the call or the outbox")
        return chosen

    def _held(self, row: Row, now: dt.datetime) -> bool:
        due: dt.datetime | None = getattr(row, self.due_field)
        if due is None:
            return False
        if self.is_in_flight is not None and self.is_in_flight(row):
            return due > now  # another worker holds the lease
        return due > now + self.policy.early_tolerance  # a lease, or a duplicate ahead of the backoff

    def _expired(self, row: Row, at: dt.datetime) -> bool:
        expires = self.expires_at(row) if self.expires_at else None
        return expires is not None and expires <= at

    def attempts(self, row: Row) -> int:
        return int(getattr(row, self.attempts_field))

    def locked_if_current(self, pk: int, claim: Claim[Row]) -> Row | None:
        """The row, locked, if `claim` still stands: no receipt, sweeper or other worker has moved
        it on since. A stale claim's failure is not recorded (the current claim's will be)."""
        row = self.lock(pk)
        current = self.is_in_flight or self.is_open
        if row is None or not current(row) or self.attempts(row) != claim.attempt:
            return None
        return row

    # --- Back off or give up -----------------------------------------------------------------

    def record_failure(
        self,
        pk: int,
        claim: Claim[Row],
        reason: str,
        *,
        permanent: bool,
        give_up: GiveUp[Row] | None = None,
    ) -> str:
        """Give up on a permanent failure, after the last attempt, or when the next try would come
        too late (`give_up`, else the outbox's own); else write `on_retry`'s fields and hand the
        next try to a worker after the backoff, after commit (if that is lost, the sweeper finds
        the row by its due time). Returns the row's state, or "stale" when the claim no longer
        stands."""
        give_up = self._give_up(give_up)
        with transaction.atomic():
            row = self.locked_if_current(pk, claim)
            if row is None:
                return "stale"
            now = clock.now()
            attempts = self.attempts(row)
            retry_at = now + self.policy.backoff(attempts)
            if permanent or attempts >= self.policy.max_attempts or self._expired(row, retry_at):
                give_up(row, reason, permanent)
            else:
                setattr(row, self.due_field, retry_at)
                fields = list(self.on_retry(row, reason))
                row.save(update_fields=[*fields, self.due_field])
                transaction.on_commit(partial(self.retry_later, row.pk, retry_at), robust=True)
                logger.warning(
                    "%s: %s on attempt %d; next try at %s",
                    self.label(row),
                    reason,
                    attempts,
                    retry_at.isoformat(timespec="seconds"),
                )
        return str(getattr(row, self.state_field))

    # --- Sweep -------------------------------------------------------------------------------

    def sweep(
        self,
        open_rows: models.QuerySet[Row],
        *,
        enqueue: Callable[[int], Any],
        now: dt.datetime,
        grace: dt.timedelta = dt.timedelta(0),
        rearm: bool = False,
        skip_locked: bool = False,
        limit: int = 500,
    ) -> list[int]:
        """Hand to a worker the `open_rows` due `grace` ago or earlier (a hand-over lost after
        commit, a worker that died with the lease, a worker that is down), oldest first; returns
        their keys. `rearm`: a row handed over is due again from `now`, so while the worker is
        down each row gets one task per grace period, not one per sweep (a row a worker claimed
        meanwhile keeps its lease). `skip_locked`: rows a worker holds locked are left to it, and
        the hand-over waits for the commit."""
        overdue = open_rows.filter(**{f"{self.due_field}__lte": now - grace})
        # Locking needs a transaction; without it each statement commits on its own, as before.
        with transaction.atomic() if skip_locked else nullcontext():
            rows = overdue.select_for_update(skip_locked=True) if skip_locked else overdue
            due = list(rows.order_by(self.due_field).values_list("pk", flat=True)[:limit])
            if rearm:
                overdue.filter(pk__in=due).update(**{self.due_field: now})
            for pk in due:
                if skip_locked:
                    transaction.on_commit(partial(enqueue, pk), robust=True)
                else:
                    enqueue(pk)
        return due
