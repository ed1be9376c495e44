"""The application's database role gets a statement time limit in its own database (PostgreSQL).

No request can use an answer later than the ingress controller waits for one (60 s), yet without
a limit a runaway query goes on for as long as it takes, on the primary, after its request is
gone. `ALTER ROLE CURRENT_USER IN DATABASE <this one>` touches only this role in this database
(not the server's other databases, not the operator's own roles, backups or replication), and
PgBouncer's server connections start with it. The migrate Job sets PGOPTIONS="-c
statement_timeout=0", which a client's startup options override it with: an index build may take
longer. Reads that need less have their own, shorter limit (core/statement_limit.py). To change
it: ALTER ROLE <role> IN DATABASE <db> SET statement_timeout = '...' (docs/deploy.md)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

LIMIT = "60s"


def _database(schema_editor: Any) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        return str(schema_editor.connection.ops.quote_name(cursor.fetchone()[0]))


def limit(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER ROLE CURRENT_USER IN DATABASE {_database(schema_editor)} SET statement_timeout = '{LIMIT}'"
        )


def unlimit(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER ROLE CURRENT_USER IN DATABASE {_database(schema_editor)} RESET statement_timeout")


class Migration(migrations.Migration):
    dependencies: list[tuple[str, str]] = []
    operations = [migrations.RunPython(limit, unlimit, elidable=False)]
