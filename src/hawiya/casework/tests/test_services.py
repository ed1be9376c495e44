"""Steps across payments, appointments and the request: apply (submit + bill) and cancel
(release the appointment, close or refund the bill, end the request), each in one transaction."""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from decimal import Decimal
from typing import Any

import pytest

from hawiya.appointments.models import Appointment, AppointmentState, Slot, Weekday
from hawiya.appointments.tests.factories import at_riyadh, book, make_bookable_office, next_weekday
from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.casework.services import replacement_apply, replacement_cancel
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity.tests.factories import applicant_actor, make_citizen
from hawiya.notifications.models import SmsMessage
from hawiya.payments.models import Bill, BillState
from hawiya.payments.services import payment_callback_apply
from hawiya.payments.tasks import refund_fine
from hawiya.payments.tests.factories import IP, SECRET, callback_body, make_bill, signed
from hawiya.replacements import errors as replacement_errors
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementEvent, ReplacementState
from hawiya.replacements.services import replacement_move
from hawiya.replacements.tests.factories import applicant_with_address, lost_id_card

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = SECRET
    settings.HAWIYA_SMS_CLIENT = "demo"


def _apply(person, document, *, key: str | None = None, **overrides: Any) -> Replacement:
    values: dict[str, Any] = {
        "applicant": person,
        "document_id": document.pk,
        "method": "collection",
        "photo": None,
        "white_background_declared": False,
        "address_confirmed": True,
        "mobile_confirmed": True,
        "idempotency_key": key or uuid.uuid4().hex,
        "actor": applicant_actor(person.pk, ip=IP),
    }
    values.update(overrides)
    return replacement_apply(**values)


def _pay(bill: Bill) -> None:
    body = callback_body(bill)
    payment_callback_apply(body=body, signature_header=signed(body))


def _templates(replacement: Replacement) -> list[str]:
    return list(
        SmsMessage.objects.filter(subject_ref=f"replacement:{replacement.pk}")
        .order_by("queued_at", "id")
        .values_list("template", flat=True)
    )


# --- Apply ---------------------------------------------------------------------------------------------


def test_apply_with_a_fee_submits_and_issues_the_bill() -> None:
    person = applicant_with_address()
    replacement = _apply(person, lost_id_card(holder=person, losses=2))
    assert replacement.state == ReplacementState.AWAITING_PAYMENT
    bill = Bill.objects.get(replacement=replacement)
    assert bill.amount_sar == Decimal(100) == replacement.total_sar
    assert bill.state == BillState.ISSUED
    assert _templates(replacement) == ["replacement_submitted", "bill_issued"]


def test_apply_again_with_the_same_key_returns_the_same_request_and_bill() -> None:
    person = applicant_with_address()
    document = lost_id_card(holder=person, losses=2)
    key = uuid.uuid4().hex
    first = _apply(person, document, key=key)
    again = _apply(person, document, key=key)
    assert again.pk == first.pk
    assert Bill.objects.filter(replacement=first).count() == 1
    assert Replacement.objects.count() == 1


def test_a_free_request_goes_straight_to_paid_without_a_bill() -> None:
    person = applicant_with_address()
    replacement = _apply(person, lost_id_card(holder=person, losses=1))
    assert replacement.total_sar == 0
    assert replacement.state == ReplacementState.PAID
    assert not Bill.objects.exists()
    actions = list(ReplacementEvent.objects.filter(replacement=replacement).values_list("action", flat=True))
    assert actions == ["submitted", "no_fee"]


def test_a_free_request_is_never_told_to_pay() -> None:
    person = applicant_with_address()
    replacement = _apply(person, lost_id_card(holder=person, losses=1))
    messages = list(SmsMessage.objects.filter(to=person.mobile))
    assert [message.template for message in messages] == ["replacement_submitted_no_fee"]
    body = messages[0].body
    assert "لا رسوم" in body or "nothing to pay" in body
    assert "ادفع" not in body
    assert "Pay" not in body
    assert replacement.reference in body


def test_a_request_with_a_fee_is_told_to_pay() -> None:
    person = applicant_with_address()
    _apply(person, lost_id_card(holder=person, losses=2))
    assert SmsMessage.objects.filter(to=person.mobile, template="replacement_submitted").exists()
    assert not SmsMessage.objects.filter(template="replacement_submitted_no_fee").exists()


def test_a_request_never_exists_without_its_bill(monkeypatch) -> None:
    import hawiya.casework.services as casework

    def broken(**kwargs: Any) -> Bill:
        raise ApplicationError("boom", "the bill could not be issued")

    monkeypatch.setattr(casework, "bill_issue", broken)
    person = applicant_with_address()
    with pytest.raises(ApplicationError):
        _apply(person, lost_id_card(holder=person, losses=2))
    assert not Replacement.objects.exists()
    assert not SmsMessage.objects.filter(template="replacement_submitted").exists()


# --- Cancel --------------------------------------------------------------------------------------------


def _cancel(replacement: Replacement, **overrides: Any) -> Replacement:
    values: dict[str, Any] = {
        "replacement_id": replacement.pk,
        "applicant": replacement.applicant,
        "reason": "I found the card",
        "actor": applicant_actor(replacement.applicant_id, ip=IP),
    }
    values.update(overrides)
    return replacement_cancel(**values)


def test_cancel_before_payment_closes_the_bill_and_tells_the_person() -> None:
    bill = make_bill()
    replacement = _cancel(bill.replacement)
    assert replacement.state == ReplacementState.CANCELLED
    assert replacement.end_reason == "I found the card"
    bill.refresh_from_db()
    assert bill.state == BillState.CANCELLED
    assert _templates(replacement)[-1] == "replacement_cancelled"


