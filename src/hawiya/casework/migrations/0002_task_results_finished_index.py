"""An index on when a background task finished, for the retention job (core.retention
`task_results_prune`): it deletes finished tasks older than HAWIYA_RETENTION_TASKS_DAYS every
minute, and django_tasks_db indexes only the ready tasks, so without this each run scanned every
task row (millions a day at national scale: each text message is a task).

The table is django_tasks_db's, so the index is raw SQL here, in the app whose minute job runs the
prune; partial (finished tasks only), which both engines support. Built CONCURRENTLY on PostgreSQL
(hence not atomic) so that the workers go on writing meanwhile.
"""

from django.db import migrations

INDEX = "hawiya_task_results_finished_idx"
TABLE = "django_tasks_database_dbtaskresult"


def create_index(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE INDEX {concurrently}IF NOT EXISTS {INDEX} ON {TABLE} (finished_at) "
        "WHERE finished_at IS NOT NULL"
    )


def drop_index(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("casework", "0001_periodic_job_leases"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
