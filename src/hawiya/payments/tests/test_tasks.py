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
from hawiya.core.fakepartner import FakePartner, Reply
from hawiya.payments import tasks
from hawiya.payments.models import Bill, BillState
from hawiya.payments.services import (
    REFUND_HANDOVER_GRACE,
    bill_refund_fine,
    payment_callback_apply,
    refunds_retry_due,
)

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


def _overdue(bill: Bill) -> None:
    # Due for longer than the sweeper's grace: no task has claimed it.
    Bill.objects.filter(pk=bill.pk).update(
        refund_next_attempt_at=clock.now() - REFUND_HANDOVER_GRACE - dt.timedelta(seconds=1)
    )


@pytest.fixture
def http_gateway(settings):
    with FakePartner() as server:
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


def test_a_gateway_outage_is_retried_with_backoff_then_left_unknown_not_failed(
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
    # An outage may hide a refund the gateway made: never "failed", which finance pays by hand.
    assert tasks.refund_fine.call(bill.pk) == "refund_unknown"
    bill.refresh_from_db()
    assert bill.state == BillState.REFUND_UNKNOWN
    assert bill.refunded_sar == 0
    assert bill.refund_error == "gateway_unavailable_503"
    assert len(http_gateway.received) == tasks.MAX_ATTEMPTS
    event = AuditEvent.objects.get(action="bill.refund_unknown")
    assert event.detail["attempts"] == tasks.MAX_ATTEMPTS
    assert not AuditEvent.objects.filter(action="bill.refund_failed").exists()
    # Every try carried the same key: the gateway can never pay twice.
    assert {request.headers["Idempotency-Key"] for request in http_gateway.received} == {
        f"refund-{bill.bill_number}"
    }


def test_a_worker_lost_during_the_last_attempt_leaves_the_refund_unknown(monkeypatch) -> None:
    bill = _pending_refund()
    Bill.objects.filter(pk=bill.pk).update(refund_attempts=tasks.MAX_ATTEMPTS)
    _due_now(bill)  # the lease of the worker that died has run out

    def no_gateway() -> None:
        raise AssertionError("no attempt is left")

    monkeypatch.setattr(tasks, "payment_gateway", no_gateway)
    assert tasks.refund_fine.call(bill.pk) == "skipped"
    bill.refresh_from_db()
    assert bill.state == BillState.REFUND_UNKNOWN
    assert bill.refund_error == "attempts_exhausted"
    assert AuditEvent.objects.get(action="bill.refund_unknown").detail["reason"] == "attempts_exhausted"


@pytest.mark.parametrize(
    ("status", "reason"),
    [(401, "gateway_credentials_401"), (403, "gateway_credentials_403"), (409, "gateway_in_flight_409")],
)
def test_refused_credentials_or_a_key_still_in_flight_are_retried_not_failed(
    http_gateway, django_capture_on_commit_callbacks, status, reason
) -> None:
    bill = _pending_refund()
    http_gateway.answer(Reply(status))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.refund_fine.call(bill.pk) == "refund_pending"
    bill.refresh_from_db()
    assert bill.state == BillState.REFUND_PENDING
    assert bill.refund_error == reason
    assert bill.refund_attempts == 1


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
    _overdue(lost)
    assert refunds_retry_due(now=clock.now()) == 1
    [task] = DBTaskResult.objects.all()
    assert task.args_kwargs == {"args": [lost.pk], "kwargs": {}}
    assert tasks.refund_fine.call(lost.pk) == "refunded"
    _overdue(lost)
    assert refunds_retry_due(now=clock.now()) == 0


def test_the_sweeper_leaves_a_fresh_refund_to_the_task_handed_over_with_it() -> None:
    from django_tasks_db.models import DBTaskResult

    bill = _pending_refund()
    # The next run_periodic minute: the task handed over at commit has not run yet.
    assert refunds_retry_due(now=clock.now() + dt.timedelta(minutes=1)) == 0
    assert not DBTaskResult.objects.exists()
    # The task handed over at commit still runs at once.
    assert tasks.refund_fine.call(bill.pk) == "refunded"


def test_while_the_worker_is_down_the_sweeper_hands_a_refund_over_once_per_grace_period() -> None:
    from django_tasks_db.models import DBTaskResult

    bill = _pending_refund()
    _overdue(bill)
    assert refunds_retry_due() == 1
    # run_periodic calls it every minute; the worker has not picked the task up yet.
    assert refunds_retry_due(now=clock.now() + dt.timedelta(minutes=1)) == 0
    assert DBTaskResult.objects.count() == 1
    _overdue(bill)  # a grace period later, still unclaimed
    assert refunds_retry_due() == 1
    assert DBTaskResult.objects.count() == 2
    # The task handed over by the sweeper still runs.
    assert tasks.refund_fine.call(bill.pk) == "refunded"


@pytest.mark.parametrize("given_up", [BillState.REFUND_FAILED, BillState.REFUND_UNKNOWN])
def test_a_refund_the_worker_made_is_recorded_even_if_the_bill_was_given_up_on(monkeypatch, given_up) -> None:
    bill = _pending_refund()

    class GivenUpMeanwhile:
        def refund(self, bill: Bill, amount_sar: Decimal) -> str:
            Bill.objects.filter(pk=bill.pk).update(state=given_up)
            return "rf_late"

    monkeypatch.setattr(tasks, "payment_gateway", GivenUpMeanwhile)
    assert tasks.refund_fine.call(bill.pk) == "refunded"
    bill.refresh_from_db()
    assert bill.state == BillState.REFUNDED
    assert bill.gateway_refund_id == "rf_late"


def test_the_admin_lists_the_refund_error_and_attempts_and_filters_unknown_refunds() -> None:
    from django.contrib import admin

    bill_admin = admin.site._registry[Bill]
    assert {"refund_error", "refund_attempts"} <= set(bill_admin.list_display)
    assert "state" in bill_admin.list_filter
    assert "refund-<bill number>" in str(Bill._meta.get_field("state").help_text)
