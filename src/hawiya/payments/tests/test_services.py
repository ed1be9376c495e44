"""Bills: issue, the gateway's callbacks (replays, mismatches), expiry at 72 hours, refunds."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.calendars import format_dual_moment
from hawiya.core.errors import ApplicationError
from hawiya.notifications.models import InboxNotification, SmsMessage
from hawiya.payments import errors
from hawiya.payments.models import BILL_NUMBER_DIGITS, Bill, BillState, CallbackOutcome, PaymentCallback
from hawiya.payments.services import (
    CallbackRejected,
    bill_cancel,
    bill_issue,
    bill_refund_fine,
    bills_expire_due,
    payment_callback_apply,
)
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementEvent, ReplacementState

from .factories import callback_body, make_bill, make_replacement, signed

pytestmark = pytest.mark.django_db


def _apply(body: bytes, **kwargs):
    return payment_callback_apply(body=body, signature_header=signed(body), **kwargs)


def _state(bill: Bill) -> str:
    bill.refresh_from_db()
    return bill.state


def _replacement_state(bill: Bill) -> str:
    return Replacement.objects.get(pk=bill.replacement_id).state


def _sms(bill: Bill, template: str) -> list[SmsMessage]:
    return list(
        SmsMessage.objects.filter(template=template, subject_ref=f"replacement:{bill.replacement_id}")
    )


# --- Issue ------------------------------------------------------------------------------------------


def test_bill_copies_the_fee_lines_and_is_payable_for_72_hours() -> None:
    at = clock.now()
    bill = make_bill(at=at)
    assert len(bill.bill_number) == BILL_NUMBER_DIGITS
    assert bill.bill_number.isdigit()
    assert bill.amount_sar == Decimal(135)
    assert bill.refundable_sar == Decimal(100)
    assert [line["code"] for line in bill.lines] == ["id_card_loss_2", "delivery"]
    assert bill.state == BillState.ISSUED
    assert bill.expires_at - bill.issued_at == dt.timedelta(hours=72)
    assert bill.is_payable


def test_bill_numbers_are_random_digits_not_a_counter() -> None:
    numbers = [make_bill().bill_number for _ in range(4)]
    assert len(set(numbers)) == 4
    assert all(len(number) == 12 and number.isdigit() for number in numbers)
    ordered = sorted(int(number) for number in numbers)
    assert ordered != list(range(ordered[0], ordered[0] + 4))


def test_issuing_tells_the_applicant_the_bill_number_amount_and_deadline() -> None:
    bill = make_bill()
    [sms] = _sms(bill, "bill_issued")
    assert bill.bill_number in sms.body
    assert "135" in sms.body
    # The deadline in both calendars, Riyadh time (core.calendars.format_dual_moment).
    assert format_dual_moment(bill.expires_at, language="ar") in sms.body
    assert InboxNotification.objects.filter(template="bill_issued").count() == 1
    assert AuditEvent.objects.filter(action="bill.issued", object_id=str(bill.pk)).count() == 1


def test_issuing_twice_returns_the_same_bill() -> None:
    bill = make_bill()
    again = bill_issue(replacement_id=bill.replacement_id, actor=Actor.system("tests"))
    assert again.pk == bill.pk
    assert Bill.objects.count() == 1
    assert len(_sms(bill, "bill_issued")) == 1


def test_a_request_that_costs_nothing_gets_no_bill() -> None:
    free = make_replacement(method=ReceiveMethod.COLLECTION, fee_lines=[])
    with pytest.raises(ApplicationError) as caught:
        bill_issue(replacement_id=free.pk, actor=Actor.system("tests"))
    assert caught.value.code == errors.BILL_NOT_NEEDED


# --- Callbacks ------------------------------------------------------------------------------------


def test_paid_callback_pays_the_bill_and_moves_the_request_with_an_sms() -> None:
    bill = make_bill()
    callback = _apply(callback_body(bill, payment_id="pay_1"))
    assert callback.outcome == CallbackOutcome.APPLIED
    bill.refresh_from_db()
    assert bill.state == BillState.PAID
    assert bill.gateway_payment_id == "pay_1"
    assert bill.paid_at is not None
    assert _replacement_state(bill) == ReplacementState.PAID
    assert ReplacementEvent.objects.filter(replacement_id=bill.replacement_id, action="paid").count() == 1
    assert len(_sms(bill, "replacement_paid")) == 1
    assert AuditEvent.objects.filter(action="bill.paid").count() == 1


def test_the_same_event_twice_records_one_payment_and_one_timeline_entry() -> None:
    bill = make_bill()
    body = callback_body(bill)
    first = _apply(body)
    second = _apply(body)
    assert second.pk == first.pk
    assert PaymentCallback.objects.count() == 1
    assert ReplacementEvent.objects.filter(replacement_id=bill.replacement_id, action="paid").count() == 1
    assert len(_sms(bill, "replacement_paid")) == 1
    assert AuditEvent.objects.filter(action="bill.paid").count() == 1


def test_another_event_for_the_same_payment_changes_nothing() -> None:
    bill = make_bill()
    _apply(callback_body(bill, payment_id="pay_1"))
    later = _apply(callback_body(bill, payment_id="pay_1"))
    assert later.outcome == CallbackOutcome.ALREADY_PAID
    bill.refresh_from_db()
    assert not bill.refund_due
    assert ReplacementEvent.objects.filter(replacement_id=bill.replacement_id, action="paid").count() == 1


def test_a_second_payment_of_a_paid_bill_is_flagged_for_a_refund() -> None:
    bill = make_bill()
    _apply(callback_body(bill, payment_id="pay_1"))
    second = _apply(callback_body(bill, payment_id="pay_2"))
    assert second.outcome == CallbackOutcome.REFUND_DUE
    bill.refresh_from_db()
    assert bill.refund_due
    assert bill.gateway_payment_id == "pay_1"
    assert AuditEvent.objects.filter(action="payment.refund_due").count() == 1


def test_declined_callback_is_recorded_and_the_bill_stays_payable() -> None:
    bill = make_bill()
    callback = _apply(callback_body(bill, status="failed", payment_id=""))
    assert callback.outcome == CallbackOutcome.DECLINED
    assert _state(bill) == BillState.ISSUED
    assert _replacement_state(bill) == ReplacementState.AWAITING_PAYMENT
    assert AuditEvent.objects.filter(action="payment.declined").count() == 1
    _apply(callback_body(bill))
    assert _state(bill) == BillState.PAID


def test_wrong_amount_is_rejected_audited_and_changes_nothing() -> None:
    bill = make_bill()
    body = callback_body(bill, amount_sar="100.00")
    with pytest.raises(CallbackRejected) as caught:
        _apply(body)
    assert caught.value.code == errors.CALLBACK_AMOUNT_MISMATCH
    assert caught.value.status_code == 409
    assert _state(bill) == BillState.ISSUED
    assert _replacement_state(bill) == ReplacementState.AWAITING_PAYMENT
    event = AuditEvent.objects.get(action="payment.callback_rejected")
    assert event.detail["outcome"] == "amount_mismatch"
    assert event.detail["expected_sar"] == "135.00"
    assert event.detail["received_sar"] == "100.00"
    # A replay is refused the same way, and recorded once.
    with pytest.raises(CallbackRejected):
        _apply(body)
    assert PaymentCallback.objects.count() == 1
    assert AuditEvent.objects.filter(action="payment.callback_rejected").count() == 1


def test_a_paid_callback_with_the_wrong_amount_flags_the_bill_for_a_refund() -> None:
    bill = make_bill()
    with pytest.raises(CallbackRejected):
        _apply(callback_body(bill, amount_sar="100.00"))
    bill.refresh_from_db()
    # Money was taken at the gateway: finance sees it, the bill stays payable for the right amount.
    assert bill.refund_due
    assert bill.state == BillState.ISSUED
    assert AuditEvent.objects.get(action="payment.callback_rejected").detail["refund_due"] is True


def test_a_declined_callback_with_the_wrong_amount_flags_nothing() -> None:
    bill = make_bill()
    with pytest.raises(CallbackRejected):
        _apply(callback_body(bill, amount_sar="100.00", status="failed", payment_id=""))
    bill.refresh_from_db()
    assert not bill.refund_due


def test_unknown_bill_is_rejected_and_audited() -> None:
    with pytest.raises(CallbackRejected) as caught:
        _apply(callback_body(None, bill_number="999999999999"))
    assert caught.value.code == errors.CALLBACK_UNKNOWN_BILL
    assert caught.value.status_code == 404
    assert AuditEvent.objects.get(action="payment.callback_rejected").detail["outcome"] == "unknown_bill"


def test_bad_signature_is_rejected_and_writes_nothing() -> None:
    bill = make_bill()
    audited = AuditEvent.objects.count()
    body = callback_body(bill, event_id="evt_contested")
    with pytest.raises(CallbackRejected) as caught:
        payment_callback_apply(body=body, signature_header=signed(body, secret="forged"))
    assert caught.value.status_code == 401
    assert caught.value.code == errors.CALLBACK_SIGNATURE_INVALID
    assert caught.value.extra["reason"] == "mismatch"
    # Anyone can send these: no record, no audit event.
    assert not PaymentCallback.objects.exists()
    assert AuditEvent.objects.count() == audited
    assert _state(bill) == BillState.ISSUED
    # The genuine event with the same id still applies.
    assert _apply(body).outcome == CallbackOutcome.APPLIED


def test_the_same_event_id_with_another_body_is_refused_and_audited() -> None:
    bill = make_bill()
    other = make_bill()
    first = _apply(callback_body(bill, event_id="evt_reused"))
    reused = callback_body(other, event_id="evt_reused")
    with pytest.raises(CallbackRejected) as caught:
        _apply(reused)
    assert caught.value.code == errors.CALLBACK_EVENT_CONFLICT
    assert caught.value.status_code == 409
    assert caught.value.callback == first
    event = AuditEvent.objects.get(action="payment.callback_conflict")
    assert event.object_id == str(first.pk)
    assert event.detail["bill_number"] == other.bill_number
    assert event.detail["first_outcome"] == "applied"
    # The other bill's payment is not swallowed as a replay: it stays unpaid, nothing recorded.
    assert _state(other) == BillState.ISSUED
    assert PaymentCallback.objects.count() == 1


def test_the_same_event_serialised_differently_is_a_replay_not_a_conflict() -> None:
    bill = make_bill()
    fields = {
        "event_id": "evt_reserialised",
        "bill_number": bill.bill_number,
        "amount_sar": "135.00",
        "status": "paid",
        "payment_id": "pay_same",
    }
    first = _apply(json.dumps(fields).encode())
    reordered = json.dumps(dict(reversed(list(fields.items()))), indent=2).encode()
    assert _apply(reordered) == first
    assert PaymentCallback.objects.count() == 1
    assert not AuditEvent.objects.filter(action="payment.callback_conflict").exists()
    assert AuditEvent.objects.filter(action="bill.paid").count() == 1


def test_the_same_event_id_with_another_payment_id_is_refused() -> None:
    bill = make_bill()
    _apply(callback_body(bill, event_id="evt_pay", payment_id="pay_a"))
    with pytest.raises(CallbackRejected) as caught:
        _apply(callback_body(bill, event_id="evt_pay", payment_id="pay_b"))
    assert caught.value.code == errors.CALLBACK_EVENT_CONFLICT


def test_a_callback_stores_the_hash_of_its_body() -> None:
    import hashlib

    bill = make_bill()
    body = callback_body(bill)
    assert _apply(body).body_sha256 == hashlib.sha256(body).hexdigest()


def test_stale_signature_is_rejected() -> None:
    bill = make_bill()
    body = callback_body(bill)
    header = signed(body, at=clock.now() - dt.timedelta(minutes=10))
    with pytest.raises(CallbackRejected) as caught:
        payment_callback_apply(body=body, signature_header=header)
    assert caught.value.status_code == 401
    assert _state(bill) == BillState.ISSUED


GOOD = {"event_id": "evt_1", "bill_number": "1", "amount_sar": "1", "status": "paid", "payment_id": "p"}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"event_id": "evt_1"}',
        json.dumps({**GOOD, "event_id": "evt 1"}).encode(),
        json.dumps({**GOOD, "amount_sar": "NaN"}).encode(),
        json.dumps({**GOOD, "amount_sar": "1.001"}).encode(),
        json.dumps({**GOOD, "amount_sar": True}).encode(),
        json.dumps({**GOOD, "status": "refunded"}).encode(),
        json.dumps({key: value for key, value in GOOD.items() if key != "payment_id"}).encode(),
    ],
)
def test_malformed_signed_body_is_rejected(body: bytes) -> None:
    with pytest.raises(CallbackRejected) as caught:
        _apply(body)
    assert caught.value.status_code == 400
    assert caught.value.code == errors.CALLBACK_MALFORMED


@pytest.mark.parametrize("amount", [135, 135.0, "135", "135.0", "135.000", "1.35e2", " 135.00", "-135.00"])
def test_an_amount_not_written_as_text_with_two_decimals_is_refused(amount: object) -> None:
    bill = make_bill()
    with pytest.raises(CallbackRejected) as caught:
        _apply(callback_body(bill, amount_sar=amount))
    assert caught.value.status_code == 400
    assert caught.value.code == errors.CALLBACK_MALFORMED
    assert _state(bill) == BillState.ISSUED


def test_an_amount_as_text_with_two_decimals_is_taken_exactly() -> None:
    bill = make_bill()
    callback = _apply(callback_body(bill, amount_sar="135.00"))
    assert callback.outcome == CallbackOutcome.APPLIED
    assert callback.amount_sar == Decimal("135.00")


# --- Expiry -------------------------------------------------------------------------------------------


def test_bill_expires_at_72_hours_not_before_and_the_request_ends_with_an_sms() -> None:
    issued = clock.now() - dt.timedelta(hours=80)
    bill = make_bill(at=issued)
    assert bills_expire_due(now=issued + dt.timedelta(hours=71, minutes=59)) == 0
    assert _state(bill) == BillState.ISSUED
    assert _replacement_state(bill) == ReplacementState.AWAITING_PAYMENT
    assert _sms(bill, "replacement_expired") == []

    assert bills_expire_due(now=issued + dt.timedelta(hours=72, minutes=1)) == 1
    assert _state(bill) == BillState.EXPIRED
    assert _replacement_state(bill) == ReplacementState.EXPIRED
    assert len(_sms(bill, "replacement_expired")) == 1
    assert AuditEvent.objects.filter(action="bill.expired").count() == 1
    # Running again changes nothing.
    assert bills_expire_due(now=issued + dt.timedelta(hours=73)) == 0


def test_paid_bills_never_expire() -> None:
    issued = clock.now() - dt.timedelta(hours=71)
    bill = make_bill(at=issued)
    _apply(callback_body(bill))
    assert bills_expire_due(now=issued + dt.timedelta(hours=80)) == 0
    assert _state(bill) == BillState.PAID


def test_payment_after_expiry_is_recorded_and_flagged_for_a_refund() -> None:
    issued = clock.now() - dt.timedelta(hours=80)
    bill = make_bill(at=issued)
    bills_expire_due()
    callback = _apply(callback_body(bill))
    assert callback.outcome == CallbackOutcome.REFUND_DUE
    bill.refresh_from_db()
    assert bill.state == BillState.EXPIRED
    assert bill.refund_due
    assert _replacement_state(bill) == ReplacementState.EXPIRED
    assert AuditEvent.objects.get(action="payment.refund_due").detail["bill_state"] == "expired"


def test_payment_after_the_deadline_before_the_sweeper_ran_is_flagged_for_a_refund() -> None:
    bill = make_bill(at=clock.now() - dt.timedelta(hours=73))
    callback = _apply(callback_body(bill))
    assert callback.outcome == CallbackOutcome.REFUND_DUE
    bill.refresh_from_db()
    assert bill.state == BillState.ISSUED
    assert bill.refund_due
    assert _replacement_state(bill) == ReplacementState.AWAITING_PAYMENT
    assert bills_expire_due() == 1
    assert _replacement_state(bill) == ReplacementState.EXPIRED


def test_payment_for_a_request_no_longer_awaiting_payment_is_recorded_and_flagged() -> None:
    from hawiya.replacements.services import replacement_move

    bill = make_bill()
    # The request ended some other way while its bill was still open.
    replacement_move(
        replacement_id=bill.replacement_id,
        to=ReplacementState.CANCELLED,
        action="cancelled",
        actor=Actor.system("tests"),
    )
    callback = _apply(callback_body(bill))
    assert callback.outcome == CallbackOutcome.REFUND_DUE
    bill.refresh_from_db()
    assert bill.refund_due
    assert bill.state == BillState.ISSUED
    assert _replacement_state(bill) == ReplacementState.CANCELLED
    assert AuditEvent.objects.filter(action="payment.refund_due").count() == 1


def _broken_messages(monkeypatch) -> None:
    import hawiya.replacements.services as replacements_services
    from hawiya.notifications.errors import SmsTemplateError

    def broken(**kwargs: object) -> None:
        raise SmsTemplateError("sms_template_value_invalid", "amount: too long")

    monkeypatch.setattr(replacements_services, "notify", broken)


def test_a_message_that_cannot_be_written_does_not_undo_the_payment(monkeypatch) -> None:
    bill = make_bill()
    _broken_messages(monkeypatch)
    callback = _apply(callback_body(bill))
    assert callback.outcome == CallbackOutcome.APPLIED
    assert _state(bill) == BillState.PAID
    assert _replacement_state(bill) == ReplacementState.PAID
    assert AuditEvent.objects.filter(action="bill.paid").count() == 1


def test_an_sms_error_during_expiry_still_expires_the_bill_and_request_and_is_logged(
    monkeypatch, caplog
) -> None:
    issued = clock.now() - dt.timedelta(hours=73)
    stuck = make_bill(at=issued)
    later = make_bill(at=issued + dt.timedelta(minutes=1))
    _broken_messages(monkeypatch)
    with caplog.at_level("ERROR", logger="hawiya.payments.services"):
        assert bills_expire_due() == 2
    for bill in (stuck, later):
        assert _state(bill) == BillState.EXPIRED
        assert _replacement_state(bill) == ReplacementState.EXPIRED
    assert AuditEvent.objects.filter(action="bill.expired").count() == 2
    assert "replacement_expired" in caplog.text
    # Nothing is left to retry every minute.
    monkeypatch.undo()
    assert bills_expire_due() == 0


def test_the_expiry_command_runs_the_sweep(capsys) -> None:
    from django.core.management import call_command

    bill = make_bill(at=clock.now() - dt.timedelta(hours=73))
    call_command("bills_expire")
    assert "Expired 1 bill(s)." in capsys.readouterr().out
    assert _state(bill) == BillState.EXPIRED


# --- Cancel and refund -----------------------------------------------------------------------------


def test_refund_request_marks_the_bill_pending_and_hands_it_to_the_worker_after_commit(
    monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from django_tasks_db.models import DBTaskResult

    import hawiya.payments.services as services

    bill = make_bill()
    _apply(callback_body(bill))

    def no_gateway() -> None:
        raise AssertionError("the gateway is called by the worker, never in the transaction")

    monkeypatch.setattr(services, "payment_gateway", no_gateway)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pending = bill_refund_fine(replacement_id=bill.replacement_id, actor=Actor.system("tests"))
        assert not DBTaskResult.objects.exists()
    assert len(callbacks) == 1
    assert pending.state == BillState.REFUND_PENDING
    assert pending.refund_requested_sar == Decimal(100)
    assert pending.refunded_sar == 0
    [task] = DBTaskResult.objects.all()
    assert task.task_path == "hawiya.payments.tasks.refund_fine"
    assert task.args_kwargs == {"args": [bill.pk], "kwargs": {}}
    event = AuditEvent.objects.get(action="bill.refund_requested")
    assert event.detail == {
        "person_id": bill.replacement.applicant_id,
        "refund_sar": "100.00",
        "kept_sar": "35.00",
    }
    # Asking again changes nothing.
    again = bill_refund_fine(replacement_id=bill.replacement_id, actor=Actor.system("tests"))
    assert again.state == BillState.REFUND_PENDING
    assert AuditEvent.objects.filter(action="bill.refund_requested").count() == 1


def test_a_bill_of_only_the_delivery_fee_has_nothing_to_refund() -> None:
    bill = make_bill(fee_lines=[{"code": "delivery", "amount_sar": "35", "refundable": False}])
    _apply(callback_body(bill))
    kept = bill_refund_fine(replacement_id=bill.replacement_id, actor=Actor.system("tests"))
    assert kept.state == BillState.PAID
    assert kept.refunded_sar == 0


def test_an_unpaid_bill_cannot_be_refunded_but_can_be_cancelled() -> None:
    bill = make_bill()
    with pytest.raises(ApplicationError) as caught:
        bill_refund_fine(replacement_id=bill.replacement_id, actor=Actor.system("tests"))
    assert caught.value.code == errors.BILL_NOT_REFUNDABLE
    cancelled = bill_cancel(replacement_id=bill.replacement_id, actor=Actor.system("tests"))
    assert cancelled is not None
    assert cancelled.state == BillState.CANCELLED
    assert not cancelled.is_payable
