"""On PostgreSQL: a GIN trigram index on the lexicon's words (`NameWord.word`), through which name
search finds the close words of a mistyped or partial query word (`word %>> 'token'`, `word %>
'token'`). Nothing on SQLite, which searches with LIKE (docs/design.md, "Finding a person").

Like 0008's index on `search_name`: not in the model's Meta (Django would create it on SQLite
too), built CONCURRENTLY (hence not atomic) so that persons saved meanwhile can add their words.
The pg_trgm extension comes from 0008. Without GIN's pending list (`fastupdate = off`): new words
are rare once the lexicon is filled, so each goes straight into the index, and no search has to
read a pending list (which also made PostgreSQL's planner prefer reading every word).

It also drops the `text_pattern_ops` index Django adds beside the primary key of a text column
(for LIKE 'prefix%'): nothing asks the lexicon that, every new word would pay for it, and the
planner, misled by it, would read all of it rather than the trigram index.
"""

from django.db import migrations

INDEX = "registry_nameword_word_trgm"


# The index Django made for LIKE on the primary key (its name carries a hash): found by its opclass.
PATTERN_INDEXES_SQL = """
SELECT indexrelid::regclass::text FROM pg_index
WHERE indrelid = 'registry_nameword'::regclass AND NOT indisprimary
  AND pg_get_indexdef(indexrelid) LIKE %s
"""


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
        "ON registry_nameword USING gin (word gin_trgm_ops) WITH (fastupdate = off)"
    )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(PATTERN_INDEXES_SQL, ["%text_pattern_ops%"])
        pattern_indexes = [row[0] for row in cursor.fetchall()]
    for name in pattern_indexes:
        # The name comes from PostgreSQL's catalog (regclass text is quoted where needed).
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0011_name_word_fill"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
