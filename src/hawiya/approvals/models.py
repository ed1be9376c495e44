"""Approval requests (number matching) and the signed callbacks owed to their parties."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.models import PushedRow


def new_public_id() -> str:
    """The id a party knows a request by: 192 random bits, never the row's key."""
    return secrets.token_urlsafe(24)


class ApprovalStatus(models.TextChoices):
    WAITING = "WAITING", _("Waiting")
    COMPLETED = "COMPLETED", _("Approved")
    REJECTED = "REJECTED", _("Refused")
    EXPIRED = "EXPIRED", _("Expired")


class ApprovalRequest(models.Model):
    """One request of a party for a citizen's approval. `number` is what the party shows its user;
    `choices` the three numbers the citizen is offered (the right one and two decoys), in the order
    shown. `user` is empty when the ID number has no activated account: such a request can only
    expire, so the party cannot tell it from one the citizen ignored (services.py)."""

    public_id = models.CharField(_("public id"), max_length=43, unique=True, default=new_public_id)
    party = models.ForeignKey(
        "identity.RelyingParty", on_delete=models.PROTECT, related_name="+", verbose_name=_("relying party")
    )
    user = models.ForeignKey(
        "identity.User",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    # A keyed hash of the ID number asked about (the limits per person count by it); never the number.
    subject_key = models.CharField(_("subject key"), max_length=64, db_index=True)
    number = models.PositiveSmallIntegerField(_("number"))
    choices = models.JSONField(_("numbers offered"), default=list)
    purpose_ar = models.CharField(_("purpose in Arabic"), max_length=200)
    purpose_en = models.CharField(_("purpose in English"), max_length=200)
    callback_url = models.URLField(_("callback URL"), max_length=500, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.WAITING
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    expires_at = models.DateTimeField(_("expires at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        indexes = (
            models.Index(fields=["user", "status"], name="approval_user_status_idx"),
            models.Index(fields=["status", "expires_at"], name="approval_status_expiry_idx"),
        )
        constraints = (
            # One waiting request per party and person: the second concurrent one fails here even
            # if two transactions passed the count together.
            models.UniqueConstraint(
                fields=["party", "subject_key"],
                condition=Q(status="WAITING"),
                name="approval_one_waiting_per_party_and_person",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=10) & Q(number__lte=99), name="approval_number_two_digits"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["WAITING", "COMPLETED", "REJECTED", "EXPIRED"]),
                name="approval_status_valid",
            ),
        )

    def __str__(self) -> str:
        return f"{self.party_id} {self.public_id[:8]} {self.status}"

    def purpose(self, language: str) -> str:
        return self.purpose_en if language == "en" else self.purpose_ar


class ApprovalCallback(PushedRow):
    """The signed answer owed to the party's callback URL once its request ended: an outbox row
    (core/outbox.py) with one `jti` for every attempt, so a party can tell a repeat."""

    request = models.OneToOneField(
        ApprovalRequest, on_delete=models.CASCADE, related_name="callback", verbose_name=_("approval request")
    )

    class Meta:
        verbose_name = _("approval callback")
        verbose_name_plural = _("approval callbacks")
        indexes = (models.Index(fields=["state", "next_attempt_at"], name="approval_callback_due_idx"),)

    def __str__(self) -> str:
        return f"{self.request_id} {self.jti[:8]} {self.state}"
