"""Writes of the notifications app: queue a text message, record a delivery receipt (also the
operator's signed delivery reports), recover.

A message is written to the outbox in the caller's transaction and handed to the worker only
after that transaction commits (docs/design.md §5): a change that rolls back sends nothing, and a
change that commits always leaves a row the worker (or the sweeper) will deliver.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.transaction import TransactionManagementError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.metrics import SMS_FAILURES, inc_on_commit
from hawiya.core.retention import Batches, delete_in_batches
from hawiya.core.signing import SignatureInvalid, signature_header, verify

from . import errors
from .clients import operator_webhook_secret, sms_client, sms_client_name
from .models import FINISHED_STATUSES, InboxNotification, SmsMessage
from .subjects import Subject
from .tasks import OUTBOX, deliver_sms
from .templates import SECRET_TEMPLATES, render

logger = logging.getLogger(__name__)

E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# An opaque reference: letters, digits and a few separators. Ten bare digits look like a national
# ID number, which must never be stored here in clear.
SUBJECT_REF = re.compile(r"[A-Za-z0-9:._-]{1,64}")
LOOKS_LIKE_ID_NUMBER = re.compile(r"[12][0-9]{9}")


def _language(language: str) -> str:
    # The holder's language as Django names it ("ar", "en", "en-us"…) → a template language.
    return (language or "").split("-")[0].lower()


def sms_send(
    *,
    to: str,
    template: str,
    context: Mapping[str, object],
    language: str,
    subject_ref: str | None = None,
    is_secret: bool = False,
    expires_at: dt.datetime | None = None,
) -> SmsMessage:
    """Queue one text message to `to` (E.164) and return its outbox row (status `queued`).

    The body is `template` rendered in `language` with `context` (see templates.py). The row is
    written in the caller's transaction; the worker is asked to send it only after commit, so a
    rolled-back change sends nothing. `subject_ref` is an opaque link back to whoever the message
    concerns (never an ID number). `is_secret` hides the body in the admin and logs (implied for
    one-time codes). A message still unsent at `expires_at` is marked failed instead of sent late.

    Raises SmsRecipientInvalid, SmsTemplateError, or ApplicationError(sms_subject_ref_invalid).
    """
    if not isinstance(to, str) or not E164.fullmatch(to):
        raise errors.SmsRecipientInvalid()
    if subject_ref is not None and (
        not SUBJECT_REF.fullmatch(subject_ref) or LOOKS_LIKE_ID_NUMBER.fullmatch(subject_ref)
    ):
        raise ApplicationError(
            errors.SMS_SUBJECT_REF_INVALID, _("The text message could not be prepared."), field="subject_ref"
        )
    language = _language(language)
    body = render(template, language, context)
    now = clock.now()
    with transaction.atomic():
        message = SmsMessage.objects.create(
            to=to,
            template=template,
            language=language,
            body=body,
            is_secret=is_secret or template in SECRET_TEMPLATES,
            subject_ref=subject_ref or "",
            status=SmsMessage.Status.QUEUED,
            queued_at=now,
            # Due at once: if the after-commit hand-over below is lost (process killed between
            # commit and callback), the sweeper finds the row by this time.
            next_attempt_at=now,
            expires_at=expires_at,
        )
        # robust: the change has committed by then; a failed hand-over must not turn the page into
        # an error, the sweeper delivers the message instead.
        transaction.on_commit(partial(_hand_over, message), robust=True)
    return message


def _hand_over(message: SmsMessage) -> None:
    deliver_sms.enqueue(message.pk)
    # Logged here, after commit, so the log never speaks of a message that was rolled back.
    logger.info("SMS %s queued: template=%s to=%s", message.reference, message.template, message.masked_to)


def _message_for_update(reference: str | uuid.UUID) -> SmsMessage:
    try:
        key = reference if isinstance(reference, uuid.UUID) else uuid.UUID(str(reference))
    except ValueError:
        key = None
    message = SmsMessage.objects.select_for_update().filter(reference=key).first() if key else None
    if message is None:
        raise NotFound(errors.SMS_NOT_FOUND, _("No such text message."))
    return message


def sms_mark_delivered(
    *, reference: str | uuid.UUID, operator_message_id: str, delivered_at: dt.datetime | None = None
) -> SmsMessage:
    """Record the operator's delivery receipt for the message with client reference `reference`.

    Idempotent: a repeated receipt changes nothing. A receipt may arrive before the worker has
    recorded the operator's answer, or after we gave up on the message: the operator knows best,
    so it wins either way. Raises NotFound for an unknown reference, and
    ApplicationError(sms_receipt_mismatch) when the operator's id contradicts the one we hold.
    """
    with transaction.atomic():
        message = _message_for_update(reference)
        if message.operator_message_id and message.operator_message_id != operator_message_id:
            raise ApplicationError(errors.SMS_RECEIPT_MISMATCH, _("The delivery receipt does not match."))
        if message.status == SmsMessage.Status.DELIVERED:
            return message
        now = clock.now()
        message.status = SmsMessage.Status.DELIVERED
        message.delivered_at = delivered_at or now
        message.sent_at = message.sent_at or message.delivered_at
        message.operator_message_id = operator_message_id
        message.next_attempt_at = None
        fields = ["status", "delivered_at", "sent_at", "operator_message_id", "next_attempt_at"]
        if message.is_secret and message.body and not sms_client().keeps_secret_bodies:
            message.body = ""
            fields.append("body")
        message.save(update_fields=fields)
    logger.info("SMS %s delivered", message.reference)
    return message


# --- Delivery reports from the operator ---------------------------------------------------------

REPORT_STATUSES = frozenset({"delivered", "failed"})
# The operator's message id as it gave it when it accepted the message (clients._operator_id).
OPERATOR_MESSAGE_ID = re.compile(r"[\x21-\x7e]{1,100}")
OPERATOR_ERROR_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,40}")
REPORT_MAX_BYTES = 4096


class DeliveryReportRejected(ApplicationError):
    """A delivery report we refuse: 401 badly signed, 400 malformed (404 unknown id is NotFound)."""

    def __init__(self, code: str, message: str | Promise, *, status_code: int, **extra: Any) -> None:
        super().__init__(code, message, **extra)
        self.status_code = status_code


@dataclass(frozen=True)
class DeliveryReport:
    message_id: str
    status: str
    occurred_at: dt.datetime
    error_code: str


def _report_malformed(what: str) -> DeliveryReportRejected:
    return DeliveryReportRejected(
        errors.SMS_REPORT_MALFORMED,
        _("The delivery report does not have the expected fields or values."),
        status_code=400,
        reason=what,
    )


def _parsed_report(body: bytes) -> DeliveryReport:
    if len(body) > REPORT_MAX_BYTES:
        raise _report_malformed("too_large")
    try:
        data = json.loads(body)
    except ValueError:
        raise _report_malformed("not_json") from None
    if not isinstance(data, dict):
        raise _report_malformed("not_an_object")
    message_id, status, occurred = data.get("message_id"), data.get("status"), data.get("occurred_at")
    error_code = data.get("error_code", "")
    if not isinstance(message_id, str) or not OPERATOR_MESSAGE_ID.fullmatch(message_id):
        raise _report_malformed("message_id")
    if not isinstance(status, str) or status not in REPORT_STATUSES:
        raise _report_malformed("status")
    if not isinstance(error_code, str) or (error_code and not OPERATOR_ERROR_CODE.fullmatch(error_code)):
        raise _report_malformed("error_code")
    if not isinstance(occurred, str) or len(occurred) > 40 or not occurred.isascii():
        raise _report_malformed("occurred_at")
    try:
        occurred_at = dt.datetime.fromisoformat(occurred)
    except ValueError:
        raise _report_malformed("occurred_at") from None
    if occurred_at.tzinfo is None:
        raise _report_malformed("occurred_at")
    return DeliveryReport(
        message_id=message_id, status=status, occurred_at=occurred_at, error_code=error_code
    )


def sms_delivery_report_apply(
    *, body: bytes, signature_header: str, now: dt.datetime | None = None
) -> SmsMessage:
    """Apply one signed delivery report from the operator and return the message as it now is.

    The body is `{"message_id", "status": "delivered" | "failed", "occurred_at": ISO 8601 with an
    offset, "error_code"?}`, signed like the payment callback (core/signing.py) under
    `operator_webhook_secret()`. A missing, stale or wrong signature raises
    DeliveryReportRejected 401 (`extra["reason"]`) and writes nothing; a malformed body 400; an
    operator id we never received NotFound (404).

    `delivered` is final: the same report again, a later `failed` (reports may arrive out of
    order) or another `delivered` change nothing. `failed` marks a sent message failed. The time
    is the operator's, never later than now nor earlier than the message was queued.
    """
    now = now or clock.now()
    try:
        verify(body, signature_header, operator_webhook_secret(), now=now)
    except SignatureInvalid as exc:
        raise DeliveryReportRejected(
            errors.SMS_REPORT_SIGNATURE_INVALID,
            _("The delivery report's signature is missing, stale or not valid."),
            status_code=401,
            reason=exc.reason,
        ) from None
    report = _parsed_report(body)
    with transaction.atomic():
        message = (
            SmsMessage.objects.select_for_update()
            .filter(operator_message_id=report.message_id)
            .order_by("-pk")
            .first()
        )
        if message is None:
            raise NotFound(errors.SMS_NOT_FOUND, _("No such text message."))
        if message.status == SmsMessage.Status.DELIVERED or (
            message.status == SmsMessage.Status.FAILED and report.status == "failed"
        ):
            return message  # a replay, or a report overtaken by a final one
        at = min(max(report.occurred_at, message.queued_at), now)
        message.next_attempt_at = None
        fields = ["status", "next_attempt_at"]
        if report.status == "delivered":
            # Also after we recorded a failure: the operator knows best.
            message.status = SmsMessage.Status.DELIVERED
            message.delivered_at = at
            message.sent_at = message.sent_at or at
            fields += ["delivered_at", "sent_at"]
        else:
            message.status = SmsMessage.Status.FAILED
            message.failed_at = at
            message.last_error_code = f"receipt_{report.error_code or 'undelivered'}"[:64]
            fields += ["failed_at", "last_error_code"]
            inc_on_commit(SMS_FAILURES, message.last_error_code)
        if message.is_secret and message.body and not sms_client().keeps_secret_bodies:
            message.body = ""
            fields.append("body")
        message.save(update_fields=fields)
    logger.info("SMS %s %s (operator report)", message.reference, message.status)
    return message


def sms_demo_delivery_report(*, reference: str | uuid.UUID) -> SmsMessage:
    """Demo mode: the demo operator reports the message with client reference `reference`
    delivered now, signed and applied exactly as a real operator's report (the /dev/sms page).

    Raises NotFound outside demo mode with the demo client, and for a message not handed to the
    demo operator yet (no operator id).
    """
    if not getattr(settings, "DEMO", False) or sms_client_name() != "demo":
        raise NotFound(errors.SMS_NOT_FOUND, _("No such text message."))
    key = _uuid_or_none(reference)
    message = SmsMessage.objects.filter(reference=key).first() if key else None
    if message is None or not message.operator_message_id:
        raise NotFound(errors.SMS_NOT_FOUND, _("No such text message."))
    now = clock.now()
    body = json.dumps(
        {"message_id": message.operator_message_id, "status": "delivered", "occurred_at": now.isoformat()}
    ).encode()
    return sms_delivery_report_apply(
        body=body, signature_header=signature_header(body, operator_webhook_secret(), at=now), now=now
    )


def _uuid_or_none(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def sms_requeue_stalled(*, stalled_after: dt.timedelta | None = None, limit: int = 1000) -> int:
    """Hand overdue unfinished messages to the worker again; returns how many.

    Catches the two ways a committed message can stall: the after-commit hand-over was lost, or a
    worker died while `sending` (its lease has run out). Re-sending is safe because the operator
    de-duplicates on the message's reference, and deliver_sms ignores duplicate tasks. Run it
    every minute or so (`manage.py sms_requeue_stalled`).
    """
    stalled = OUTBOX.sweep(
        SmsMessage.objects.filter(status__in=[SmsMessage.Status.QUEUED, SmsMessage.Status.SENDING]),
        enqueue=deliver_sms.enqueue,
        now=clock.now(),
        # How long an unfinished message may be overdue before it is handed over again.
        grace=stalled_after or dt.timedelta(seconds=settings.HAWIYA_SMS_STALLED_AFTER_SECONDS),
        # Due again now: the next sweep leaves them alone unless they stall once more.
        rearm=True,
        skip_locked=True,
        limit=limit,
    )
    if stalled:
        logger.warning("Re-queued %d stalled SMS messages", len(stalled))
    return len(stalled)


def sms_prune_finished(
    *, now: dt.datetime, kept_for: dt.timedelta | None = None, batches: Batches | None = None
) -> int:
    """Delete the text messages that are finished (sent, delivered or failed) and were queued more
    than `kept_for` ago (HAWIYA_RETENTION_SMS_DAYS); returns how many. A queued or sending message
    is never touched, however old: the sweeper still owes it a delivery. A challenge that named a
    deleted message keeps going without it (OneTimeCode.sms is SET_NULL)."""
    kept = kept_for if kept_for is not None else dt.timedelta(days=int(settings.HAWIYA_RETENTION_SMS_DAYS))
    finished = SmsMessage.objects.filter(status__in=sorted(FINISHED_STATUSES), queued_at__lt=now - kept)
    deleted = delete_in_batches(finished, batches=batches)
    if deleted:
        logger.info("Pruned %d finished SMS messages", deleted)
    return deleted


def notify(
    *,
    person_id: int,
    mobile: str,
    language: str,
    template: str,
    context: Mapping[str, object],
    subject: Subject | None = None,
    subject_ref: str | None = None,
) -> InboxNotification:
    """Tell a person something: an entry in their notification centre, and a text message to
    `mobile` when they have one (children and the deceased have none).

    Both are written in the caller's transaction, so a change that rolls back tells nobody. The
    entry keeps `template` and `context`, and is rendered in the reader's language when shown;
    the SMS is rendered now in `language`. `subject` says what the notice is about (the portal
    links the entry to its page). Raises TransactionManagementError outside
    `transaction.atomic` (like `audit_record`: the notice must share the change's fate), and
    what `sms_send` raises.
    """
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError(
            "notify() must run inside the transaction of the change it announces"
        )
    render(template, _language(language) if _language(language) in ("ar", "en") else "ar", context)
    entry = InboxNotification.objects.create(
        person_id=person_id,
        template=template,
        context={name: _stored_value(value) for name, value in context.items()},
        subject_kind=subject.kind if subject else "",
        subject_reference=subject.reference if subject else "",
    )
    if mobile:
        sms_send(to=mobile, template=template, context=context, language=language, subject_ref=subject_ref)
    return entry


def _stored_value(value: object) -> object:
    # JSON keeps str and int; an aware datetime is kept as ISO text and read back by `inbox_text`.
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    return value


def inbox_mark_read(*, person_id: int, notification_ids: list[int] | None = None) -> int:
    """Mark the person's unread entries as read (all, or those listed); returns how many.

    Entries of another person are ignored, never an error: the ids come from a page.
    """
    unread = InboxNotification.objects.filter(person_id=person_id, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=clock.now())
