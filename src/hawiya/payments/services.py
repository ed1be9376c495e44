"""Writes of bills: issue, the gateway's callbacks, expiry after 72 hours, cancellation and the
refund of the fine.

Rows are locked in one order everywhere: the bill first, then its request (through
`replacement_move`), then the audit chain head. Every change of a request's state goes through
`replacements.services.replacement_move`, which writes the timeline entry and tells the person.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.references import insert_with_reference
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.selectors import format_amount
from hawiya.replacements.services import replacement_move, replacement_notify

from . import errors
from .gateways import SignatureInvalid, payment_gateway, verify, webhook_secret
from .models import (
    BILL_NUMBER_DIGITS,
    PAY_WITHIN,
    Bill,
    BillState,
    CallbackOutcome,
    CallbackStatus,
    PaymentCallback,
)

logger = logging.getLogger(__name__)

GATEWAY_ACTOR = "payment_gateway"
OBJECT_TYPE = "payments.bill"
AUDIT_BILL_ISSUED = "bill.issued"
AUDIT_BILL_PAID = "bill.paid"
AUDIT_BILL_EXPIRED = "bill.expired"
AUDIT_BILL_CANCELLED = "bill.cancelled"
AUDIT_BILL_REFUNDED = "bill.refunded"
AUDIT_CALLBACK_REJECTED = "payment.callback_rejected"
AUDIT_PAYMENT_DECLINED = "payment.declined"
AUDIT_REFUND_DUE = "payment.refund_due"

EVENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
PAYMENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
MAX_CALLBACK_BYTES = 16 * 1024


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


def bill_issue(*, replacement_id: int, at: dt.datetime | None = None, actor: str, ip: str | None) -> Bill:
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
            ip=ip,
            action=AUDIT_BILL_ISSUED,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail={"replacement": replacement.pk, "amount_sar": str(amount)},
        )
    return bill


# --- Callbacks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackPayload:
    event_id: str
    bill_number: str
    amount_sar: Decimal
    status: str
    payment_id: str


class CallbackRejected(ApplicationError):
    """A callback we refuse; `status_code` is what the API answers (401, 400, 404, 409)."""

    def __init__(self, code: str, message: object, *, status_code: int, callback: PaymentCallback) -> None:
        super().__init__(code, str(message))
        self.status_code = status_code
        self.callback = callback


def _rejection(callback: PaymentCallback) -> CallbackRejected:
    outcome = callback.outcome
    if outcome == CallbackOutcome.BAD_SIGNATURE:
        return CallbackRejected(
            errors.CALLBACK_SIGNATURE_INVALID,
            _("The callback's signature is missing, stale or not valid."),
            status_code=401,
            callback=callback,
        )
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
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if (
        not amount.is_finite()
        or amount <= 0
        or amount >= Decimal("10000000")
        or amount != amount.quantize(Decimal("0.01"))
    ):
        return None
    return amount.quantize(Decimal("0.01"))


def _parsed(body: bytes) -> CallbackPayload | None:
    """The callback's fields, or None when anything is missing or out of shape."""
    if len(body) > MAX_CALLBACK_BYTES:
        return None
    try:
        data = json.loads(body)
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
    )


def _record_rejection(
    *, outcome: str, now: dt.datetime, detail: dict[str, object], **fields: object
) -> PaymentCallback:
    with transaction.atomic():
        callback = PaymentCallback.objects.create(outcome=outcome, received_at=now, **fields)
        audit_record(
            actor=GATEWAY_ACTOR,
            action=AUDIT_CALLBACK_REJECTED,
            object_type="payments.paymentcallback",
            object_id=callback.pk,
            detail={"outcome": outcome, **detail},
        )
    return callback


def payment_callback_apply(
    *, body: bytes, signature_header: str, now: dt.datetime | None = None
) -> PaymentCallback:
    """Apply one signed callback from the gateway and return its record.

    The signature is checked first (else CallbackRejected 401, audited). A well-formed callback
    about a known bill of the right amount is recorded once per gateway event id: a replay
    returns the first record and changes nothing (a replayed rejection is refused again).
    `paid` pays the bill and moves the request to `paid`; `failed` is recorded, the bill stays
    payable. Money for a bill that can no longer be paid (expired, cancelled, or already paid
    with another payment) is recorded and flagged for a refund. Unknown bills (404), wrong
    amounts (409) and malformed bodies (400) are refused with CallbackRejected, and audited.
    """
    now = now or clock.now()
    try:
        verify(body, signature_header, webhook_secret(), now=now)
    except SignatureInvalid as exc:
        callback = _record_rejection(
            outcome=CallbackOutcome.BAD_SIGNATURE, now=now, detail={"reason": exc.reason}, verified=False
        )
        raise _rejection(callback) from None
    payload = _parsed(body)
    if payload is None:
        callback = _record_rejection(
            outcome=CallbackOutcome.MALFORMED, now=now, detail={"reason": "malformed"}, verified=True
        )
        raise _rejection(callback)
    callback = _apply(payload, now=now)
    if callback.is_rejected:
        raise _rejection(callback)
    return callback


def _apply(payload: CallbackPayload, *, now: dt.datetime) -> PaymentCallback:
    with transaction.atomic():
        # The bill's lock orders concurrent callbacks about it; the first one's row is then visible.
        bill = Bill.objects.select_for_update().filter(bill_number=payload.bill_number).first()
        seen = PaymentCallback.objects.filter(event_id=payload.event_id, verified=True).first()
        if seen is not None:
            return seen
        outcome = _outcome(bill, payload)
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
                )
        except IntegrityError:
            # The same event, unknown bill (nothing to lock), arriving twice at once.
            return PaymentCallback.objects.get(event_id=payload.event_id, verified=True)
        _effects(callback, bill, payload, now=now)
    return callback


