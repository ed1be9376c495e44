"""A time limit on the statements of one block, for reads a person starts and that may read far
more than they meant (a very common name, an audit search without its index).

On PostgreSQL the block runs in a transaction (or a savepoint of the caller's) with a local
statement_timeout: a statement past it is cancelled by the server, which frees the primary at
once, and arrives here as Django's OperationalError, which `timed_out` recognises. SET LOCAL is
scoped to that transaction, so it is safe behind PgBouncer in transaction mode, and the previous
limit is put back for the rest of a caller's transaction. SQLite has no such limit: nothing there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, connections, transaction


@contextmanager
def statement_time_limit(alias: str, milliseconds: int) -> Iterator[None]:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout')")
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{milliseconds}ms"])
        yield
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])


def timed_out(error: OperationalError, alias: str) -> bool:
    """The error is PostgreSQL cancelling a statement at its statement_timeout (psycopg's
    QueryCanceled)."""
    return connections[alias].vendor == "postgresql" and "statement timeout" in str(error)
