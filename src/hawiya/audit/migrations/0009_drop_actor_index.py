"""Drop audit_event_actor_idx (actor, occurred_at): no query reads it. The only query on `actor`
is the admin's exact search, which Django writes as UPPER(actor) = UPPER(%s) (a sequential scan
with or without the index), and every audited write paid one more B-tree insertion for it.

On PostgreSQL the index is a partitioned one (migration 0008): dropping it drops each
partition's, a catalog change that rewrites nothing but takes the table's ACCESS EXCLUSIVE lock
for a moment. `lock_timeout` keeps the migration from queueing every audited write behind a long
transaction: it fails after 5 s instead, and is run again at a quieter moment. On SQLite a plain
DROP INDEX. Backwards, the index is built again (on PostgreSQL a CREATE INDEX on the partitioned
table, which blocks audited writes while it reads every partition).
"""

from django.db import migrations, models


def _lock_timeout(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL lock_timeout = '5s'", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0008_partition_by_month"),
    ]

    operations = [
        migrations.RunPython(_lock_timeout, _lock_timeout),
        migrations.RemoveIndex(model_name="auditevent", name="audit_event_actor_idx"),
    ]
