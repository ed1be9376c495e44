"""The worker's side of refunds.

`refund_fine` takes a bill id, claims the pending refund, asks the gateway outside any database
transaction (a slow gateway must not hold the bill's lock or the audit chain head), then records
the answer. Retries are bounded (MAX_ATTEMPTS) with exponential backoff; a refund that cannot be
made is handed to the finance team, never dropped: `refund_failed` when the gateway refused it
(nothing was paid), `refund_unknown` when the retries ran out after outages, time-outs or a lost
worker (the gateway may have paid: finance checks the key `refund-<bill number>` there first).

A worker may crash after the gateway paid out but before the answer is recorded. The bill then
stays `refund_pending` until its lease runs out, and the sweeper (services.refunds_retry_due)
hands it to a worker again, which asks with the same idempotency key (`refund-<bill number>`):
the gateway answers with the first refund instead of paying a second one.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.db import transaction
from django_tasks import task

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock

from . import errors
from .gateways import GatewayError, payment_gateway
from .models import REFUND_GIVEN_UP_STATES, Bill, BillState
from .services import AUDIT_BILL_REFUND_FAILED, AUDIT_BILL_REFUND_UNKNOWN, AUDIT_BILL_REFUNDED, OBJECT_TYPE

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_BACKOFF = dt.timedelta(seconds=30)
BACKOFF_FACTOR = 3
# How long a claimed refund is left to its worker before the sweeper may hand it to another.
# Well above the gateway's timeout, so a slow but live worker is not second-guessed.
REFUND_LEASE = dt.timedelta(minutes=2)
# A duplicate task that runs this much before the retry time is ignored (the scheduled one follows).
EARLY_TOLERANCE = dt.timedelta(seconds=2)
# Who acts when the gateway's refund answer is recorded: the refund worker.
ACTOR = Actor.system("payments.refund")


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` tries: 30 s, 90 s, 270 s, 810 s…"""
    return FIRST_BACKOFF * BACKOFF_FACTOR ** max(attempts - 1, 0)


@dataclass(frozen=True)
class _Claim:
    bill: Bill
    amount: Decimal
    attempt: int


@task()
def refund_fine(bill_id: int) -> str:
    """Make the pending refund of bill `bill_id` once; returns the outcome (kept by the backend).

    Idempotent: a bill that is refunded or failed, or that another worker is refunding, is left
    alone, so running the task twice never asks the gateway twice for a settled refund.
    """
    claim = _claim(bill_id)
    if claim is None:
        return "skipped"
    try:
        refund_id = payment_gateway().refund(claim.bill, claim.amount)
    except GatewayError as exc:
        permanent = exc.code == errors.GATEWAY_REFUSED
        return _record_failure(bill_id, claim, str(exc.extra.get("reason") or exc.code), permanent=permanent)
    except Exception as exc:
        # A bug in a client must not lose the refund: retried like an outage, failed at the bound.
        logger.error("Refund of bill %s: the gateway client raised %s", bill_id, type(exc).__name__)
        return _record_failure(bill_id, claim, "client_error", permanent=False)
    return _record_refunded(bill_id, claim, refund_id)


def _locked(bill_id: int) -> Bill | None:
    return Bill.objects.select_for_update().filter(pk=bill_id).first()


def _give_up(bill: Bill, reason: str, *, refused: bool) -> None:
    """Hand the refund to the finance team. Only a definite refusal is `refund_failed`; running
    out of attempts means some attempt timed out, failed or lost its worker, and a refund that
    may have been paid must never be paid again by hand without asking the gateway."""
    bill.state = BillState.REFUND_FAILED if refused else BillState.REFUND_UNKNOWN
    bill.refund_error = reason[:64]
    bill.refund_next_attempt_at = None
    bill.save(update_fields=["state", "refund_error", "refund_next_attempt_at"])
    audit_record(
        actor=ACTOR,
        action=AUDIT_BILL_REFUND_FAILED if refused else AUDIT_BILL_REFUND_UNKNOWN,
        object_type=OBJECT_TYPE,
        object_id=bill.pk,
        detail={
            "reason": reason[:64],
            "attempts": bill.refund_attempts,
            "refund_sar": str(bill.refund_requested_sar),
        },
    )
    if refused:
        logger.warning(
            "Refund of bill %s refused: %s after %d attempts", bill.pk, reason, bill.refund_attempts
        )
    else:
        logger.error(
            "Refund of bill %s unknown: %s after %d attempts; check the gateway before paying by hand",
            bill.pk,
            reason,
            bill.refund_attempts,
        )