def _outcome(bill: Bill | None, payload: CallbackPayload) -> str:
    if bill is None:
        return CallbackOutcome.UNKNOWN_BILL
    if payload.amount_sar != bill.amount_sar:
        return CallbackOutcome.AMOUNT_MISMATCH
    if payload.status == CallbackStatus.FAILED:
        return CallbackOutcome.DECLINED
    if bill.state == BillState.ISSUED:
        return CallbackOutcome.APPLIED
    if bill.state in (BillState.PAID, BillState.REFUNDED) and payload.payment_id == bill.gateway_payment_id:
        return CallbackOutcome.ALREADY_PAID
    return CallbackOutcome.REFUND_DUE


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
        audit_record(
            actor=GATEWAY_ACTOR,
            action=AUDIT_CALLBACK_REJECTED,
            object_type="payments.paymentcallback",
            object_id=callback.pk,
            detail=detail,
        )
        return
    if outcome == CallbackOutcome.DECLINED:
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
        replacement_move(
            replacement_id=bill.replacement_id,
            to=ReplacementState.PAID,
            action="paid",
            at=now,
            actor=GATEWAY_ACTOR,
            detail={"bill_number": bill.bill_number, "amount_sar": str(bill.amount_sar)},
            notify_template="replacement_paid",
            notify_context={"amount": format_amount(bill.amount_sar)},
            expected_from=frozenset({ReplacementState.AWAITING_PAYMENT}),
        )
        audit_record(
            actor=GATEWAY_ACTOR,
            action=AUDIT_BILL_PAID,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail=detail,
        )
    elif outcome == CallbackOutcome.REFUND_DUE:
        bill.refund_due = True
        bill.save(update_fields=["refund_due"])
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
    run. Returns how many bills expired."""
    now = now or clock.now()
    due = list(
        Bill.objects.filter(state=BillState.ISSUED, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for pk in due:
        with transaction.atomic():
            bill = (
                Bill.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=BillState.ISSUED, expires_at__lte=now)
                .first()
            )
            if bill is None:
                continue
            bill.state = BillState.EXPIRED
            bill.ended_at = now
            bill.save(update_fields=["state", "ended_at"])
            try:
                with transaction.atomic():
                    replacement_move(
                        replacement_id=bill.replacement_id,
                        to=ReplacementState.EXPIRED,
                        action="expired",
                        at=now,
                        actor="system",
                        detail={"bill_number": bill.bill_number},
                        notify_template="replacement_expired",
                        expected_from=frozenset({ReplacementState.AWAITING_PAYMENT}),
                    )
            except ApplicationError as exc:
                # The request left `awaiting_payment` some other way; the bill still ends.
                logger.warning("Bill %s expired; its request was not moved (%s)", bill.pk, exc.code)
            audit_record(
                actor="system",
                action=AUDIT_BILL_EXPIRED,
                object_type=OBJECT_TYPE,
                object_id=bill.pk,
                detail={"replacement": bill.replacement_id},
            )
            count += 1
    return count


def bill_locked_for_replacement(*, replacement_id: int) -> Bill | None:
    """The request's bill, locked for the caller's transaction (the first lock of a cancellation)."""
    return Bill.objects.select_for_update().filter(replacement_id=replacement_id).first()


def bill_cancel(*, replacement_id: int, actor: str, ip: str | None) -> Bill | None:
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
            ip=ip,
            action=AUDIT_BILL_CANCELLED,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail={"replacement": replacement_id},
        )
    return bill


def bill_refund_fine(*, replacement_id: int, actor: str, ip: str | None) -> Bill:
    """Pay back the fines of the request's paid bill through the gateway; the delivery fee is
    kept. Idempotent (a refunded bill is returned as it is); a bill with no fine stays `paid`.

    The gateway is called inside the transaction, with an idempotency key: if the database
    change then fails, a retry asks the gateway for the same refund, never a second one.
    Raises NotFound without a bill, ApplicationError `bill_not_refundable` for an unpaid one, and
    GatewayError when the gateway refuses or does not answer (nothing is changed then).
    """
    with transaction.atomic():
        bill = bill_locked_for_replacement(replacement_id=replacement_id)
        if bill is None:
            raise NotFound(errors.BILL_NOT_FOUND, _("This bill was not found."))
        if bill.state == BillState.REFUNDED:
            return bill
        if bill.state != BillState.PAID:
            raise ApplicationError(errors.BILL_NOT_REFUNDABLE, _("Only a paid bill can be refunded."))
        amount = bill.refundable_sar
        if amount <= 0:
            return bill
        refund_id = payment_gateway().refund(bill, amount)
        bill.state = BillState.REFUNDED
        bill.refunded_sar = amount
        bill.refunded_at = clock.now()
        bill.gateway_refund_id = refund_id[:64]
        bill.save(update_fields=["state", "refunded_sar", "refunded_at", "gateway_refund_id"])
        audit_record(
            actor=actor,
            ip=ip,
            action=AUDIT_BILL_REFUNDED,
            object_type=OBJECT_TYPE,
            object_id=bill.pk,
            detail={"refunded_sar": str(amount), "kept_sar": str(bill.amount_sar - amount)},
        )
    return bill
