"""Test-suite support: the audit trail's triggers against the suite's own clean-up.

A transactional test (`django_db(transaction=True)`, the live server) ends with a flush. On
SQLite that is `DELETE FROM` every table, which the append-only triggers refuse; the root
conftest calls `clear_audit_trail` just before the flush. Never called by the application.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections, transaction

EVENT_TABLE = "audit_auditevent"
SEAL_TABLE = "audit_auditseal"


def append_only_triggers(using: str = DEFAULT_DB_ALIAS, table: str = EVENT_TABLE) -> list[str]:
    """Names of the triggers guarding an audit table (PostgreSQL or SQLite)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s ORDER BY name",
                [table],
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal"
                " ORDER BY tgname",
                [table],
            )
        else:
            return []
        return [row[0] for row in cursor.fetchall()]


def clear_audit_trail(using: str = DEFAULT_DB_ALIAS) -> None:
    """Empty the event and seal tables, lifting SQLite's triggers for that moment only."""
    connection = connections[using]
    quote = connection.ops.quote_name
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for table in (SEAL_TABLE, EVENT_TABLE):
            if connection.vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
                )
                triggers = cursor.fetchall()
                for name, _sql in triggers:
                    cursor.execute(f"DROP TRIGGER {quote(name)}")
                cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608 - constant table name
                for _name, sql in triggers:
                    cursor.execute(sql)
            else:
                # Row triggers do not fire on TRUNCATE.
                cursor.execute(f"TRUNCATE {quote(table)}")
