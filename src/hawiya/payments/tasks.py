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

from django.db import transaction
from django_tasks import task

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.metrics import PAYMENTS, inc_on_commit
from hawiya.core.outbox import Claim, Outbox, RetryPolicy

from . import errors
from .gateways import GatewayError, payment_gateway
from .models import REFUND_GIVEN_UP_STATES, Bill, BillState
from .services import AUDIT_BILL_REFUND_FAILED, AUDIT_BILL_REFUND_UNKNOWN, AUDIT_BILL_REFUNDED, OBJECT_TYPE

logger = logging.getLogger(__name__)

POLICY = RetryPolicy(
    max_attempts=5,
    first_backoff=dt.timedelta(seconds=30),
    backoff_factor=3,
    # Well above the gateway's timeout, so a slow but live worker is not second-guessed.
    lease=dt.timedelta(minutes=2),
)
MAX_ATTEMPTS = POLICY.max_attempts
REFUND_LEASE = POLICY.lease
# Who acts when the gateway's refund answer is recorded: the refund worker.
ACTOR = Actor.system("payments.refund")


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` tries: 30 s, 90 s, 270 s, 810 s…"""
    return POLICY.backoff(attempts)


@task()
def refund_fine(bill_id: int) -> str:
    """Make the pending refund of bill `bill_id` once; returns the outcome (kept by the backend).

    Idempotent: a bill that is refunded or failed, or that another worker is refunding, is left
    alone, so running the task twice never asks the gateway twice for a settled refund.
    """
    claim = OUTBOX.claim(bill_id)
    if claim is None:
        return "skipped"
    try:
        refund_id = payment_gateway().refund(claim.row, claim.row.refund_requested_sar)
    except GatewayError as exc:
        permanent = exc.code == errors.GATEWAY_REFUSED
        return OUTBOX.record_failure(
            bill_id, claim, str(exc.extra.get("reason") or exc.code), permanent=permanent
        )
    except Exception as exc:
        # A bug in a client must not lose the refund: retried like an outage, failed at the bound.
        logger.error("Refund of bill %s: the gateway client raised %s", bill_id, type(exc).__name__)
        return OUTBOX.record_failure(bill_id, claim, "client_error", permanent=False)
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
    inc_on_commit(PAYMENTS, "refund_failed" if refused else "refund_unknown")
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


def _record_refunded(bill_id: int, claim: Claim[Bill], refund_id: str) -> str:
    with transaction.atomic():
        bill = _locked(bill_id)
        # The gateway paid: a fact whoever claimed the refund, so recorded unless already done.
        if bill is None or (
            bill.state != BillState.REFUND_PENDING and bill.state not in REFUND_GIVEN_UP_STATES
        ):
            return "skipped"
        now = clock.now()
        amount = claim.row.refund_requested_sar
        bill.state = BillState.REFUNDED
        bill.refunded_sar = amount
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
        inc_on_commit(PAYMENTS, "refunded")
        audit_record(
            actor=ACTOR,
            action=AUDIT_BILL_REFUNDED,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail={"refunded_sar": str(amount), "kept_sar": str(bill.amount_sar - amount)},
        )
    logger.info("Refund of bill %s made (attempt %d)", bill_id, claim.attempt)
    return str(bill.state)


def _give_up_refused(bill: Bill, reason: str, permanent: bool) -> None:
    _give_up(bill, reason, refused=permanent)


def _failed_once(bill: Bill, reason: str) -> list[str]:
    bill.refund_error = reason[:64]
    return ["refund_error"]


def _retry_later(bill_id: int, run_after: dt.datetime) -> None:
    refund_fine.using(run_after=run_after).enqueue(bill_id)


OUTBOX: Outbox[Bill] = Outbox(
    policy=POLICY,
    noun="Bill",
    lock=_locked,
    attempts_field="refund_attempts",
    due_field="refund_next_attempt_at",
    state_field="state",
    is_open=lambda bill: bill.state == BillState.REFUND_PENDING,
    on_retry=_failed_once,
    retry_later=_retry_later,
    label=lambda bill: f"Refund of bill {bill.pk}",
    give_up=_give_up_refused,
)
