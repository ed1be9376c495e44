"""Deleting what only grows, a little at a time (docs/design.md §9).

Each app prunes its own rows (notifications: finished text messages; identity: expired challenges
and sessions; here: finished task rows); casework/retention.py runs them all from the minute job
`retention_prune`. Every prune goes through `delete_in_batches`: a batch is one short transaction of
at most `batch_size` rows, and a run stops after `max_batches`, so the first run on a big table never
holds it for long; the next run goes on where this one stopped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet


@dataclass(frozen=True)
class Batches:
    """How much one run of a prune may delete: `max_batches` transactions of `size` rows."""

    size: int
    max_batches: int

    @classmethod
    def from_settings(cls) -> Batches:
        return cls(
            size=int(settings.HAWIYA_RETENTION_BATCH_SIZE),
            max_batches=int(settings.HAWIYA_RETENTION_MAX_BATCHES),
        )


def delete_in_batches(queryset: QuerySet[Any], *, batches: Batches | None = None) -> int:
    """Delete the rows of `queryset` in bounded batches; returns how many of its model's rows went.

    Each batch locks at most `size` matching rows and deletes those of them that still match,
    with Django's own delete: the models' on_delete rules apply (a SET_NULL reference is cleared
    in the same transaction). Stops when a batch finds fewer rows than `size`, or after
    `max_batches`.
    """
    limits = batches or Batches.from_settings()
    label = queryset.model._meta.label
    deleted = 0
    for _batch in range(limits.max_batches):
        with transaction.atomic():
            # Locked as read, skipping rows another transaction holds (a worker recording a
            # delivery report): they wait for the next run. The condition is asked again on delete.
            candidates = queryset.order_by().select_for_update(skip_locked=True)
            keys = list(candidates.values_list("pk", flat=True)[: limits.size])
            if not keys:
                break
            _total, per_model = queryset.order_by().filter(pk__in=keys).delete()
        deleted += per_model.get(label, 0)
        if len(keys) < limits.size:
            break
    return deleted


def task_results_prune(
    *, now: dt.datetime, kept_for: dt.timedelta | None = None, batches: Batches | None = None
) -> int:
    """Delete the background tasks' rows (django_tasks_db) that finished — successfully or not —
    more than `kept_for` ago (HAWIYA_RETENTION_TASKS_DAYS); a ready or running task is never
    touched, however old. Returns how many rows went."""
    # Imported here, as in core.metrics: the tasks backend is an installed app, not a layer.
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    kept = kept_for if kept_for is not None else dt.timedelta(days=int(settings.HAWIYA_RETENTION_TASKS_DAYS))
    finished = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
        finished_at__isnull=False,
        finished_at__lt=now - kept,
    )
    return delete_in_batches(finished, batches=batches)
