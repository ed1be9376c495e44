"""The refund worker: it asks the gateway outside any transaction, with the bill's idempotency
key, retries an outage with backoff, marks a refund it cannot make as failed, and the sweeper
hands over refunds whose hand-over was lost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.notifications.tests.conftest import Operator, Reply
from hawiya.payments import tasks
from hawiya.payments.models import Bill, BillState
from hawiya.payments.services import bill_refund_fine, payment_callback_apply, refunds_retry_due

from .factories import IP, callback_body, make_bill, signed

pytestmark = pytest.mark.django_db


def _pending_refund(**overrides: Any) -> Bill:
    bill = make_bill(**overrides)
    body = callback_body(bill, payment_id="pay_1")
    payment_callback_apply(body=body, signature_header=signed(body))
    return bill_refund_fine(replacement_id=bill.replacement_id, actor="system", ip=IP)


def _due_now(bill: Bill) -> None:
    # The backoff has run out (as if the clock had moved on).
    Bill.objects.filter(pk=bill.pk).update(refund_next_attempt_at=clock.now() - dt.timedelta(seconds=1))


@pytest.fixture
def http_gateway(settings):
    with Operator() as server:
        settings.HAWIYA_PAYMENT_GATEWAY = "http"
        settings.HAWIYA_PAYMENT_GATEWAY_URL = server.url
        settings.HAWIYA_PAYMENT_API_KEY = "k"
        settings.HAWIYA_PAYMENT_GATEWAY_TIMEOUT = 0.5
        yield server


def test_the_task_refunds_the_fine_and_keeps_the_delivery_fee(http_gateway) -> None:
    bill = _pending_refund()
    http_gateway.answer(Reply(200, b'{"id": "rf_1"}'))
    assert tasks.refund_fine.call(bill.pk) == "refunded"
    bill.refresh_from_db()
    assert bill.state == BillState.REFUNDED
    assert bill.refunded_sar == Decimal(100)
    assert bill.amount_sar - bill.refunded_sar == Decimal(35)
    assert bill.gateway_refund_id == "rf_1"
    [request] = http_gateway.received
    assert request.path == "/refunds"
    assert request.payload["amount_sar"] == "100.00"  # never the delivery fee
    assert request.headers["Idempotency-Key"] == f"refund-{bill.bill_number}"
    event = AuditEvent.objects.get(action="bill.refunded")
    assert event.detail == {"refunded_sar": "100.00", "kept_sar": "35.00"}
    # Running it again asks the gateway nothing.
    assert tasks.refund_fine.call(bill.pk) == "skipped"
    assert len(http_gateway.received) == 1
    assert AuditEvent.objects.filter(action="bill.refunded").count() == 1


def test_the_gateway_is_called_outside_any_transaction(monkeypatch) -> None:
    bill = _pending_refund()
    seen: list[bool] = []
    outside = len(connection.atomic_blocks)  # pytest-django's own blocks around the test

    class Recording:
        def refund(self, bill: Bill, amount_sar: Decimal) -> str:
            seen.append(len(connection.atomic_blocks) == outside)
            return "rf_2"

    monkeypatch.setattr(tasks, "payment_gateway", Recording)
    assert tasks.refund_fine.call(bill.pk) == "refunded"
    assert seen == [True]


def test_a_gateway_outage_is_retried_with_backoff_then_marked_failed(
    http_gateway, django_capture_on_commit_callbacks
) -> None:
    from django_tasks_db.models import DBTaskResult

    bill = _pending_refund()
    for attempt in range(1, tasks.MAX_ATTEMPTS):
        http_gateway.answer(Reply(503))
        before = clock.now()
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.refund_fine.call(bill.pk) == "refund_pending"
        bill.refresh_from_db()
        assert bill.refund_attempts == attempt
        assert bill.refund_error == "gateway_unavailable_503"
        assert bill.refund_next_attempt_at is not None
        assert bill.refund_next_attempt_at >= before + tasks.backoff(attempt)
        # A duplicate task ahead of the backoff does nothing.
        assert tasks.refund_fine.call(bill.pk) == "skipped"
        _due_now(bill)
    assert (
        DBTaskResult.objects.filter(task_path="hawiya.payments.tasks.refund_fine").count()
        == tasks.MAX_ATTEMPTS - 1
    )
    http_gateway.answer(Reply(503))
    assert tasks.refund_fine.call(bill.pk) == "refund_failed"
    bill.refresh_from_db()
    assert bill.state == BillState.REFUND_FAILED
    assert bill.refunded_sar == 0
    assert len(http_gateway.received) == tasks.MAX_ATTEMPTS
    event = AuditEvent.objects.get(action="bill.refund_failed")
    assert event.detail["attempts"] == tasks.MAX_ATTEMPTS
    # Every try carried the same key: the gateway can never pay twice.
    assert {request.headers["Idempotency-Key"] for request in http_gateway.received} == {
        f"refund-{bill.bill_number}"
    }


def test_a_refund_the_gateway_refuses_is_marked_failed_at_once(http_gateway) -> None:
    bill = _pending_refund()
    http_gateway.answer(Reply(400, b'{"error": "bad"}'))
    assert tasks.refund_fine.call(bill.pk) == "refund_failed"
    bill.refresh_from_db()
    assert bill.state == BillState.REFUND_FAILED
    assert bill.refund_error == "gateway_refused_400"


def test_the_sweeper_hands_over_due_refunds_only(django_capture_on_commit_callbacks) -> None:
    from django_tasks_db.models import DBTaskResult

    lost = _pending_refund()  # its hand-over after commit never ran (captured, not executed)
    waiting = _pending_refund()
    Bill.objects.filter(pk=waiting.pk).update(refund_next_attempt_at=clock.now() + dt.timedelta(minutes=5))
    assert refunds_retry_due(now=clock.now()) == 1
    [task] = DBTaskResult.objects.all()
    assert task.args_kwargs == {"args": [lost.pk], "kwargs": {}}
    assert tasks.refund_fine.call(lost.pk) == "refunded"
    assert refunds_retry_due(now=clock.now()) == 0


def test_a_refund_the_worker_made_is_recorded_even_if_the_bill_was_given_up_on(monkeypatch) -> None:
    bill = _pending_refund()

    class GivenUpMeanwhile:
        def refund(self, bill: Bill, amount_sar: Decimal) -> str:
            Bill.objects.filter(pk=bill.pk).update(state=BillState.REFUND_FAILED)
            return "rf_late"

    monkeypatch.setattr(tasks, "payment_gateway", GivenUpMeanwhile)
    assert tasks.refund_fine.call(bill.pk) == "refunded"
    bill.refresh_from_db()
    assert bill.state == BillState.REFUNDED
    assert bill.gateway_refund_id == "rf_late"
