"""The SMS outbox: one row per text message, written in the transaction that causes it.

The row is the message's whole life (docs/design.md §5 "Messages go through the outbox"): the worker
reads it by id, sends it, and records what the operator said. Nothing identifying is kept beyond
the number the message goes to; a caller that needs a link back to a person passes an opaque
`subject_ref`, never an ID number.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.text import mask_mobile

from .subjects import SUBJECT_KINDS, Subject


class SmsMessage(models.Model):
    """One text message to one mobile number, and its delivery state."""

    class Status(models.TextChoices):
        # The four states of the issue, plus `sending`: a worker has claimed the message and may
        # be talking to the operator right now. The holder sees `sending` as "queued".
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    class Language(models.TextChoices):
        ARABIC = "ar", _("Arabic")
        ENGLISH = "en", _("English")

    # The client reference sent to the operator, which de-duplicates on it: re-sending a message
    # after a crash can never reach the phone twice. Also the public handle the code page keeps.
    reference = models.UUIDField(_("reference"), default=uuid.uuid4, unique=True, editable=False)
    to = models.CharField(_("to"), max_length=16, help_text=_("Mobile number in international form."))
    template = models.CharField(_("template"), max_length=40)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    body = models.TextField(_("body"))
    # Bodies carrying one-time codes: hidden in the admin and in logs, and blanked once the
    # operator has them (only the demo inbox keeps them, for the /dev/sms page).
    is_secret = models.BooleanField(_("secret"), default=False)
    subject_ref = models.CharField(
        _("subject reference"),
        max_length=64,
        blank=True,
        default="",
        help_text=_("An opaque reference chosen by the sender; never an ID number."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error_code = models.CharField(_("last error code"), max_length=64, blank=True, default="")
    operator_message_id = models.CharField(_("operator message id"), max_length=100, blank=True, default="")
    queued_at = models.DateTimeField(_("queued at"), default=clock.now)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    # When a worker should next look at the message: the retry time while `queued`, the end of
    # the worker's lease while `sending`. The sweeper (sms_requeue_stalled) finds messages whose
    # time has long passed, e.g. after a worker died, so none is lost.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # Not sent after this time (a one-time code that has expired is useless and confusing).
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")
        ordering = ("-queued_at", "-id")
        indexes = (
            # The sweeper: unfinished messages whose next look is due.
            models.Index(
                fields=["next_attempt_at"],
                name="sms_unfinished_due_idx",
                condition=Q(status__in=["queued", "sending"]),
            ),
            # The demo outbox page and the admin list: newest first.
            models.Index(fields=["-queued_at", "-id"], name="sms_newest_idx"),
            # The operator's delivery reports name the message by the operator's id.
            models.Index(
                fields=["operator_message_id"],
                name="sms_operator_id_idx",
                condition=~Q(operator_message_id=""),
            ),
            # Later: "messages sent to this account" for the holder's security page.
            models.Index(
                fields=["subject_ref", "-queued_at"],
                name="sms_subject_idx",
                condition=~Q(subject_ref=""),
            ),
        )
        constraints = (
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "delivered", "failed"]),
                name="sms_status_valid",
            ),
            models.CheckConstraint(condition=Q(language__in=["ar", "en"]), name="sms_language_valid"),
        )

    def __str__(self) -> str:
        return f"{self.template} → {self.masked_to} ({self.status})"

    @property
    def masked_to(self) -> str:
        """Only the last two digits, as the sign-in page shows numbers."""
        return mask_mobile(self.to)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


FINISHED_STATUSES = frozenset({SmsMessage.Status.SENT, SmsMessage.Status.DELIVERED, SmsMessage.Status.FAILED})


class InboxNotification(models.Model):
    """One entry of a person's in-app notification centre (مركز الإشعارات).

    It stores the template and its values, not a rendered text, so the centre shows every entry
    in the language the person reads the page in. `person_id` is the register's person key: this
    app sits below the register, so it holds the key, not a foreign key.
    """

    person_id = models.BigIntegerField(_("person"), db_index=False)
    template = models.CharField(_("template"), max_length=40)
    context = models.JSONField(_("values"), default=dict)
    # What the entry is about (subjects.py): a kind and a public reference, both empty for none.
    # The portal turns it into a link to the thing's page; no URL is stored.
    subject_kind = models.CharField(_("subject kind"), max_length=20, blank=True, default="")
    subject_reference = models.CharField(_("subject reference"), max_length=20, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("in-app notification")
        verbose_name_plural = _("in-app notifications")
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(fields=["person_id", "-created_at"], name="inbox_person_newest_idx"),
            # The unread count in every signed-in page's header.
            models.Index(
                fields=["person_id"], name="inbox_person_unread_idx", condition=Q(read_at__isnull=True)
            ),
        )
        constraints = (
            # A known kind with a reference, or no subject at all.
            models.CheckConstraint(
                condition=Q(subject_kind="", subject_reference="")
                | (Q(subject_kind__in=SUBJECT_KINDS) & ~Q(subject_reference="")),
                name="inbox_subject_valid",
            ),
        )

    def __str__(self) -> str:
        return f"{self.template} → {self.person_id}"

    @property
    def subject(self) -> Subject | None:
        return Subject(self.subject_kind, self.subject_reference) if self.subject_kind else None
