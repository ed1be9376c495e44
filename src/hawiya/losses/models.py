"""The lost-documents register: a loss report (بلاغ فقدان) names one or more documents lost
together (a lost wallet is one report); filing it invalidates each of them at once, for good.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock

# A report filed more than this many days after the loss is late (and may be fined).
LATE_AFTER_DAYS = 15


class LossPlace(models.TextChoices):
    IN_KINGDOM = "in_kingdom", _("In Saudi Arabia")
    ABROAD = "abroad", _("Outside Saudi Arabia")


class LossReport(models.Model):
    """One report, filed by one person, about one or more documents lost together."""

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    reporter = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        related_name="loss_reports",
        verbose_name=_("reported by"),
    )
    lost_on = models.DateField(_("date of loss"))
    # The person did not know the exact day; `lost_on` is then their best guess.
    lost_on_approximate = models.BooleanField(_("date is approximate"), default=False)
    place = models.CharField(_("place"), max_length=12, choices=LossPlace.choices)
    city = models.CharField(_("city"), max_length=80, blank=True, default="")
    country = models.CharField(_("country"), max_length=80, blank=True, default="")
    circumstances = models.TextField(_("circumstances"), max_length=1000)
    declaration_accepted_at = models.DateTimeField(_("declaration accepted at"))
    reported_at = models.DateTimeField(_("reported at"), default=clock.now, db_index=True)
    is_late = models.BooleanField(_("reported late"), default=False)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64)

    class Meta:
        verbose_name = _("loss report")
        verbose_name_plural = _("lost-documents register")
        ordering = ("-reported_at", "-id")
        indexes = (models.Index(fields=["reporter", "-reported_at"], name="loss_report_reporter_idx"),)
        constraints = (
            models.UniqueConstraint(
                fields=["reporter", "idempotency_key"], name="loss_report_idempotency_unique"
            ),
            models.CheckConstraint(
                condition=Q(place="abroad") | ~Q(city=""), name="loss_report_city_in_kingdom"
            ),
        )

    def __str__(self) -> str:
        return self.reference


class LossReportItem(models.Model):
    """One document named in a report. A document can be reported lost only once."""

    report = models.ForeignKey(
        LossReport, on_delete=models.PROTECT, related_name="items", verbose_name=_("report")
    )
    document = models.OneToOneField(
        "registry.Document",
        on_delete=models.PROTECT,
        related_name="loss_report_item",
        verbose_name=_("document"),
    )

    class Meta:
        verbose_name = _("reported document")
        verbose_name_plural = _("reported documents")
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.report_id}: {self.document_id}"
