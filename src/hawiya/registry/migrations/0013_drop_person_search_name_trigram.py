"""On PostgreSQL: drop 0008's GIN trigram index on `Person.search_name`, which name search no
longer reads. Nothing on SQLite.

Since the lexicon of name words (0010-0012), persons are found through the GIN index on their
words only (0009: `@>` the whole words, `&&` the close words the lexicon gave for the others);
the trigram work is done on the lexicon's own index (0012), and the rank's similarities are
computed on the few candidates, which no index answers. The persons' trigram index was only
upkeep: every write of a person's name updated it (779 MB at ten million persons, the longest
build of a large load). The pg_trgm extension stays: the lexicon's index needs it.

Dropped CONCURRENTLY (hence not atomic), so that searches and writes to persons go on meanwhile.
Reversible: going back builds it again as 0008 did.
"""

from django.db import migrations

INDEX = "registry_person_search_name_trgm"


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
        "ON registry_person USING gin (search_name gin_trgm_ops)"
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0012_name_word_trigram"),
    ]

    operations = [migrations.RunPython(drop_index, create_index)]
