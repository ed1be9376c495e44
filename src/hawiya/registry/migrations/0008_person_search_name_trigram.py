"""On PostgreSQL: the pg_trgm extension and a GIN trigram index on `Person.search_name`, which
name search uses for its `%>` (word similarity) conditions. Nothing on SQLite, which searches
with LIKE over the same column (docs/design.md, "Finding a person").

The index is not in the model's Meta: Django would create it on SQLite too (which has no GIN),
including whenever SQLite rebuilds the table. It is built CONCURRENTLY (hence not atomic) so
that adding it to a register of millions does not block writes to persons while it builds.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "registry_person_search_name_trgm"


class TrigramExtensionOnPostgres(TrigramExtension):
    """Django's operation skips other databases going forwards but not backwards (it would ask
    SQLite for pg_extension): skip them both ways."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        super().database_backwards(app_label, schema_editor, from_state, to_state)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
        "ON registry_person USING gin (search_name gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0007_person_search_name_fill"),
    ]

    operations = [
        # CREATE EXTENSION IF NOT EXISTS; skipped on any other database.
        TrigramExtensionOnPostgres(),
        migrations.RunPython(create_index, drop_index),
    ]
