"""The minute jobs, run once a period wherever they are started.

Every scheduler (`manage.py run_scheduler`, or one `manage.py run_periodic` pass from cron) on
every machine goes through the same jobs; for each, one conditional UPDATE on its lease row
claims the current period (`last_period < period`) when nobody holds it (`held_until` empty or
past). Exactly one scheduler's UPDATE matches: the others skip the job until the next period. A
job that outlasts its period keeps the lease, so the next period's run waits for it instead of
running beside it; a scheduler that dies mid-job gives the lease up when `held_until` passes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from hawiya.casework.models import PeriodicJobLease
from hawiya.core import clock

logger = logging.getLogger(__name__)

Job = Callable[[], int]


def period_seconds() -> int:
    return int(settings.HAWIYA_SCHEDULER_PERIOD_SECONDS)


def period_of(at: dt.datetime) -> int:
    """The number of the period `at` falls in (periods start on the epoch's whole minutes)."""
    return int(at.timestamp()) // period_seconds()


def this_holder() -> str:
    """Who holds a lease: host and process, for the operator reading the lease table."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def job_claim(name: str, *, now: dt.datetime, holder: str) -> bool:
    """Claim `name` for the period `now` falls in; True for exactly one claimant a period."""
    PeriodicJobLease.objects.bulk_create([PeriodicJobLease(name=name)], ignore_conflicts=True)
    lease = dt.timedelta(seconds=int(settings.HAWIYA_SCHEDULER_LEASE_SECONDS))
    claimed = (
        PeriodicJobLease.objects.filter(name=name, last_period__lt=period_of(now))
        .filter(Q(held_until__isnull=True) | Q(held_until__lt=now))
        .update(last_period=period_of(now), held_until=now + lease, holder=holder, last_started_at=now)
    )
    return claimed == 1


def job_release(name: str, *, holder: str, failed: bool) -> None:
    """Give the lease back (only the holder's own: a lease that expired may be someone else's)."""
    PeriodicJobLease.objects.filter(name=name, holder=holder).update(
        held_until=None, last_finished_at=clock.now(), last_failed=failed
    )


@dataclass
class PassReport:
    """What one pass did: each job run with its count, the jobs another scheduler had, failures."""

    ran: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def jobs_run_due(jobs: Mapping[str, Job], *, holder: str | None = None) -> PassReport:
    """One pass: run each job this scheduler can claim for the current period. One job failing
    does not stop the others (it is logged and reported)."""
    holder = holder or this_holder()
    report = PassReport()
    for name, job in jobs.items():
        if not job_claim(name, now=clock.now(), holder=holder):
            report.skipped.append(name)
            continue
        failed = False
        try:
            report.ran[name] = job()
        except Exception:
            logger.exception("Periodic job %s failed", name)
            report.failed.append(name)
            failed = True
        finally:
            job_release(name, holder=holder, failed=failed)
    return report
