"""The retention job's queries over third-party tables have an index to use (casework 0002)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from hawiya.core import clock

pytestmark = pytest.mark.django_db

INDEX = "hawiya_task_results_finished_idx"


def _indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {
            name
            for name, info in connection.introspection.get_constraints(cursor, table).items()
            if info["index"]
        }


def test_finished_tasks_are_indexed_by_when_they_finished() -> None:
    assert INDEX in _indexes(DBTaskResult._meta.db_table)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_the_task_prune_finds_its_rows_through_the_index() -> None:
    # The same condition as core.retention.task_results_prune, as delete_in_batches asks for it.
    finished = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
        finished_at__isnull=False,
        finished_at__lt=clock.now() - dt.timedelta(days=30),
    )
    query = finished.order_by().values_list("pk", flat=True)[:500]
    with connection.cursor() as cursor:
        # An empty table is scanned whatever its indexes: ask what the plan would be with rows.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert INDEX in plan, plan