def test_cancel_after_payment_commits_with_the_refund_pending_and_no_gateway_call(
    monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from django_tasks_db.models import DBTaskResult

    import hawiya.payments.gateways as gateways

    bill = make_bill(method=ReceiveMethod.DELIVERY)
    _pay(bill)
    calls: list[str] = []
    real = gateways.DemoGateway.refund

    def recorded(self: gateways.DemoGateway, bill: Bill, amount_sar: Decimal) -> str:
        calls.append(str(amount_sar))
        return real(self, bill, amount_sar)

    monkeypatch.setattr(gateways.DemoGateway, "refund", recorded)
    with django_capture_on_commit_callbacks(execute=True):
        replacement = _cancel(bill.replacement)
        assert calls == []  # nothing asked of the gateway inside the transaction
    assert calls == []  # after commit the worker is handed the refund, no more
    assert replacement.state == ReplacementState.CANCELLED
    bill.refresh_from_db()
    assert bill.state == BillState.REFUND_PENDING
    assert bill.refund_requested_sar == Decimal(100)
    [task] = DBTaskResult.objects.filter(task_path="hawiya.payments.tasks.refund_fine")
    assert task.args_kwargs == {"args": [bill.pk], "kwargs": {}}
    [sms] = SmsMessage.objects.filter(template="replacement_cancelled_refund")
    assert "100" in sms.body
    event = ReplacementEvent.objects.get(replacement=replacement, action="cancelled")
    assert event.detail["refunded_sar"] == "100.00"

    # The worker then refunds the fine, never the delivery fee.
    assert refund_fine.call(bill.pk) == "refunded"
    assert calls == ["100.00"]
    bill.refresh_from_db()
    assert bill.state == BillState.REFUNDED
    assert bill.refunded_sar == Decimal(100)
    assert bill.amount_sar - bill.refunded_sar == Decimal(35)


def test_cancel_with_an_appointment_frees_its_place() -> None:
    bill = make_bill(method=ReceiveMethod.COLLECTION)
    _pay(bill)
    office = make_bookable_office()
    slot_time = at_riyadh(next_weekday(clock.today() + dt.timedelta(days=7), Weekday.TUESDAY), 10)
    appointment = book(Replacement.objects.get(pk=bill.replacement_id), office, slot_time)
    assert Slot.objects.get(pk=appointment.slot_id).booked == 1
    replacement = _cancel(bill.replacement)
    assert replacement.state == ReplacementState.CANCELLED
    assert Appointment.objects.get(pk=appointment.pk).state == AppointmentState.CANCELLED
    assert Slot.objects.get(pk=appointment.slot_id).booked == 0


def test_only_the_applicant_can_cancel() -> None:
    bill = make_bill()
    with pytest.raises(NotFound):
        _cancel(bill.replacement, applicant=make_citizen())
    assert Replacement.objects.get(pk=bill.replacement_id).state == ReplacementState.AWAITING_PAYMENT


def test_a_request_in_processing_cannot_be_cancelled() -> None:
    bill = make_bill(method=ReceiveMethod.DELIVERY)
    _pay(bill)
    replacement_move(
        replacement_id=bill.replacement_id,
        to=ReplacementState.APPROVED,
        action="approved",
        actor=Actor.system("tests"),
    )
    with pytest.raises(ApplicationError) as caught:
        _cancel(bill.replacement)
    assert caught.value.code == replacement_errors.REPLACEMENT_STATE_CONFLICT
    bill.refresh_from_db()
    assert bill.state == BillState.PAID


def test_a_gateway_that_is_down_does_not_hold_back_the_cancellation(settings) -> None:
    bill = make_bill(method=ReceiveMethod.DELIVERY)
    _pay(bill)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.HAWIYA_PAYMENT_GATEWAY = "http"
    settings.HAWIYA_PAYMENT_GATEWAY_URL = f"http://127.0.0.1:{port}"
    settings.HAWIYA_PAYMENT_API_KEY = "k"
    settings.HAWIYA_PAYMENT_GATEWAY_TIMEOUT = 0.5
    assert _cancel(bill.replacement).state == ReplacementState.CANCELLED
    bill.refresh_from_db()
    assert bill.state == BillState.REFUND_PENDING
    # The worker's try fails and is scheduled again; the request stays cancelled.
    assert refund_fine.call(bill.pk) == "refund_pending"
    bill.refresh_from_db()
    assert bill.refund_error == "gateway_unreachable"
    assert Replacement.objects.get(pk=bill.replacement_id).state == ReplacementState.CANCELLED


def test_the_citizens_steps_are_audited_with_the_citizen_role() -> None:
    person = applicant_with_address()
    replacement = _apply(person, lost_id_card(holder=person, losses=2))
    bill = Bill.objects.get(replacement=replacement)
    _cancel(replacement)
    issued = AuditEvent.objects.get(action="bill.issued", object_id=str(bill.pk))
    cancelled = AuditEvent.objects.get(action="bill.cancelled", object_id=str(bill.pk))
    moved = AuditEvent.objects.get(
        action="replacement.moved", object_id=str(replacement.pk), detail__to="cancelled"
    )
    assert [issued.actor_role, cancelled.actor_role, moved.actor_role] == ["citizen"] * 3
    paid = make_bill(method=ReceiveMethod.DELIVERY)
    _pay(paid)
    _cancel(paid.replacement)
    assert AuditEvent.objects.get(action="bill.refund_requested").actor_role == "citizen"


def test_a_free_request_moves_to_paid_with_the_citizen_role() -> None:
    person = applicant_with_address()
    replacement = _apply(person, lost_id_card(holder=person, losses=1))
    moved = AuditEvent.objects.get(action="replacement.moved", object_id=str(replacement.pk))
    assert moved.actor_role == "citizen"