def _claim(bill_id: int) -> _Claim | None:
    """Count the attempt and take the lease, in a transaction of its own."""
    with transaction.atomic():
        bill = _locked(bill_id)
        if bill is None:
            logger.warning("Bill %s does not exist", bill_id)
            return None
        if bill.state != BillState.REFUND_PENDING:
            return None
        now = clock.now()
        due = bill.refund_next_attempt_at
        if due is not None and due > now + EARLY_TOLERANCE:
            return None  # another worker holds the lease, or a duplicate runs ahead of the backoff
        if bill.refund_attempts >= MAX_ATTEMPTS:
            # A worker died during the last allowed attempt; the gateway may have paid or not.
            _give_up(bill, "attempts_exhausted", refused=False)
            return None
        bill.refund_attempts += 1
        bill.refund_next_attempt_at = now + REFUND_LEASE
        bill.save(update_fields=["refund_attempts", "refund_next_attempt_at"])
        return _Claim(bill=bill, amount=bill.refund_requested_sar, attempt=bill.refund_attempts)


def _locked_if_current(bill_id: int, claim: _Claim) -> Bill | None:
    # The bill, locked, if our claim still stands (no other worker has moved it on since).
    bill = _locked(bill_id)
    if bill is None or bill.state != BillState.REFUND_PENDING or bill.refund_attempts != claim.attempt:
        return None
    return bill


def _record_refunded(bill_id: int, claim: _Claim, refund_id: str) -> str:
    with transaction.atomic():
        bill = _locked(bill_id)
        # The gateway paid: a fact whoever claimed the refund, so recorded unless already done.
        if bill is None or (
            bill.state != BillState.REFUND_PENDING and bill.state not in REFUND_GIVEN_UP_STATES
        ):
            return "skipped"
        now = clock.now()
        bill.state = BillState.REFUNDED
        bill.refunded_sar = claim.amount
        bill.refunded_at = now
        bill.gateway_refund_id = refund_id[:64]
        bill.refund_next_attempt_at = None
        bill.refund_error = ""
        bill.save(
            update_fields=[
                "state",
                "refunded_sar",
                "refunded_at",
                "gateway_refund_id",
                "refund_next_attempt_at",
                "refund_error",
            ]
        )
        audit_record(
            actor=ACTOR,
            action=AUDIT_BILL_REFUNDED,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail={"refunded_sar": str(claim.amount), "kept_sar": str(bill.amount_sar - claim.amount)},
        )
    logger.info("Refund of bill %s made (attempt %d)", bill_id, claim.attempt)
    return str(bill.state)


def _record_failure(bill_id: int, claim: _Claim, reason: str, *, permanent: bool) -> str:
    with transaction.atomic():
        bill = _locked_if_current(bill_id, claim)
        if bill is None:
            return "stale"
        now = clock.now()
        if permanent or bill.refund_attempts >= MAX_ATTEMPTS:
            _give_up(bill, reason, refused=permanent)
        else:
            retry_at = now + backoff(bill.refund_attempts)
            bill.refund_error = reason[:64]
            bill.refund_next_attempt_at = retry_at
            bill.save(update_fields=["refund_error", "refund_next_attempt_at"])
            # After commit; if the hand-over is lost the sweeper finds the bill by its retry time.
            transaction.on_commit(
                partial(refund_fine.using(run_after=retry_at).enqueue, bill.pk), robust=True
            )
            logger.warning(
                "Refund of bill %s: %s on attempt %d; next try at %s",
                bill.pk,
                reason,
                bill.refund_attempts,
                retry_at.isoformat(timespec="seconds"),
            )
    return str(bill.state)
