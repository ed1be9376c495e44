"""The platform's clock-driven work: one pass of the minute jobs (`run_scheduler` makes a pass
every minute; cron may call this instead).

Each job runs once a period however many machines run this at once: a pass skips the jobs another
scheduler has already run, or is running, for the current period (casework/scheduler.py). Each job
is idempotent and bounded too, so a late run is harmless. The jobs: unpaid bills expire after 72
hours; fine refunds whose hand-over was lost are handed to the worker again; appointment reminders
go out the day before; booked visits missed by more than an hour become no-shows (the request can
be booked again); stalled text messages, back-channel logouts and security events to relying
parties are handed to the worker again; documents past their expiry date expire; photos and
answers (drafts) of abandoned journeys are deleted after a day; app approvals past their three
minutes expire and their parties' callbacks whose hand-over was lost are handed over again;
lost-document alarms whose hand-over was lost are sent; finished text messages and task rows,
expired challenges and sessions are deleted after their retention (casework/retention.py); new
audit events are sealed into the signed Merkle log, and on PostgreSQL the audit trail's monthly
partitions are made three months ahead (audit/services.py; a catalog read when they exist).
One job failing does not stop the others; the command then exits non-zero so cron reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hawiya.appointments.services.sweeps import appointment_no_shows_mark_due, appointment_reminders_send_due
from hawiya.approvals.callbacks import approval_callbacks_sweep
from hawiya.approvals.services import approvals_expire_due
from hawiya.audit.services import audit_ensure_partitions, audit_seal_due
from hawiya.casework.retention import retention_prune
from hawiya.casework.scheduler import jobs_run_due
from hawiya.core import clock
from hawiya.delivery.services import shipments_announce_due
from hawiya.document_checks.services import lost_document_alarms_sweep
from hawiya.identity.backchannel_logout import backchannel_logout_sweep
from hawiya.identity.drafts import journey_drafts_sweep
from hawiya.identity.security_signals import security_event_sweep
from hawiya.notifications.services import sms_requeue_stalled
from hawiya.payments.services import bills_expire_due, refunds_retry_due
from hawiya.registry.services import document_expire_due
from hawiya.replacements.photos import photo_uploads_sweep


def periodic_jobs() -> dict[str, Callable[[], int]]:
    """Each job by name; each returns how many things it changed."""
    return {
        "sms_requeue_stalled": lambda: sms_requeue_stalled(),
        "backchannel_logout_sweep": lambda: len(backchannel_logout_sweep()),
        "security_event_sweep": lambda: len(security_event_sweep()),
        "bills_expire_due": lambda: bills_expire_due(now=clock.now()),
        "refunds_retry_due": lambda: refunds_retry_due(now=clock.now()),
        "appointment_reminders_send_due": lambda: appointment_reminders_send_due(now=clock.now()),
        "appointment_no_shows_mark_due": lambda: appointment_no_shows_mark_due(now=clock.now()),
        "document_expire_due": lambda: document_expire_due(today=clock.today()),
        "photo_uploads_sweep": lambda: photo_uploads_sweep(now=clock.now()),
        "journey_drafts_sweep": lambda: journey_drafts_sweep(now=clock.now()),
        "shipments_announce_due": lambda: shipments_announce_due(now=clock.now()),
        "approvals_expire_due": lambda: approvals_expire_due(),
        "approval_callbacks_sweep": lambda: len(approval_callbacks_sweep()),
        "lost_document_alarms_sweep": lambda: lost_document_alarms_sweep(now=clock.now()),
        "retention_prune": lambda: sum(retention_prune(now=clock.now()).values()),
        "audit_seal_due": lambda: audit_seal_due(),
        "audit_ensure_partitions": lambda: audit_ensure_partitions(),
    }


class Command(BaseCommand):
    help = "One pass of the periodic jobs (bill expiry, reminders, SMS sweeper, document expiry...)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = jobs_run_due(periodic_jobs())
        if options["verbosity"] >= 1:
            for name, count in report.ran.items():
                if count:
                    self.stdout.write(f"{name}: {count}")
        if report.failed:
            raise CommandError(f"periodic jobs failed: {', '.join(report.failed)}")
