"""The record of every document-status check a relying party made."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.references import reference_new

# A check's public reference (its page, its notification): "DC" and 16 random digits, drawn when
# the row is made, so a batch stays one INSERT (a collision in 10^16 is not worth a retry loop).
CHECK_REFERENCE_PREFIX = "DC"
CHECK_REFERENCE_DIGITS = 16


def check_reference_new() -> str:
    return reference_new(CHECK_REFERENCE_PREFIX, CHECK_REFERENCE_DIGITS)


class CheckAnswer(models.TextChoices):
    """What a party is told: the document's status (docs/design.md §4), or that no document of
    that holder, kind and serial (or version) exists. Nothing else about the person."""

    VALID = "valid", _("Valid")
    REPORTED_LOST = "reported_lost", _("Reported lost")
    REPLACED = "replaced", _("Replaced")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    NOT_FOUND = "not_found", _("Not found")


class DocumentCheck(models.Model):
    """One answer given to one party about one document: written in the transaction that read the
    answer, never changed. `document` is empty when the answer was `not_found` (nothing is kept
    of what the party sent then: an ID number that matched nothing is not ours to keep)."""

    party = models.ForeignKey(
        "identity.RelyingParty",
        on_delete=models.PROTECT,
        related_name="document_checks",
        verbose_name=_("relying party"),
    )
    document = models.ForeignKey(
        "registry.Document",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checks",
        verbose_name=_("document"),
    )
    kind = models.CharField(_("kind asked for"), max_length=20)
    answer = models.CharField(_("answer"), max_length=14, choices=CheckAnswer.choices)
    checked_at = models.DateTimeField(_("checked at"), default=clock.now)
    reference = models.CharField(_("reference"), max_length=20, unique=True, default=check_reference_new)

    class Meta:
        verbose_name = _("document-status check")
        verbose_name_plural = _("document-status checks")
        indexes = (
            # "Who checked my documents": a holder's documents' checks, newest first.
            models.Index(fields=["document", "-checked_at"], name="document_check_document_idx"),
            models.Index(fields=["party", "-checked_at"], name="document_check_party_idx"),
            # The alarm sweep (services.lost_document_alarms_sweep, every minute): the few
            # reported-lost checks of the last day, without reading every check of that day.
            models.Index(
                fields=["checked_at"],
                condition=models.Q(answer="reported_lost"),
                name="document_check_lost_idx",
            ),
        )
        constraints = (
            models.CheckConstraint(
                condition=models.Q(answer__in=[choice.value for choice in CheckAnswer]),
                name="document_check_answer_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(document__isnull=True, answer="not_found")
                | (models.Q(document__isnull=False) & ~models.Q(answer="not_found")),
                name="document_check_not_found_has_no_document",
            ),
        )

    def __str__(self) -> str:
        return f"{self.party_id} {self.answer} {self.checked_at:%Y-%m-%d %H:%M}"


class LostDocumentAlarm(models.Model):
    """The holder was alerted (notification centre and SMS) about this check of a document
    reported lost. At most one per document and party an hour: the checks in between are listed
    on "who checked my documents" but alert nobody (services.document_check_alarm)."""

    document_check = models.OneToOneField(
        DocumentCheck, on_delete=models.PROTECT, related_name="alarm", verbose_name=_("check")
    )
    # Copied from the check, for the hourly look-up (document, party, time) without a join.
    document = models.ForeignKey(
        "registry.Document", on_delete=models.PROTECT, related_name="+", verbose_name=_("document")
    )
    party = models.ForeignKey(
        "identity.RelyingParty", on_delete=models.PROTECT, related_name="+", verbose_name=_("relying party")
    )
    alerted_at = models.DateTimeField(_("alerted at"), default=clock.now)

    class Meta:
        verbose_name = _("lost-document alarm")
        verbose_name_plural = _("lost-document alarms")
        indexes = (
            models.Index(fields=["document", "party", "-alerted_at"], name="lost_document_alarm_recent_idx"),
        )

    def __str__(self) -> str:
        return f"{self.document_check_id} {self.alerted_at:%Y-%m-%d %H:%M}"


class MisuseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class MisuseReport(models.Model):
    """A holder's "this was not me": a case for the civil-affairs office about one check of their
    document. One per check (reporting again answers the same case)."""

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    document_check = models.OneToOneField(
        DocumentCheck, on_delete=models.PROTECT, related_name="misuse_report", verbose_name=_("check")
    )
    holder = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="misuse_reports", verbose_name=_("holder")
    )
    reported_at = models.DateTimeField(_("reported at"), default=clock.now)
    status = models.CharField(
        _("status"), max_length=6, choices=MisuseStatus.choices, default=MisuseStatus.OPEN
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The officer's account (identity.User) that closed the case; kept as an id, like the audit.
    closed_by_id = models.BigIntegerField(_("closed by"), null=True, blank=True)
    officer_notes = models.TextField(_("officer's notes"), blank=True, default="")

    class Meta:
        verbose_name = _("misuse report")
        verbose_name_plural = _("misuse reports")
        indexes = (models.Index(fields=["status", "-reported_at"], name="misuse_report_open_idx"),)
        constraints = (
            models.CheckConstraint(
                condition=models.Q(status__in=[choice.value for choice in MisuseStatus]),
                name="misuse_report_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status="open", closed_at__isnull=True)
                | models.Q(status="closed", closed_at__isnull=False),
                name="misuse_report_closed_has_time",
            ),
        )

    def __str__(self) -> str:
        return self.reference
