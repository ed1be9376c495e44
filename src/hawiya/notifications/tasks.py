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
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django_tasks import task

from hawiya.core import clock

from .clients import SmsClient, SmsRejected, SmsTemporaryFailure, sms_client
from .models import SmsMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_BACKOFF = dt.timedelta(seconds=10)
BACKOFF_FACTOR = 3
# How long a claimed message is left to its worker before the sweeper may hand it to another.
# Well above any operator timeout, so a slow but live worker is not second-guessed.
SENDING_LEASE = dt.timedelta(minutes=2)
# A duplicate task that runs this much before the message's retry time is ignored (the scheduled
# task follows); the margin absorbs clock differences between workers.
EARLY_TOLERANCE = dt.timedelta(seconds=2)

Status = SmsMessage.Status


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` tries: 10 s, 30 s, 90 s, 270 s…"""
    return FIRST_BACKOFF * BACKOFF_FACTOR ** max(attempts - 1, 0)


@dataclass(frozen=True)
class _Claim:
    to: str
    body: str
    reference: str
    attempt: int


@task()
def deliver_sms(message_id: int) -> str:
    """Send outbox message `message_id` once; returns the outcome (stored by the task backend).

    Idempotent: a message that is sent, delivered or failed, or that another worker is sending,
    is left alone, so running the task twice never calls the operator twice for a settled message.
    """
    client = sms_client()
    claim = _claim(message_id, client)
    if claim is None:
        return "skipped"
    try:
        result = client.send(to=claim.to, body=claim.body, reference=claim.reference)
    except SmsRejected as exc:
        return _record_rejected(message_id, claim, exc.code, client)
    except SmsTemporaryFailure as exc:
        return _record_temporary_failure(message_id, claim, exc.code, client)
    except Exception as exc:
        # A bug in a client must not lose the message: it is retried like an outage and fails
        # after MAX_ATTEMPTS. Only the exception's type is logged; its text might hold the body.
        logger.error("SMS %s: client raised %s", claim.reference, type(exc).__name__)
        return _record_temporary_failure(message_id, claim, "client_error", client)
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


def _claim(message_id: int, client: SmsClient) -> _Claim | None:
    """Mark the message `sending` and count the attempt, in a transaction of its own."""
    with transaction.atomic():
        message = _locked(message_id)
        if message is None:
            logger.warning("SMS message %s does not exist", message_id)
            return None
        if message.is_finished:
            return None
        now = clock.now()
        due = message.next_attempt_at
        if message.status == Status.SENDING and due is not None and due > now:
            return None  # another worker holds the lease
        if message.status == Status.QUEUED and due is not None and due > now + EARLY_TOLERANCE:
            return None  # a duplicate task running ahead of the backoff
        if message.expires_at is not None and message.expires_at <= now:
            _fail(message, "expired_before_send", client, now)
            return None
        if message.attempts >= MAX_ATTEMPTS:
            # A worker died during the last allowed attempt; the operator may have it or not.
            _fail(message, "attempts_exhausted", client, now)
            return None
        message.status = Status.SENDING
        message.attempts += 1
        message.last_attempt_at = now
        message.next_attempt_at = now + SENDING_LEASE
        message.save(update_fields=["status", "attempts", "last_attempt_at", "next_attempt_at"])
        return _Claim(
            to=message.to, body=message.body, reference=str(message.reference), attempt=message.attempts
        )


def _locked_if_current(message_id: int, claim: _Claim) -> SmsMessage | None:
    # The message, locked, if our claim still stands: no receipt, sweeper or other worker has
    # moved it on since. A stale claim's failure is not recorded (the current claim's will be).
    message = _locked(message_id)
    if message is None or message.status != Status.SENDING or message.attempts != claim.attempt:
        return None
    return message


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


def _record_rejected(message_id: int, claim: _Claim, code: str, client: SmsClient) -> str:
    with transaction.atomic():
        message = _locked_if_current(message_id, claim)
        if message is None:
            return "stale"
        _fail(message, code, client, clock.now())
    return str(message.status)


def _record_temporary_failure(message_id: int, claim: _Claim, code: str, client: SmsClient) -> str:
    with transaction.atomic():
        message = _locked_if_current(message_id, claim)
        if message is None:
            return "stale"
        now = clock.now()
        retry_at = now + backoff(message.attempts)
        if message.attempts >= MAX_ATTEMPTS:
            _fail(message, code, client, now)
        elif message.expires_at is not None and retry_at >= message.expires_at:
            # The next try would come too late to be of use (a one-time code that has expired).
            _fail(message, code, client, now)
        else:
            message.status = Status.QUEUED
            message.last_error_code = code
            message.next_attempt_at = retry_at
            message.save(update_fields=["status", "last_error_code", "next_attempt_at"])
            # After commit, as for the first send; if the hand-over is lost the sweeper finds the
            # message by next_attempt_at.
            transaction.on_commit(
                partial(deliver_sms.using(run_after=retry_at).enqueue, message.pk), robust=True
            )
            logger.warning(
                "SMS %s: %s on attempt %d; next try at %s",
                message.reference,
                code,
                message.attempts,
                retry_at.isoformat(timespec="seconds"),
            )
    return str(message.status)
