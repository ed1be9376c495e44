"""Sending through the outbox: after commit, by the real task worker, with bounded retries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult, get_date_max

from hawiya.core import clock
from hawiya.notifications import tasks
from hawiya.notifications.clients import sms_client as real_client
from hawiya.notifications.models import SmsMessage
from hawiya.notifications.services import sms_mark_delivered, sms_requeue_stalled

from .conftest import TOKEN, Operator, Reply, fast_forward, pending_tasks, run_worker
from .factories import MOBILE, queue_notice, queue_sms

pytestmark = pytest.mark.django_db(transaction=True)

Status = SmsMessage.Status


def _reload(message: SmsMessage) -> SmsMessage:
    return SmsMessage.objects.get(pk=message.pk)


def test_rolled_back_change_sends_nothing_and_leaves_no_row(use_operator: Operator) -> None:
    class Abandoned(Exception):
        pass

    def change_that_fails() -> None:
        with transaction.atomic():
            queue_sms()
            raise Abandoned

    with pytest.raises(Abandoned):
        change_that_fails()
    run_worker()
    assert SmsMessage.objects.count() == 0
    assert DBTaskResult.objects.count() == 0
    assert use_operator.received == []


def test_nothing_is_enqueued_before_commit(use_operator: Operator) -> None:
    with transaction.atomic():
        message = queue_sms()
        assert DBTaskResult.objects.count() == 0
        assert message.status == Status.QUEUED
    assert DBTaskResult.objects.count() == 1


def test_worker_sends_after_commit_and_marks_sent(use_operator: Operator) -> None:
    use_operator.answer(Reply(200, b'{"id": "op-1"}'))
    message = queue_sms(subject_ref="acct:7f3a")
    run_worker()
    message = _reload(message)
    assert message.status == Status.SENT
    assert message.operator_message_id == "op-1"
    assert message.attempts == 1
    assert message.sent_at is not None
    assert message.next_attempt_at is None
    [request] = use_operator.received
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.payload["to"] == MOBILE
    assert request.payload["reference"] == str(message.reference)
    assert request.payload["body"].startswith("هوية: رمز تسجيل الدخول: \u2066482913\u2069")
    assert request.payload["sender"] == "Hawiya"
    # The operator has the code; our copy of it is gone.
    assert message.body == ""
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_non_secret_body_is_kept_after_sending(use_operator: Operator) -> None:
    message = queue_notice()
    run_worker()
    message = _reload(message)
    assert message.status == Status.SENT
    assert "password was changed" in message.body


def test_demo_client_keeps_the_code_for_the_demo_inbox(use_demo_client: None) -> None:
    message = queue_sms()
    run_worker()
    message = _reload(message)
    assert message.status == Status.SENT
    assert message.operator_message_id == f"demo-{message.reference}"
    assert "482913" in message.body


def test_rejection_fails_at_once_without_retry_and_keeps_the_row(use_operator: Operator) -> None:
    use_operator.answer(Reply(400, b'{"error": "bad number"}'))
    message = queue_notice()
    run_worker()
    message = _reload(message)
    assert message.status == Status.FAILED
    assert message.last_error_code == "operator_rejected_400"
    assert message.attempts == 1
    assert message.failed_at is not None
    assert pending_tasks() == []
    fast_forward()
    run_worker()
    assert len(use_operator.received) == 1


def test_outage_is_retried_with_backoff_then_sent(use_operator: Operator) -> None:
    use_operator.answer(Reply(503), Reply(503), Reply(200, b'{"id": "op-late"}'))
    before = clock.now()
    message = queue_sms()
    run_worker()

    message = _reload(message)
    assert message.status == Status.QUEUED
    assert message.attempts == 1
    assert message.last_error_code == "operator_unavailable_503"
    assert message.next_attempt_at is not None
    assert message.next_attempt_at >= before + dt.timedelta(seconds=10)
    [retry] = pending_tasks()
    assert retry.run_after == message.next_attempt_at
    assert retry.run_after < get_date_max()
    assert retry.args_kwargs == {"args": [message.pk], "kwargs": {}}

    run_worker()  # the retry is not due yet: nothing happens
    assert len(use_operator.received) == 1

    fast_forward()
    run_worker()
    message = _reload(message)
    assert message.attempts == 2
    assert message.next_attempt_at is not None
    assert message.last_attempt_at is not None
    second_wait = message.next_attempt_at - message.last_attempt_at
    assert dt.timedelta(seconds=30) <= second_wait < dt.timedelta(seconds=31)

    fast_forward()
    run_worker()
    message = _reload(message)
    assert message.status == Status.SENT
    assert message.operator_message_id == "op-late"
    assert message.attempts == 3
    references = {request.payload["reference"] for request in use_operator.received}
    assert references == {str(message.reference)}, "every retry carries the same client reference"


def test_five_temporary_failures_mark_the_message_failed(use_operator: Operator) -> None:
    use_operator.answer(*[Reply(500)] * 10)
    message = queue_notice()
    for _ in range(tasks.MAX_ATTEMPTS):
        run_worker()
        fast_forward()
    message = _reload(message)
    assert message.status == Status.FAILED
    assert message.attempts == tasks.MAX_ATTEMPTS
    assert message.last_error_code == "operator_unavailable_500"
    assert pending_tasks() == []
    run_worker()
    assert len(use_operator.received) == tasks.MAX_ATTEMPTS


def test_timeout_is_a_temporary_failure(use_operator: Operator) -> None:
    use_operator.answer(Reply(200, delay=5))
    message = queue_notice()
    run_worker()
    message = _reload(message)
    assert message.status == Status.QUEUED
    assert message.last_error_code == "operator_timeout"
    assert len(pending_tasks()) == 1


def test_connection_refused_is_a_temporary_failure(
    settings, use_demo_client: None, refused_port: int
) -> None:
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = f"http://127.0.0.1:{refused_port}"
    settings.SMS_OPERATOR_TOKEN = TOKEN
    message = queue_notice()
    run_worker()
    message = _reload(message)
    assert message.status == Status.QUEUED
    assert message.last_error_code == "operator_unreachable"
    assert message.attempts == 1


def test_running_the_task_again_for_a_sent_message_does_not_call_the_operator(use_operator: Operator) -> None:
    message = queue_notice()
    run_worker()
    assert len(use_operator.received) == 1
    tasks.deliver_sms.enqueue(message.pk)
    run_worker()
    assert tasks.deliver_sms.call(message.pk) == "skipped"
    assert len(use_operator.received) == 1
    assert _reload(message).attempts == 1


def test_duplicate_task_ahead_of_the_backoff_waits_for_it(use_operator: Operator) -> None:
    use_operator.answer(Reply(503))
    message = queue_notice()
    run_worker()
    assert tasks.deliver_sms.call(message.pk) == "skipped"
    assert len(use_operator.received) == 1


def test_expired_message_is_failed_instead_of_sent_late(use_operator: Operator) -> None:
    message = queue_sms(expires_at=clock.now() - dt.timedelta(seconds=1))
    run_worker()
    message = _reload(message)
    assert message.status == Status.FAILED
    assert message.last_error_code == "expired_before_send"
    assert use_operator.received == []


def test_no_retry_is_scheduled_after_the_message_expires(use_operator: Operator) -> None:
    use_operator.answer(Reply(503))
    message = queue_sms(expires_at=clock.now() + dt.timedelta(seconds=5))
    run_worker()
    message = _reload(message)
    assert message.status == Status.FAILED
    assert message.last_error_code == "operator_unavailable_503"
    assert pending_tasks() == []


def test_crash_after_the_operator_accepted_is_resent_once_with_the_same_reference(
    use_operator: Operator, monkeypatch
) -> None:
    """Kill the worker between the operator's answer and recording it: a duplicate, never a loss."""
    message = queue_notice()

    def crash(*args: object, **kwargs: object) -> str:
        raise SystemExit("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(tasks, "_record_sent", crash)
        run_worker()
    message = _reload(message)
    assert message.status == Status.SENDING
    assert len(use_operator.received) == 1

    assert sms_requeue_stalled() == 0, "the lease has not run out yet"
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=clock.now() - dt.timedelta(minutes=5))
    assert sms_requeue_stalled() == 1
    run_worker()
    message = _reload(message)
    assert message.status == Status.SENT
    assert message.attempts == 2
    first, second = use_operator.received
    assert first.payload["reference"] == second.payload["reference"] == str(message.reference)


