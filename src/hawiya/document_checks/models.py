"""The record of every document-status check a relying party made."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock


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

    class Meta:
        verbose_name = _("document-status check")
        verbose_name_plural = _("document-status checks")
        indexes = (
            # "Who checked my documents": a holder's documents' checks, newest first.
            models.Index(fields=["document", "-checked_at"], name="document_check_document_idx"),
            models.Index(fields=["party", "-checked_at"], name="document_check_party_idx"),
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
