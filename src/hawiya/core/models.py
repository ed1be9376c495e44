"""The shared kernel's model pieces."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock


class TimeStamped(models.Model):
    """Created and updated times, in UTC, for every row a person or officer can change."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class PushedRow(models.Model):
    """An outbox row for one signed token pushed to a partner (core/outbox.py): one `jti` for every
    attempt, so the partner can tell a repeat; pending until sent, or failed once given up."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    jti = models.CharField(_("token id"), max_length=64, unique=True, editable=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error_code = models.CharField(_("last error"), max_length=40, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        abstract = True
