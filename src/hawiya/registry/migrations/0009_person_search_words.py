"""On PostgreSQL: a GIN index on the words of `Person.search_name` as an array, which name search
asks first for whole words (`string_to_array(search_name, ' ') @> ARRAY[...]`: one posting list
per word) before its trigram conditions. Nothing on SQLite (docs/design.md, "Finding a person").

An expression index: no new column and nothing to backfill, and the expression must stay the one
`registry.selectors._SearchWords` writes. Not in the model's Meta for the same reason as 0008's
trigram index; built CONCURRENTLY (hence not atomic) so that writes to persons go on meanwhile.
"""

from django.db import migrations

INDEX = "registry_person_search_words"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
        "ON registry_person USING gin ((string_to_array(search_name, ' ')))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0008_person_search_name_trigram"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
