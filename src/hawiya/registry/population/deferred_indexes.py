"""A large load into PostgreSQL without index upkeep: the secondary indexes, UNIQUE constraints and
foreign keys of the loaded tables are dropped inside the load's transaction and built again, each
in one pass, before it commits.

Why: every row COPYed into an indexed table updates each of its indexes at a random place (ID
numbers, serials and the GIN index of the names' words are in no useful order), and every row of a
table with DEFERRABLE foreign keys queues one check for the commit. At 10 million persons that
upkeep is most of the load. Built afterwards, an index is one sort (CREATE INDEX, with parallel
workers), a UNIQUE constraint one sort that also proves uniqueness, and a foreign key one anti-join
(ALTER TABLE ... ADD CONSTRAINT validates all rows in a single query), so every rule the schema
states still holds when the transaction commits, and a failure anywhere rolls the drops back.

What is kept: primary keys (other tables' foreign keys depend on them, and rows arrive in key
order, so keeping them is cheap), CHECK constraints (checked per row, no index), and any index a
foreign key of another table depends on. The definitions are read from PostgreSQL's catalog, so
whatever a migration adds later is dropped and rebuilt exactly as it was.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection
from django.db.models import Model

# Memory for each index build during the load (a session setting, undone at commit). A sort that
# fits in memory is several times faster than one spilled to disk (28M document serials need
# ~1.2 GB); PostgreSQL shares it among the parallel workers of one build.
LOAD_MAINTENANCE_WORK_MEM = "2GB"

# The unique and foreign-key constraints of the loaded tables; a UNIQUE constraint is left alone
# when a foreign key of some table relies on its index.
_CONSTRAINTS_SQL = """
SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
FROM pg_constraint c
WHERE c.conrelid = ANY(%s::regclass[])
  AND (c.contype = 'f'
       OR (c.contype = 'u'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)))
ORDER BY c.contype = 'f' DESC, c.conrelid::regclass::text, c.conname
"""
# Indexes that belong to no constraint (those come back with their constraint) and that no
# foreign key relies on.
_INDEXES_SQL = """
SELECT i.indexrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = ANY(%s::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                  AND (c.conrelid = i.indrelid OR c.contype = 'f'))
ORDER BY i.indrelid::regclass::text, i.indexrelid::regclass::text
"""


@dataclass(frozen=True)
class DeferredSchema:
    """What was dropped, and what builds it again by name (indexes first, foreign keys last)."""

    drops: tuple[str, ...]
    rebuilds: tuple[tuple[str, str], ...]  # (index or constraint name, statement)


def read_deferred_schema(models: Sequence[type[Model]]) -> DeferredSchema:
    """The statements that drop and rebuild the deferrable schema of `models`' tables."""
    quote = connection.ops.quote_name
    tables = [model._meta.db_table for model in models]
    drops: list[str] = []
    index_rebuilds: list[tuple[str, str]] = []
    key_rebuilds: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        cursor.execute(_CONSTRAINTS_SQL, [tables])
        constraints = cursor.fetchall()
        cursor.execute(_INDEXES_SQL, [tables])
        indexes = cursor.fetchall()
    # Foreign keys are dropped first (the query orders them so): a key may rely on a UNIQUE
    # constraint of a table loaded here.
    for table, name, kind, definition in constraints:
        drops.append(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        rebuild = (name, f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
        (key_rebuilds if kind == "f" else index_rebuilds).append(rebuild)
    for name, index_name, definition in indexes:
        drops.append(f"DROP INDEX {name}")
        index_rebuilds.append((index_name, definition))
    return DeferredSchema(drops=tuple(drops), rebuilds=tuple(index_rebuilds + key_rebuilds))


@contextmanager
def indexes_built_after_load(
    models: Sequence[type[Model]], timings: dict[str, float] | None = None
) -> Iterator[None]:
    """Inside a transaction on PostgreSQL: drop the deferrable schema of `models`, let the caller
    load, then build it again (the checks it makes fail the transaction, as a row would have).
    Tables stay locked (ACCESS EXCLUSIVE) until the commit: a load is not for a busy register.
    `timings`, if given, receives the seconds each rebuild took, by index or constraint name."""
    if connection.vendor != "postgresql":
        raise RuntimeError("indexes_built_after_load is for PostgreSQL")
    if not connection.in_atomic_block:
        raise RuntimeError("indexes_built_after_load must run inside the load's transaction")
    schema = read_deferred_schema(models)
    with connection.cursor() as cursor:
        # Identifiers come from PostgreSQL's own catalog (regclass text is quoted where needed).
        for statement in schema.drops:
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        # set_config(..., true) is SET LOCAL with a bound value.
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [LOAD_MAINTENANCE_WORK_MEM])
        for name, statement in schema.rebuilds:
            started = time.perf_counter()
            cursor.execute(statement)
            if timings is not None:
                timings[name] = time.perf_counter() - started
    # Statistics come from the seeder's VACUUM (ANALYZE) once the load has committed.
