"""The minute jobs' leases: one row per job, so that several schedulers run each job once a period."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodicJobLease(models.Model):
    """Which period a job last ran for, and who holds it while it runs.

    A scheduler runs a job only after one conditional UPDATE moved `last_period` forward and took
    the lease (casework/scheduler.py); a second scheduler's UPDATE then matches no row. A row lock
    for one statement, no session state: it works the same through PgBouncer's transaction mode
    and on SQLite."""

    name = models.CharField(_("job"), max_length=60, primary_key=True)
    # The number of the period (seconds since the epoch // period length) the job last ran for.
    last_period = models.BigIntegerField(_("last period"), default=0)
    # While the job runs: until when the holder keeps it (a scheduler that died lets it go then).
    held_until = models.DateTimeField(_("held until"), null=True, blank=True)
    holder = models.CharField(_("holder"), max_length=120, blank=True, default="")
    last_started_at = models.DateTimeField(_("last started at"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished at"), null=True, blank=True)
    last_failed = models.BooleanField(_("last run failed"), default=False)

    class Meta:
        verbose_name = _("periodic job lease")
        verbose_name_plural = _("periodic job leases")

    def __str__(self) -> str:
        return self.name