def test_lost_hand_over_is_recovered_by_the_sweeper(use_operator: Operator) -> None:
    message = queue_notice()
    DBTaskResult.objects.all().delete()  # as if the process died between commit and enqueue
    assert sms_requeue_stalled() == 0
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=clock.now() - dt.timedelta(minutes=3))
    assert sms_requeue_stalled() == 1
    assert sms_requeue_stalled() == 0, "a re-queued message is not re-queued again at once"
    run_worker()
    assert _reload(message).status == Status.SENT


def test_receipt_during_sending_is_not_overwritten(use_operator: Operator, monkeypatch) -> None:
    message = queue_notice()

    class ReceiptArrivesFirst:
        keeps_secret_bodies = False

        def send(self, *, to: str, body: str, reference: str):
            result = real_client().send(to=to, body=body, reference=reference)
            sms_mark_delivered(reference=reference, operator_message_id=result.operator_message_id)
            return result

    monkeypatch.setattr(tasks, "sms_client", ReceiptArrivesFirst)
    run_worker()
    message = _reload(message)
    assert message.status == Status.DELIVERED
    assert message.operator_message_id == "op-1"


def test_missing_message_is_skipped() -> None:
    assert tasks.deliver_sms.call(987654) == "skipped"


def test_backoff_grows_threefold() -> None:
    waits = [tasks.backoff(attempt).total_seconds() for attempt in range(1, 5)]
    assert waits == [10, 30, 90, 270]
