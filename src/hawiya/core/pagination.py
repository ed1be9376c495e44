"""Pagination of lists over tables of millions (the admin's persons, documents, audit events).

Django's admin counts the rows of a list to number its pages: `SELECT COUNT(*)` over a whole
table of ten million persons reads all of it, on every page view. `EstimatedCountPaginator`
gives PostgreSQL's own estimate instead when the list is the whole table (`reltuples`, kept by
autovacuum and ANALYZE), and stops counting at `count_cap` rows when it is filtered. SQLite
(development, the embedded mode, small registers) counts exactly.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet


class EstimatedCountPaginator(Paginator[Any]):
    """A Paginator whose `count` on PostgreSQL is an estimate for a whole table (from pg_class)
    and at most `count_cap` for a filtered list; exact on other databases and below the cap.

    With a capped count, the pages past the cap are not offered: a filter that matches more
    than that many rows is refined, not browsed.
    """

    count_cap = 10_000

    @cached_property
    def count(self) -> int:
        rows: Any = self.object_list
        if not isinstance(rows, QuerySet) or connections[rows.db].vendor != "postgresql":
            return super().count
        if not rows.query.where:
            estimate = self._estimated_rows(rows)
            # Small, or never analysed (-1): counting is cheap or the only honest answer.
            if estimate >= self.count_cap:
                return estimate
        # COUNT over a LIMITed subquery: stops after count_cap + 1 rows ("more than the cap").
        return rows.order_by()[: self.count_cap + 1].count()

    @staticmethod
    def _estimated_rows(rows: QuerySet[Any]) -> int:
        with connections[rows.db].cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)",
                [connections[rows.db].ops.quote_name(rows.model._meta.db_table)],
            )
            found = cursor.fetchone()
        return int(found[0]) if found and found[0] is not None else -1
