"""Writes of bills: issue, the gateway's callbacks, expiry after 72 hours, cancellation and the
refund of the fine.

Rows are locked in one order everywhere: the bill first, then its request (through
`replacement_move`), then the audit chain head. Every change of a request's state goes through
`replacements.services.replacement_move`, which writes the timeline entry and tells the person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.metrics import PAYMENTS, inc_on_commit
from hawiya.core.references import insert_with_reference
from hawiya.replacements import errors as replacement_errors
from hawiya.replacements.fees import format_amount
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.services import replacement_move, replacement_notify

from . import errors
from .gateways import SignatureInvalid, payment_gateway, verify, webhook_secret
from .models import (
    BILL_NUMBER_DIGITS,
    PAID_STATES,
    PAY_WITHIN,
    REFUND_GIVEN_UP_STATES,
    Bill,
    BillState,
    CallbackOutcome,
    CallbackStatus,
    PaymentCallback,
)

logger = logging.getLogger(__name__)

# Who acts in a callback: the gateway, once its signature is verified here.
GATEWAY_ACTOR = Actor.payment_gateway()
# Who acts when an unpaid bill runs out: the sweep (`bills_expire_due`).
EXPIRY_SWEEP = Actor.system("payments.expiry_sweep")
OBJECT_TYPE = "payments.bill"
AUDIT_BILL_ISSUED = "bill.issued"
AUDIT_BILL_PAID = "bill.paid"
AUDIT_BILL_EXPIRED = "bill.expired"
AUDIT_BILL_CANCELLED = "bill.cancelled"
AUDIT_BILL_REFUND_REQUESTED = "bill.refund_requested"
AUDIT_BILL_REFUNDED = "bill.refunded"
AUDIT_BILL_REFUND_FAILED = "bill.refund_failed"
AUDIT_BILL_REFUND_UNKNOWN = "bill.refund_unknown"
AUDIT_CALLBACK_REJECTED = "payment.callback_rejected"
AUDIT_CALLBACK_CONFLICT = "payment.callback_conflict"
AUDIT_PAYMENT_DECLINED = "payment.declined"
AUDIT_REFUND_DUE = "payment.refund_due"

EVENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
PAYMENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Amounts travel as text with two decimals ("135.00"): a JSON number may lose its cents on the way.
AMOUNT = re.compile(r"[0-9]{1,7}\.[0-9]{2}")
MAX_CALLBACK_BYTES = 16 * 1024
# The sweeper hands a refund over only once it has been due this long: time for the task handed
# over with it (at commit, at its retry time, or by the last sweep) to claim it first.
REFUND_HANDOVER_GRACE = dt.timedelta(minutes=2)


# --- Issue ------------------------------------------------------------------------------------------


def _locked_replacement(replacement_id: int) -> Replacement:
    replacement = (
        Replacement.objects.select_for_update(of=("self",))
        .select_related("applicant")
        .filter(pk=replacement_id)
        .first()
    )
    if replacement is None:
        raise NotFound(errors.BILL_NOT_FOUND, _("This request was not found."))
    return replacement


def bill_issue(
    *,
    replacement_id: int,
    at: dt.datetime | None = None,
    actor: Actor,
) -> Bill:
    """Issue the bill of a request awaiting payment: its fee lines, payable within 72 hours.

    Idempotent per request (a second call returns the first bill). The person is told the bill
    number, the amount and the deadline (notification centre + SMS). Raises ApplicationError
    `bill_not_needed` for a request that is not awaiting payment or costs nothing.
    """
    now = at or clock.now()
    with transaction.atomic():
        replacement = _locked_replacement(replacement_id)
        existing = Bill.objects.filter(replacement=replacement).first()
        if existing is not None:
            return existing
        amount = Decimal(replacement.total_sar)
        if replacement.state != ReplacementState.AWAITING_PAYMENT or amount <= 0:
            raise ApplicationError(errors.BILL_NOT_NEEDED, _("This request has nothing to pay."))
        lines = [dict(line) for line in replacement.fee_lines if isinstance(line, dict)]
        refundable = sum(
            (Decimal(str(line.get("amount_sar", "0"))) for line in lines if line.get("refundable")),
            Decimal(0),
        )
        bill = insert_with_reference(
            Bill(
                replacement=replacement,
                lines=lines,
                amount_sar=amount,
                refundable_sar=min(refundable, amount),
                issued_at=now,
                expires_at=now + PAY_WITHIN,
            ),
            field="bill_number",
            prefix="",
            digits=BILL_NUMBER_DIGITS,
        )
        replacement_notify(
            replacement,
            template="bill_issued",
            context={
                "bill_number": bill.bill_number,
                "amount": format_amount(amount),
                "expires_at": bill.expires_at,
            },
        )
        audit_record(
            actor=actor,
            action=AUDIT_BILL_ISSUED,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail={"replacement": replacement.pk, "amount_sar": str(amount)},
        )
    return bill


# --- Checkout -----------------------------------------------------------------------------------------


def bill_checkout_url(*, bill: Bill, return_url: str) -> str:
    """Where the person pays `bill`: the gateway's checkout for this attempt.

    Each declined payment (a callback on the bill's record) starts a new attempt, so the next
    "Pay" gets a fresh checkout, while a second click within one attempt gets the same one back.
    Raises ApplicationError `bill_not_payable` for a bill that cannot be paid any more, and
    GatewayError when the gateway fails or answers with a checkout we will not send anyone to.
    """
    if not bill.is_payable:
        raise ApplicationError(errors.BILL_NOT_PAYABLE, _("This bill can no longer be paid."))
    declined = PaymentCallback.objects.filter(
        bill=bill, verified=True, outcome=CallbackOutcome.DECLINED
    ).count()
    return payment_gateway().checkout_url(bill, return_url, attempt=declined + 1)


# --- Callbacks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackPayload:
    event_id: str
    bill_number: str
    amount_sar: Decimal
    status: str
    payment_id: str
    body_sha256: str


class CallbackRejected(ApplicationError):
    """A callback we refuse; `status_code` is what the API answers (401, 400, 404, 409).

    `callback` is the stored record, or None for a badly signed callback (never stored)."""

    def __init__(
        self,
        code: str,
        message: object,
        *,
        status_code: int,
        callback: PaymentCallback | None,
        **extra: object,
    ) -> None:
        super().__init__(code, str(message))
        self.extra.update(extra)
        self.status_code = status_code
        self.callback = callback


def _signature_rejection(reason: str) -> CallbackRejected:
    return CallbackRejected(
        errors.CALLBACK_SIGNATURE_INVALID,
        _("The callback's signature is missing, stale or not valid."),
        status_code=401,
        callback=None,
        reason=reason,
    )


def _conflict_rejection(callback: PaymentCallback) -> CallbackRejected:
    return CallbackRejected(
        errors.CALLBACK_EVENT_CONFLICT,
        _("This event id was already used for another callback."),
        status_code=409,
        callback=callback,
    )


def _rejection(callback: PaymentCallback) -> CallbackRejected:
    outcome = callback.outcome
    if outcome == CallbackOutcome.UNKNOWN_BILL:
        return CallbackRejected(
            errors.CALLBACK_UNKNOWN_BILL, _("No bill has this number."), status_code=404, callback=callback
        )
    if outcome == CallbackOutcome.AMOUNT_MISMATCH:
        return CallbackRejected(
            errors.CALLBACK_AMOUNT_MISMATCH,
            _("The amount does not match the bill."),
            status_code=409,
            callback=callback,
        )
    return CallbackRejected(
        errors.CALLBACK_MALFORMED,
        _("The callback is not a valid payment notification."),
        status_code=400,
        callback=callback,
    )


def _amount(value: object) -> Decimal | None:
    """The amount if it is text like "135.00" (positive, below ten million), else None."""
    if not isinstance(value, str) or not AMOUNT.fullmatch(value):
        return None
    amount = Decimal(value)
    return amount if amount > 0 else None


def _parsed(body: bytes) -> CallbackPayload | None:
    """The callback's fields, or None when anything is missing or out of shape."""
    if len(body) > MAX_CALLBACK_BYTES:
        return None
    try:
        # Decimal, never float, for any number in the body (amounts must be text anyway).
        data = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    event_id, bill_number = data.get("event_id"), data.get("bill_number")
    status, payment_id = data.get("status"), data.get("payment_id", "")
    amount = _amount(data.get("amount_sar"))
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        return None
    if not isinstance(bill_number, str) or not bill_number.isascii() or not 1 <= len(bill_number) <= 32:
        return None
    if status not in (CallbackStatus.PAID, CallbackStatus.FAILED) or amount is None:
        return None
    if payment_id is None:
        payment_id = ""
    if not isinstance(payment_id, str) or (payment_id and not PAYMENT_ID.fullmatch(payment_id)):
        return None
    if status == CallbackStatus.PAID and not payment_id:
        return None
    return CallbackPayload(
        event_id=event_id,
        bill_number=bill_number,
        amount_sar=amount,
        status=str(status),
        payment_id=payment_id,
        body_sha256=hashlib.sha256(body).hexdigest(),
    )


def _record_malformed(*, body: bytes, now: dt.datetime) -> PaymentCallback:
    with transaction.atomic():
        callback = PaymentCallback.objects.create(
            outcome=CallbackOutcome.MALFORMED,
            received_at=now,
            verified=True,
            body_sha256=hashlib.sha256(body).hexdigest(),
        )
        audit_record(
            actor=GATEWAY_ACTOR,
            action=AUDIT_CALLBACK_REJECTED,
            object_type="payments.paymentcallback",
            object_id=callback.pk,
            detail={"outcome": CallbackOutcome.MALFORMED, "reason": "malformed"},
        )
    return callback


def payment_callback_apply(
    *, body: bytes, signature_header: str, now: dt.datetime | None = None
) -> PaymentCallback:
    """Apply one signed callback from the gateway and return its record.

    The signature is checked first: a missing, stale or wrong one raises CallbackRejected 401
    (`extra["reason"]` says which) and writes nothing, neither a record nor an audit event, as
    anyone can send those (the API logs and throttles them). A well-formed callback about a known
    bill of the right amount is recorded once per gateway event id: the same body again returns
    the first record and changes nothing (a replayed rejection is refused again); the same id
    with another body is refused (409, audited `payment.callback_conflict`). `paid` pays the bill
    and moves the request to `paid`; `failed` is recorded, the bill stays payable. Money for a
    bill that can no longer be paid (past its deadline, expired, cancelled, its request no longer
    awaiting payment, or already paid with another payment) is recorded and flagged for a
    refund. Unknown bills (404), wrong amounts (409) and malformed bodies (400) are refused with
    CallbackRejected, and audited.
    """
    now = now or clock.now()
    try:
        verify(body, signature_header, webhook_secret(), now=now)
    except SignatureInvalid as exc:
        raise _signature_rejection(exc.reason) from None
    payload = _parsed(body)
    if payload is None:
        raise _rejection(_record_malformed(body=body, now=now))
    callback = _apply(payload, now=now)
    if callback.is_rejected:
        raise _rejection(callback)
    return callback


def _conflicts(seen: PaymentCallback, payload: CallbackPayload) -> bool:
    """The event id was recorded with other fields. Compared on what the callback says (bill,
    amount, status, payment), not on its bytes: the gateway may send the same event again
    serialised another way (key order, spacing), and that is a replay."""
    recorded = (seen.bill_number, seen.amount_sar, seen.status, seen.payment_id)
    return recorded != (payload.bill_number, payload.amount_sar, payload.status, payload.payment_id)


def _audit_conflict(seen: PaymentCallback, payload: CallbackPayload) -> None:
    audit_record(
        actor=GATEWAY_ACTOR,
        action=AUDIT_CALLBACK_CONFLICT,
        object_type="payments.paymentcallback",
        object_id=seen.pk,
        detail={
            "event_id": payload.event_id,
            "bill_number": payload.bill_number,
            "amount_sar": str(payload.amount_sar),
            "status": payload.status,
            "first_outcome": seen.outcome,
        },
    )


def _apply(payload: CallbackPayload, *, now: dt.datetime) -> PaymentCallback:
    conflict = False
    with transaction.atomic():
        # The bill's lock orders concurrent callbacks about it; the first one's row is then visible.
        bill = Bill.objects.select_for_update().filter(bill_number=payload.bill_number).first()
        seen = PaymentCallback.objects.filter(event_id=payload.event_id, verified=True).first()
        if seen is None:
            callback, created = _record(payload, bill, now=now)
            if created:
                _effects(callback, bill, payload, now=now)
            seen = callback
        conflict = _conflicts(seen, payload)
        if conflict:
            # Audited in this transaction, which commits: the refusal is raised after it.
            _audit_conflict(seen, payload)
    if conflict:
        raise _conflict_rejection(seen)
    return seen


def _record(payload: CallbackPayload, bill: Bill | None, *, now: dt.datetime) -> tuple[PaymentCallback, bool]:
    """Store the callback with its outcome; (the row, True), or (the row another process stored
    under the same event id at the same moment, False)."""
    outcome = _outcome(bill, payload, now=now)
    try:
        with transaction.atomic():
            callback = PaymentCallback.objects.create(
                event_id=payload.event_id,
                bill=bill,
                bill_number=payload.bill_number,
                amount_sar=payload.amount_sar,
                status=payload.status,
                payment_id=payload.payment_id,
                verified=True,
                outcome=outcome,
                received_at=now,
                body_sha256=payload.body_sha256,
            )
    except IntegrityError:
        # The same event, unknown bill (nothing to lock), arriving twice at once.
        return PaymentCallback.objects.get(event_id=payload.event_id, verified=True), False
    return callback, True


def _request_awaits_payment(bill: Bill) -> bool:
    # Locked after the bill, as everywhere (the cancellation takes the same two locks in order).
    state = (
        Replacement.objects.select_for_update(of=("self",))
        .filter(pk=bill.replacement_id)
        .values_list("state", flat=True)
        .first()
    )
    return state == ReplacementState.AWAITING_PAYMENT


def _outcome(bill: Bill | None, payload: CallbackPayload, *, now: dt.datetime) -> str:
    if bill is None:
        return CallbackOutcome.UNKNOWN_BILL
    if payload.amount_sar != bill.amount_sar:
        return CallbackOutcome.AMOUNT_MISMATCH
    if payload.status == CallbackStatus.FAILED:
        return CallbackOutcome.DECLINED
    if bill.state in PAID_STATES and payload.payment_id == bill.gateway_payment_id:
        return CallbackOutcome.ALREADY_PAID
    # Money that arrives when the bill can no longer be paid is kept and flagged, never refused:
    # past the deadline even before the sweeper ran, or the request has moved on some other way.
    if bill.state == BillState.ISSUED and now < bill.expires_at and _request_awaits_payment(bill):
        return CallbackOutcome.APPLIED
    return CallbackOutcome.REFUND_DUE


def _notify_safely(replacement_id: int, *, template: str, context: dict[str, object]) -> None:
    """Tell the person, but never let a message that cannot be written (a template or number
    problem) undo the money just recorded: that is logged and the payment stands."""
    try:
        with transaction.atomic():
            replacement = Replacement.objects.select_related("applicant").get(pk=replacement_id)
            replacement_notify(replacement, template=template, context=context)
    except ApplicationError as exc:
        logger.error(
            "Request %s: the %s message could not be written (%s)", replacement_id, template, exc.code
        )


def _effects(
    callback: PaymentCallback, bill: Bill | None, payload: CallbackPayload, *, now: dt.datetime
) -> None:
    outcome = callback.outcome
    detail: dict[str, object] = {"callback": callback.pk, "outcome": outcome}
    if bill is None or outcome in (CallbackOutcome.UNKNOWN_BILL, CallbackOutcome.AMOUNT_MISMATCH):
        if bill is not None:
            detail.update(
                bill=bill.pk, expected_sar=str(bill.amount_sar), received_sar=str(payload.amount_sar)
            )
            if payload.status == CallbackStatus.PAID:
                # Refused, yet the gateway took the money: flagged so finance gives it back.
                bill.refund_due = True
                bill.save(update_fields=["refund_due"])
                detail["refund_due"] = True
        audit_record(
            actor=GATEWAY_ACTOR,
            action=AUDIT_CALLBACK_REJECTED,
            object_type="payments.paymentcallback",
            object_id=callback.pk,
            detail=detail,
        )
        return
    if outcome == CallbackOutcome.DECLINED:
        inc_on_commit(PAYMENTS, "failed")
        audit_record(
            actor=GATEWAY_ACTOR,
            action=AUDIT_PAYMENT_DECLINED,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail=detail,
        )
    elif outcome == CallbackOutcome.APPLIED:
        bill.state = BillState.PAID
        bill.paid_at = now
        bill.gateway_payment_id = payload.payment_id
        bill.save(update_fields=["state", "paid_at", "gateway_payment_id"])
        inc_on_commit(PAYMENTS, "paid")
        # The request awaits payment (checked under its lock in `_outcome`), so the move holds.
        replacement_move(
            replacement_id=bill.replacement_id,
            to=ReplacementState.PAID,
            action="paid",
            at=now,
            actor=GATEWAY_ACTOR,
            detail={"bill_number": bill.bill_number, "amount_sar": str(bill.amount_sar)},
            expected_from=frozenset({ReplacementState.AWAITING_PAYMENT}),
        )
        audit_record(
            actor=GATEWAY_ACTOR,
            action=AUDIT_BILL_PAID,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail=detail,
        )
        _notify_safely(
            bill.replacement_id,
            template="replacement_paid",
            context={"amount": format_amount(bill.amount_sar)},
        )
    elif outcome == CallbackOutcome.REFUND_DUE:
        bill.refund_due = True
        bill.save(update_fields=["refund_due"])
        inc_on_commit(PAYMENTS, "refund_due")
        detail["bill_state"] = bill.state
        audit_record(
            actor=GATEWAY_ACTOR,
            action=AUDIT_REFUND_DUE,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail=detail,
        )


# --- Expiry, cancellation, refund -----------------------------------------------------------------------


def bills_expire_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Expire issued bills whose 72 hours have run out, and end their requests (`expired`, with
    an SMS). Each bill in its own transaction; a bill another process holds is left for the next
    run. A request that has left `awaiting_payment` some other way is left as it is (the bill
    still ends). A message that cannot be written (an SMS error) is logged and never undoes the
    expiry, which would be retried, and fail, on every run. Returns how many bills expired."""
    now = now or clock.now()
    due = list(
        Bill.objects.filter(state=BillState.ISSUED, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for pk in due:
        try:
            count += _bill_expire(pk, now=now)
        except ApplicationError as exc:
            logger.error("Bill %s was not expired (%s); it is tried again on the next run", pk, exc.code)
    return count


def _bill_expire(pk: int, *, now: dt.datetime) -> int:
    with transaction.atomic():
        bill = (
            Bill.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, state=BillState.ISSUED, expires_at__lte=now)
            .first()
        )
        if bill is None:
            return 0
        bill.state = BillState.EXPIRED
        bill.ended_at = now
        bill.save(update_fields=["state", "ended_at"])
        inc_on_commit(PAYMENTS, "expired")
        try:
            with transaction.atomic():
                replacement_move(
                    replacement_id=bill.replacement_id,
                    to=ReplacementState.EXPIRED,
                    action="expired",
                    at=now,
                    actor=EXPIRY_SWEEP,
                    detail={"bill_number": bill.bill_number},
                    expected_from=frozenset({ReplacementState.AWAITING_PAYMENT}),
                )
        except ApplicationError as exc:
            if exc.code != replacement_errors.REPLACEMENT_STATE_CONFLICT:
                raise
            # The request left `awaiting_payment` some other way; the bill still ends.
            logger.warning("Bill %s expired; its request was not moved (%s)", bill.pk, exc.code)
        else:
            # In a savepoint: a message that cannot be written is logged, the expiry stands.
            _notify_safely(bill.replacement_id, template="replacement_expired", context={})
        audit_record(
            actor=EXPIRY_SWEEP,
            action=AUDIT_BILL_EXPIRED,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail={"replacement": bill.replacement_id},
        )
    return 1


def bill_locked_for_replacement(*, replacement_id: int) -> Bill | None:
    """The request's bill, locked for the caller's transaction (the first lock of a cancellation)."""
    return Bill.objects.select_for_update().filter(replacement_id=replacement_id).first()


def bill_cancel(*, replacement_id: int, actor: Actor) -> Bill | None:
    """The request is cancelled before it was paid: its issued bill can no longer be paid.
    Nothing to do without a bill or once it has ended. Runs in the caller's transaction."""
    with transaction.atomic():
        bill = bill_locked_for_replacement(replacement_id=replacement_id)
        if bill is None or bill.state != BillState.ISSUED:
            return bill
        bill.state = BillState.CANCELLED
        bill.ended_at = clock.now()
        bill.save(update_fields=["state", "ended_at"])
        audit_record(
            actor=actor,
            action=AUDIT_BILL_CANCELLED,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail={"replacement": replacement_id},
        )
    return bill


def _enqueue_refund(bill_id: int) -> None:
    from .tasks import refund_fine  # the task module imports this one

    refund_fine.enqueue(bill_id)


def bill_refund_fine(*, replacement_id: int, actor: Actor) -> Bill:
    """Ask for the fines of the request's paid bill to be paid back; the delivery fee is kept.

    Runs in the caller's transaction and calls no outside system: the bill becomes
    `refund_pending` with the amount, and once the transaction has committed a worker asks the
    gateway for the refund (payments.tasks.refund_fine, idempotency key `refund-<bill number>`)
    and moves the bill to `refunded`. So a slow gateway holds no lock, and a cancellation that
    rolls back has refunded nothing. Idempotent (a bill whose refund was asked for is returned as
    it is); a bill with no fine stays `paid`. The audit event names the applicant who paid
    (`person_id`: an officer's rejection shows on their "who accessed my data"). Raises NotFound
    without a bill, ApplicationError `bill_not_refundable` for an unpaid one.
    """
    with transaction.atomic():
        bill = bill_locked_for_replacement(replacement_id=replacement_id)
        if bill is None:
            raise NotFound(errors.BILL_NOT_FOUND, _("This bill was not found."))
        if bill.state in {BillState.REFUND_PENDING, BillState.REFUNDED, *REFUND_GIVEN_UP_STATES}:
            return bill
        if bill.state != BillState.PAID:
            raise ApplicationError(errors.BILL_NOT_REFUNDABLE, _("Only a paid bill can be refunded."))
        amount = bill.refundable_sar
        if amount <= 0:
            return bill
        now = clock.now()
        bill.state = BillState.REFUND_PENDING
        bill.refund_requested_sar = amount
        bill.refund_requested_at = now
        # The task handed over at commit may try at once; the sweeper only after REFUND_HANDOVER_GRACE.
        bill.refund_next_attempt_at = now
        bill.save(
            update_fields=["state", "refund_requested_sar", "refund_requested_at", "refund_next_attempt_at"]
        )
        audit_record(
            actor=actor,
            action=AUDIT_BILL_REFUND_REQUESTED,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail={
                "person_id": bill.replacement.applicant_id,
                "refund_sar": str(amount),
                "kept_sar": str(bill.amount_sar - amount),
            },
        )
        # If this hand-over is lost, refunds_retry_due finds the bill by refund_next_attempt_at.
        transaction.on_commit(partial(_enqueue_refund, bill.pk), robust=True)
    return bill


def refunds_retry_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Hand pending refunds to the worker again when their task has not claimed them for
    REFUND_HANDOVER_GRACE past their due time: a hand-over lost after commit, a worker that died
    with the lease, a retry whose task went missing, or a worker that is down. A refund that is
    being tried or waits for its backoff is left alone (the task checks again under the bill's
    lock, so a duplicate does nothing). A bill handed over is due again from now, so while the
    worker is down each bill gets one task per grace period, not one per run. Returns how many
    were handed over."""
    from .tasks import OUTBOX  # the task module imports this one

    due = OUTBOX.sweep(
        Bill.objects.filter(state=BillState.REFUND_PENDING),
        enqueue=_enqueue_refund,
        now=now or clock.now(),
        grace=REFUND_HANDOVER_GRACE,
        rearm=True,
        limit=limit,
    )
    return len(due)
