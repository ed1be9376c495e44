"""The worker's side of the SMS outbox.

`deliver_sms` takes a message id, claims the message, calls the operator outside any database
transaction (a slow operator must not hold a row lock or, on SQLite, the write lock), then records
the answer. Retries are bounded (MAX_ATTEMPTS) with exponential backoff; a message that cannot be
sent is marked failed, never dropped.

A worker may crash after the operator accepted a message but before the answer is recorded. The
message then stays `sending` until its lease runs out, and the sweeper (sms_requeue_stalled)
hands it to a worker again, which re-sends it with the same reference. That is safe: the operator
de-duplicates on the reference, so the phone receives the message once.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django_tasks import task

from hawiya.core import clock
from hawiya.core.metrics import SMS_FAILURES
from hawiya.core.outbox import Outbox, RetryPolicy

from .clients import SmsClient, SmsRejected, SmsTemporaryFailure, sms_client
from .models import SmsMessage

logger = logging.getLogger(__name__)

POLICY = RetryPolicy(
    max_attempts=5,
    first_backoff=dt.timedelta(seconds=10),
    backoff_factor=3,
    # Well above any operator timeout, so a slow but live worker is not second-guessed
    # (settings: HAWIYA_SMS_LEASE_SECONDS, checked against SMS_OPERATOR_TIMEOUT).
    lease=dt.timedelta(seconds=settings.HAWIYA_SMS_LEASE_SECONDS),
)
MAX_ATTEMPTS = POLICY.max_attempts
SENDING_LEASE = POLICY.lease

Status = SmsMessage.Status


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` tries: 10 s, 30 s, 90 s, 270 s…"""
    return POLICY.backoff(attempts)


@task()
def deliver_sms(message_id: int) -> str:
    """Send outbox message `message_id` once; returns the outcome (stored by the task backend).

    Idempotent: a message that is sent, delivered or failed, or that another worker is sending,
    is left alone, so running the task twice never calls the operator twice for a settled message.
    """
    client = sms_client()
    give_up = partial(_give_up, client=client)
    claim = OUTBOX.claim(message_id, give_up=give_up, on_claim=_sending)
    if claim is None:
        return "skipped"
    message = claim.row
    try:
        result = client.send(to=message.to, body=message.body, reference=str(message.reference))
    except SmsRejected as exc:
        SMS_FAILURES.labels(exc.code).inc()
        return OUTBOX.record_failure(message_id, claim, exc.code, permanent=True, give_up=give_up)
    except SmsTemporaryFailure as exc:
        SMS_FAILURES.labels(exc.code).inc()
        return OUTBOX.record_failure(message_id, claim, exc.code, permanent=False, give_up=give_up)
    except Exception as exc:
        # A bug in a client must not lose the message: it is retried like an outage and fails
        # after MAX_ATTEMPTS. Only the exception's type is logged; its text might hold the body.
        logger.error("SMS %s: client raised %s", message.reference, type(exc).__name__)
        SMS_FAILURES.labels("client_error").inc()
        return OUTBOX.record_failure(message_id, claim, "client_error", permanent=False, give_up=give_up)
    return _record_sent(message_id, result.operator_message_id, client)


def _locked(message_id: int) -> SmsMessage | None:
    return SmsMessage.objects.select_for_update().filter(pk=message_id).first()


def _fail(message: SmsMessage, code: str, client: SmsClient, now: dt.datetime) -> None:
    message.status = Status.FAILED
    message.failed_at = now
    message.last_error_code = code
    message.next_attempt_at = None
    fields = ["status", "failed_at", "last_error_code", "next_attempt_at"]
    if message.is_secret and not client.keeps_secret_bodies:
        message.body = ""
        fields.append("body")
    message.save(update_fields=fields)
    logger.warning("SMS %s failed: %s after %d attempts", message.reference, code, message.attempts)


def _give_up(message: SmsMessage, code: str, permanent: bool, *, client: SmsClient) -> None:
    _fail(message, code, client, clock.now())


def _sending(message: SmsMessage, now: dt.datetime) -> list[str]:
    # The claim: `sending` (the lease's own state, honoured to the second) from now.
    message.status = Status.SENDING
    message.last_attempt_at = now
    return ["status", "last_attempt_at"]


def _queued(message: SmsMessage, code: str) -> list[str]:
    message.status = Status.QUEUED
    message.last_error_code = code
    return ["status", "last_error_code"]


def _retry_later(message_id: int, run_after: dt.datetime) -> None:
    deliver_sms.using(run_after=run_after).enqueue(message_id)


OUTBOX: Outbox[SmsMessage] = Outbox(
    policy=POLICY,
    noun="SMS message",
    lock=_locked,
    attempts_field="attempts",
    due_field="next_attempt_at",
    state_field="status",
    is_open=lambda message: not message.is_finished,
    is_in_flight=lambda message: message.status == Status.SENDING,
    # The next try would come too late to be of use (a one-time code that has expired).
    expires_at=lambda message: message.expires_at,
    on_retry=_queued,
    retry_later=_retry_later,
    label=lambda message: f"SMS {message.reference}",
)


def _record_sent(message_id: int, operator_message_id: str, client: SmsClient) -> str:
    with transaction.atomic():
        message = _locked(message_id)
        if message is None:
            return "skipped"
        # Acceptance is a fact whoever claimed the message, so it is recorded even when our claim
        # went stale or the message was given up on; a delivery receipt is never downgraded.
        fields: list[str] = []
        if not message.operator_message_id:
            message.operator_message_id = operator_message_id
            fields.append("operator_message_id")
        if message.status != Status.DELIVERED and message.status != Status.SENT:
            message.status = Status.SENT
            message.sent_at = clock.now()
            message.next_attempt_at = None
            fields += ["status", "sent_at", "next_attempt_at"]
        if message.is_secret and message.body and not client.keeps_secret_bodies:
            # The operator has the text now; our copy of a one-time code is only a liability.
            message.body = ""
            fields.append("body")
        if fields:
            message.save(update_fields=fields)
    logger.info("SMS %s sent (attempt %d)", message.reference, message.attempts)
    return str(message.status)
