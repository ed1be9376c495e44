"""Reads of the notifications app: a message's status for its holder, the demo outbox."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Min
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.errors import NotFound

from . import errors
from .errors import SmsTemplateError
from .models import InboxNotification, SmsMessage
from .subjects import Subject
from .templates import render

logger = logging.getLogger(__name__)

# A message still waiting this long (a busy worker, or a retry after an operator outage) is
# announced as possibly delayed, so the person waits instead of asking for code after code.
DELAYED_AFTER = dt.timedelta(seconds=30)
MAX_OUTBOX_LIMIT = 200


@dataclass(frozen=True)
class SmsStatus:
    """What the holder's code page shows about one message (never its text)."""

    reference: uuid.UUID
    # queued, sent, delivered or failed: a message being handed to the operator is still
    # "queued" for the person; `sending` is the worker's business.
    status: str
    queued_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    failed_at: dt.datetime | None
    # Retried after a temporary failure, or waiting longer than usual: "the code may be delayed".
    is_delayed: bool

    @property
    def status_label(self) -> str | Promise:
        return SmsMessage.Status(self.status).label

    @property
    def notice(self) -> str:
        """One sentence for the person, in the active language: "Sent at 10:42", "may be delayed"…"""
        if self.status == SmsMessage.Status.DELIVERED and self.delivered_at:
            return str(_("Delivered at %(time)s") % {"time": _clock_time(self.delivered_at)})
        if self.status == SmsMessage.Status.SENT and self.sent_at:
            return str(_("Sent at %(time)s") % {"time": _clock_time(self.sent_at)})
        if self.status == SmsMessage.Status.FAILED:
            return str(
                _(
                    "We could not send a text message to your mobile number. If the number on record "
                    "is no longer yours, update it at a civil-affairs office."
                )
            )
        if self.is_delayed:
            return str(_("The code may be delayed. Please wait a few minutes before asking for a new one."))
        return str(_("Sending the text message…"))


def _clock_time(value: dt.datetime) -> str:
    # Riyadh wall-clock time, Western digits (docs/ui.md §3): "10:42".
    return value.astimezone(clock.RIYADH).strftime("%H:%M")


def sms_status_for_holder(*, reference: str | uuid.UUID) -> SmsStatus:
    """The delivery status of the message with client reference `reference`, for the code page.

    The reference is an unguessable UUID the sign-in flow keeps in the holder's session, so
    knowing it is the holder's authority. Raises NotFound for an unknown or malformed reference.
    """
    try:
        key = reference if isinstance(reference, uuid.UUID) else uuid.UUID(str(reference))
    except ValueError:
        raise NotFound(errors.SMS_NOT_FOUND, _("No such text message.")) from None
    message = (
        SmsMessage.objects.filter(reference=key)
        .only(
            "reference",
            "status",
            "attempts",
            "last_error_code",
            "queued_at",
            "sent_at",
            "delivered_at",
            "failed_at",
        )
        .first()
    )
    if message is None:
        raise NotFound(errors.SMS_NOT_FOUND, _("No such text message."))
    unfinished = message.status in {SmsMessage.Status.QUEUED, SmsMessage.Status.SENDING}
    is_delayed = unfinished and (
        bool(message.last_error_code) or clock.now() - message.queued_at > DELAYED_AFTER
    )
    return SmsStatus(
        reference=message.reference,
        status=SmsMessage.Status.QUEUED if message.status == SmsMessage.Status.SENDING else message.status,
        queued_at=message.queued_at,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        failed_at=message.failed_at,
        is_delayed=is_delayed,
    )


def sms_outbox_recent(*, limit: int = 50) -> list[SmsMessage]:
    """The newest messages, newest first, bodies included: the demo /dev/sms inbox.

    Only in demo mode (raises NotFound otherwise): the page shows one-time codes in clear, which
    is the point of the demo and must never happen anywhere else.
    """
    if not getattr(settings, "DEMO", False):
        raise NotFound(errors.SMS_NOT_FOUND, _("No such text message."))
    limit = max(1, min(limit, MAX_OUTBOX_LIMIT))
    return list(SmsMessage.objects.order_by("-queued_at", "-id")[:limit])


@dataclass(frozen=True)
class InboxEntry:
    """One entry of the notification centre, rendered in the reader's language."""

    id: int
    text: str
    # What the entry is about; the portal links it to the thing's page.
    subject: Subject | None
    created_at: dt.datetime
    is_unread: bool


def _inbox_value(value: object) -> object:
    if isinstance(value, dict) and set(value) == {"datetime"}:
        return dt.datetime.fromisoformat(str(value["datetime"]))
    return value


# Shown for an entry whose template was removed or changed since it was written.
GENERIC_INBOX_TEXT = _("Hawiya notification")


def inbox_text(entry: InboxNotification, language: str) -> str:
    """The entry's text in `language` (Arabic for anything but English).

    Entries outlive templates: one whose template was since removed or given other placeholders
    reads as a generic line instead of breaking the whole notification centre.
    """
    language = "en" if (language or "").startswith("en") else "ar"
    try:
        return render(entry.template, language, {name: _inbox_value(v) for name, v in entry.context.items()})
    except (SmsTemplateError, ValueError, TypeError):
        logger.warning("Inbox entry %s: template %r no longer renders", entry.pk, entry.template)
        with translation.override(language):
            return str(GENERIC_INBOX_TEXT)


def inbox_for_person(*, person_id: int, language: str, limit: int = 50) -> list[InboxEntry]:
    """The person's newest entries, newest first."""
    rows = InboxNotification.objects.filter(person_id=person_id).order_by("-created_at", "-id")[:limit]
    return [
        InboxEntry(
            id=row.pk,
            text=inbox_text(row, language),
            subject=row.subject,
            created_at=row.created_at,
            is_unread=row.read_at is None,
        )
        for row in rows
    ]


def inbox_unread_count(*, person_id: int) -> int:
    return InboxNotification.objects.filter(person_id=person_id, read_at__isnull=True).count()


def sms_outbox_oldest_unsent_at() -> dt.datetime | None:
    """When the oldest message not yet handed to the operator (queued, or being sent) was queued;
    None when there is none. The SMS outbox lag of /metrics."""
    return (
        SmsMessage.objects.filter(status__in=[SmsMessage.Status.QUEUED, SmsMessage.Status.SENDING])
        .order_by()
        .aggregate(oldest=Min("queued_at"))["oldest"]
    )
