"""sms_send's checks, delivery receipts, the holder's status and the demo outbox."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.notifications import errors
from hawiya.notifications.errors import SmsRecipientInvalid, SmsTemplateError
from hawiya.notifications.models import SmsMessage
from hawiya.notifications.selectors import sms_outbox_recent, sms_status_for_holder
from hawiya.notifications.services import sms_mark_delivered, sms_requeue_stalled

from .factories import queue_notice, queue_sms

pytestmark = pytest.mark.django_db

Status = SmsMessage.Status


@pytest.mark.parametrize(
    "to", ["0512345678", "966512345678", "+0512345678", "+9665", "+96651234567890123", ""]
)
def test_recipient_must_be_e164(to: str) -> None:
    with pytest.raises(SmsRecipientInvalid) as caught:
        queue_sms(to=to)
    assert caught.value.code == errors.SMS_RECIPIENT_INVALID
    assert SmsMessage.objects.count() == 0


def test_any_e164_number_is_accepted() -> None:
    assert queue_notice(to="+447700900123").to == "+447700900123"


@pytest.mark.parametrize("subject_ref", ["1012345678", "2012345678", "has space", "x" * 65, ""])
def test_subject_ref_must_be_opaque(subject_ref: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        queue_sms(subject_ref=subject_ref)
    assert caught.value.code == errors.SMS_SUBJECT_REF_INVALID


def test_unknown_template_is_refused_before_anything_is_written() -> None:
    with pytest.raises(SmsTemplateError):
        queue_sms(template="nope")
    assert SmsMessage.objects.count() == 0


def test_queued_row_holds_what_the_worker_needs(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = queue_sms(language="en-us", subject_ref="acct:42")
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.language == "en"
    assert message.is_secret, "one-time codes are secret whatever the caller says"
    assert message.subject_ref == "acct:42"
    assert message.attempts == 0
    assert message.next_attempt_at == message.queued_at
    assert isinstance(message.reference, uuid.UUID)
    [task] = DBTaskResult.objects.all()
    assert task.args_kwargs == {"args": [message.pk], "kwargs": {}}
    assert task.task_path == "hawiya.notifications.tasks.deliver_sms"


def test_notice_is_not_secret_unless_asked() -> None:
    assert not queue_notice().is_secret
    assert queue_notice(is_secret=True).is_secret


def test_delivery_receipt_is_idempotent() -> None:
    message = queue_notice()
    first = sms_mark_delivered(reference=str(message.reference), operator_message_id="op-9")
    assert first.status == Status.DELIVERED
    assert first.delivered_at is not None
    assert first.sent_at == first.delivered_at
    second = sms_mark_delivered(reference=message.reference, operator_message_id="op-9")
    assert second.status == Status.DELIVERED
    assert second.delivered_at == first.delivered_at


def test_receipt_for_a_failed_message_wins() -> None:
    message = queue_notice()
    SmsMessage.objects.filter(pk=message.pk).update(status=Status.FAILED, failed_at=clock.now())
    assert (
        sms_mark_delivered(reference=message.reference, operator_message_id="op-1").status == Status.DELIVERED
    )


def test_receipt_blanks_a_secret_body_held_for_a_real_operator(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "http"
    message = queue_sms()
    assert sms_mark_delivered(reference=message.reference, operator_message_id="op-1").body == ""


@pytest.mark.parametrize("reference", [str(uuid.uuid4()), "not-a-uuid", ""])
def test_receipt_for_an_unknown_reference_is_not_found(reference: str) -> None:
    with pytest.raises(NotFound) as caught:
        sms_mark_delivered(reference=reference, operator_message_id="op-1")
    assert caught.value.code == errors.SMS_NOT_FOUND


def test_receipt_with_another_operator_id_is_refused() -> None:
    message = queue_notice()
    SmsMessage.objects.filter(pk=message.pk).update(status=Status.SENT, operator_message_id="op-1")
    with pytest.raises(ApplicationError) as caught:
        sms_mark_delivered(reference=message.reference, operator_message_id="op-2")
    assert caught.value.code == errors.SMS_RECEIPT_MISMATCH
    assert SmsMessage.objects.get(pk=message.pk).status == Status.SENT


def test_holder_sees_queued_while_the_worker_is_sending() -> None:
    message = queue_sms()
    SmsMessage.objects.filter(pk=message.pk).update(status=Status.SENDING, attempts=1)
    status = sms_status_for_holder(reference=str(message.reference))
    assert status.status == "queued"
    assert not status.is_delayed
    with translation.override("en"):
        assert status.notice == "Sending the text message…"


def test_holder_is_told_the_code_may_be_delayed_after_a_temporary_failure() -> None:
    message = queue_sms()
    SmsMessage.objects.filter(pk=message.pk).update(attempts=1, last_error_code="operator_unavailable_503")
    status = sms_status_for_holder(reference=message.reference)
    assert status.is_delayed
    with translation.override("en"):
        assert "may be delayed" in status.notice
    with translation.override("ar"):
        assert "قد يتأخر" in status.notice


def test_a_long_wait_is_announced_as_a_delay_too() -> None:
    message = queue_sms()
    SmsMessage.objects.filter(pk=message.pk).update(queued_at=clock.now() - dt.timedelta(minutes=1))
    assert sms_status_for_holder(reference=message.reference).is_delayed


def test_holder_sees_the_riyadh_time_it_was_sent() -> None:
    message = queue_sms()
    sent_at = dt.datetime(2026, 3, 1, 7, 42, tzinfo=dt.UTC)
    SmsMessage.objects.filter(pk=message.pk).update(status=Status.SENT, sent_at=sent_at)
    status = sms_status_for_holder(reference=message.reference)
    assert status.status == "sent"
    assert status.sent_at == sent_at
    assert not status.is_delayed
    with translation.override("en"):
        assert status.notice == "Sent at 10:42"
        assert str(status.status_label) == "sent"
    with translation.override("ar"):
        assert "10:42" in status.notice
        assert status.notice != "Sent at 10:42"


def test_holder_is_told_clearly_when_sending_failed() -> None:
    message = queue_sms()
    SmsMessage.objects.filter(pk=message.pk).update(
        status=Status.FAILED, failed_at=clock.now(), last_error_code="operator_rejected_400"
    )
    status = sms_status_for_holder(reference=message.reference)
    assert status.status == "failed"
    with translation.override("en"):
        assert "could not send" in status.notice


@pytest.mark.parametrize("reference", [str(uuid.uuid4()), "garbage"])
def test_status_of_an_unknown_reference_is_not_found(reference: str) -> None:
    with pytest.raises(NotFound):
        sms_status_for_holder(reference=reference)


def test_demo_outbox_lists_newest_first_with_bodies(settings) -> None:
    settings.DEMO = True
    first = queue_sms(context={"code": "111111", "purpose": "sign_in"})
    second = queue_notice()
    third = queue_sms(context={"code": "333333", "purpose": "sign_in"})
    outbox = sms_outbox_recent(limit=2)
    assert [message.pk for message in outbox] == [third.pk, second.pk]
    assert "333333" in outbox[0].body
    assert [message.pk for message in sms_outbox_recent()] == [third.pk, second.pk, first.pk]


def test_outbox_page_data_exists_only_in_demo_mode(settings) -> None:
    settings.DEMO = False
    queue_sms()
    with pytest.raises(NotFound):
        sms_outbox_recent()


def test_requeue_command_reports_what_it_did(capsys) -> None:
    message = queue_notice()
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=clock.now() - dt.timedelta(minutes=10))
    call_command("sms_requeue_stalled")
    assert "Re-queued 1 stalled SMS message(s)." in capsys.readouterr().out


def test_finished_messages_are_never_requeued() -> None:
    message = queue_notice()
    long_ago = clock.now() - dt.timedelta(hours=1)
    for status in (Status.SENT, Status.DELIVERED, Status.FAILED):
        SmsMessage.objects.filter(pk=message.pk).update(status=status, next_attempt_at=long_ago)
        call_command("sms_requeue_stalled", verbosity=0)
        assert SmsMessage.objects.get(pk=message.pk).next_attempt_at == long_ago


def test_the_grace_before_a_stalled_message_is_handed_over_again_is_a_setting(settings) -> None:
    message = queue_notice()
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=clock.now() - dt.timedelta(seconds=30))
    settings.HAWIYA_SMS_STALLED_AFTER_SECONDS = 60
    assert sms_requeue_stalled() == 0
    settings.HAWIYA_SMS_STALLED_AFTER_SECONDS = 20
    assert sms_requeue_stalled() == 1
