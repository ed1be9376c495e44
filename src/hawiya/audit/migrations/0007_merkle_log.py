"""The Merkle log: events no longer chain (format 2, salt, the id in the leaf), the chain head
goes, signed tree heads (AuditSeal) come, and both tables refuse UPDATE and DELETE.

Format-1 events keep their sequence, prev_hash and hash, and are verified as before; the first
seal takes them in as the log's first leaves. SQLite rebuilds audit_auditevent here (new column,
altered fields), which drops its triggers: they are created again at the end.
"""

import django.db.models.fields.json
from django.db import migrations, models

TABLES = ("audit_auditevent", "audit_auditseal")


def _postgresql_create(table):
    return [
        f"""
        CREATE OR REPLACE FUNCTION {table}_refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only: % refused', TG_OP;
        END;
        $$
        """,
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"""
        CREATE TRIGGER {table}_append_only
        BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()
        """,
    ]


def _sqlite_create(table):
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update",
        f"DROP TRIGGER IF EXISTS {table}_no_delete",
        f"""
        CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END
        """,
        f"""
        CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END
        """,
    ]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql" and table == "audit_auditevent":
            continue  # migration 0003's trigger is still in place (no table rebuild on PostgreSQL)
        statements = {"postgresql": _postgresql_create, "sqlite": _sqlite_create}.get(vendor)
        for statement in statements(table) if statements else []:
            schema_editor.execute(statement, params=None)


def drop_seal_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_auditseal_append_only ON audit_auditseal", params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_auditseal_refuse_change()", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0006_verification'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditSeal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tree_size', models.PositiveBigIntegerField(editable=False, unique=True, verbose_name='tree size')),
                ('root_hash', models.CharField(editable=False, max_length=64, verbose_name='root hash')),
                ('first_event_id', models.PositiveBigIntegerField(editable=False, verbose_name='first event id')),
                ('last_event_id', models.PositiveBigIntegerField(editable=False, unique=True, verbose_name='last event id')),
                ('event_ids', models.JSONField(default=list, editable=False, verbose_name='event id runs')),
                ('frontier', models.JSONField(default=list, editable=False, verbose_name='subtree roots')),
                ('signed_at', models.DateTimeField(editable=False, verbose_name='signed at')),
                ('key_id', models.CharField(editable=False, max_length=64, verbose_name='key id')),
                ('signature', models.CharField(editable=False, max_length=128, verbose_name='signature')),
            ],
            options={
                'verbose_name': 'audit seal',
                'verbose_name_plural': 'audit seals',
                'ordering': ('-tree_size',),
            },
        ),
        migrations.DeleteModel(
            name='AuditChainHead',
        ),
        migrations.AlterModelOptions(
            name='auditevent',
            options={'ordering': ('-id',), 'verbose_name': 'audit event', 'verbose_name_plural': 'audit events'},
        ),
        migrations.RemoveIndex(
            model_name='auditevent',
            name='audit_event_person_idx',
        ),
        migrations.AddField(
            model_name='auditevent',
            name='salt',
            field=models.CharField(blank=True, default='', editable=False, max_length=32, verbose_name='salt'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='hash',
            field=models.CharField(editable=False, max_length=64, verbose_name='hash'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='prev_hash',
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, verbose_name='previous hash'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='sequence',
            field=models.PositiveBigIntegerField(blank=True, editable=False, null=True, verbose_name='sequence number'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(django.db.models.fields.json.KeyTransform('person_id', 'detail'), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('actor_role', ''), _negated=True), name='audit_event_person_id_idx'),
        ),
        migrations.AddConstraint(
            model_name='auditevent',
            constraint=models.UniqueConstraint(condition=models.Q(('sequence__isnull', False)), fields=('sequence',), name='audit_event_legacy_sequence_unique'),
        ),
        migrations.AddConstraint(
            model_name='auditseal',
            constraint=models.CheckConstraint(condition=models.Q(('tree_size__gte', 1)), name='audit_seal_size_positive'),
        ),
        migrations.AddConstraint(
            model_name='auditseal',
            constraint=models.CheckConstraint(condition=models.Q(('first_event_id__lte', models.F('last_event_id'))), name='audit_seal_batch_ordered'),
        ),
        migrations.RunPython(create_triggers, drop_seal_triggers),
    ]
