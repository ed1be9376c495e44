"""On PostgreSQL: audit_auditevent becomes a table partitioned by month of `occurred_at` (UTC),
with a DEFAULT partition so that an insert never fails for want of a partition. Nothing on SQLite,
either way.

Forwards, in one transaction holding the old table's ACCESS EXCLUSIVE lock (audited writes wait
for it; the copy reads every row once): a partitioned table shaped like the old one (LIKE: columns,
defaults, CHECK constraints, the id's identity), one partition per month holding events, the
current month and the next three (`services.audit_ensure_partitions` keeps them ahead
afterwards), and the DEFAULT one; every row copied; the id sequence carried on at the old one's
value; the old table dropped; the names taken over (table, sequence); then the indexes, the primary
key and the append-only trigger made on the parent, which gives each partition its own.

What changes in the database, not in Django's model: the primary key is (id, occurred_at), since
PostgreSQL wants the partition key in every unique index, and the format-1 sequence's unique index
becomes (sequence, occurred_at). Ids stay unique all the same: `audit_record` takes each from the
identity sequence (nextval); `audit_verify` names a repeated or missing format-1 sequence number.
No foreign key points at audit_auditevent (checked before anything moves: one would need a
unique index on id alone, which a partitioned table cannot have).

Backwards: the same copy the other way, into one plain table with the primary key (id) and the
unique (sequence) again; the partitions go with the partitioned table.
"""

import datetime as dt

from django.db import migrations

TABLE = "audit_auditevent"
SEQUENCE = "audit_auditevent_id_seq"
DEFAULT_PARTITION = "audit_auditevent_default"
MONTHS_AHEAD = 3

# The model's indexes (Meta.indexes and the conditional unique constraint), as PostgreSQL makes
# them; on a partitioned parent each becomes a partitioned index with one index per partition.
INDEXES = [
    "CREATE INDEX audit_event_object_idx ON {table} (object_type, object_id)",
    "CREATE INDEX audit_event_actor_idx ON {table} (actor, occurred_at)",
    "CREATE INDEX audit_event_action_idx ON {table} (action, occurred_at)",
    "CREATE INDEX audit_event_person_id_idx ON {table} ((detail -> 'person_id'), id DESC)"
    " WHERE NOT actor_role::text = ''",
]
TRIGGER = (
    f"CREATE TRIGGER audit_auditevent_append_only BEFORE UPDATE OR DELETE ON {TABLE}"
    " FOR EACH ROW EXECUTE FUNCTION audit_auditevent_refuse_change()"
)


def month_start(value: dt.datetime) -> dt.datetime:
    value = value.astimezone(dt.UTC)
    return dt.datetime(value.year, value.month, 1, tzinfo=dt.UTC)


def next_month(value: dt.datetime) -> dt.datetime:
    return dt.datetime(value.year + value.month // 12, value.month % 12 + 1, 1, tzinfo=dt.UTC)


def partition_name(month: dt.datetime) -> str:
    return f"{TABLE}_{month.year:04d}_{month.month:02d}"


def _fetch(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchall()


def _copy_into(cursor, old: str, new: str) -> None:
    """Every row of `old` into `new`, column by column by name, counted."""
    columns = [
        row[0]
        for row in _fetch(
            cursor,
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped ORDER BY attnum",
            [old],
        )
    ]
    names = ", ".join(f'"{name}"' for name in columns)
    cursor.execute(f"INSERT INTO {new} ({names}) OVERRIDING SYSTEM VALUE SELECT {names} FROM {old}")
    (old_count,) = _fetch(cursor, f"SELECT count(*) FROM {old}")[0]
    (new_count,) = _fetch(cursor, f"SELECT count(*) FROM {new}")[0]
    if old_count != new_count:
        raise RuntimeError(f"copied {new_count} of {old_count} audit events; nothing changed")


def _carry_sequence(cursor, old: str, new: str) -> None:
    (old_sequence,) = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [old])[0]
    (new_sequence,) = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [new])[0]
    last_value, is_called = _fetch(cursor, f"SELECT last_value, is_called FROM {old_sequence}")[0]
    cursor.execute("SELECT setval(%s::regclass, %s, %s)", [new_sequence, last_value, is_called])


def _copy_privileges(cursor, old: str, new: str, kind: str = "TABLE") -> None:
    """The old relation's owner and grants, onto the new one (a LIKE copies neither): a role
    that may only insert and select keeps exactly that. An identity sequence follows its
    table's owner."""
    if kind == "TABLE":
        (owner,) = _fetch(
            cursor,
            "SELECT quote_ident(pg_get_userbyid(relowner)) FROM pg_class WHERE oid = %s::regclass",
            [old],
        )[0]
        cursor.execute(f"ALTER TABLE {new} OWNER TO {owner}")
    grants = _fetch(
        cursor,
        "SELECT CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(acl.grantee)) END,"
        " acl.privilege_type, acl.is_grantable"
        " FROM pg_class, aclexplode(relacl) AS acl WHERE pg_class.oid = %s::regclass AND acl.grantee <> relowner",
        [old],
    )
    for grantee, privilege, grantable in grants:
        option = " WITH GRANT OPTION" if grantable else ""
        cursor.execute(f"GRANT {privilege} ON {kind} {new} TO {grantee}{option}")


def _take_names(cursor, old: str, new: str) -> None:
    """Drop the old table (its indexes, trigger and sequence go with it); the new one takes the
    table's and the sequence's names, owners and grants."""
    _copy_privileges(cursor, old, new)
    (old_sequence,) = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [old])[0]
    (new_sequence,) = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [new])[0]
    _copy_privileges(cursor, old_sequence, new_sequence, kind="SEQUENCE")
    cursor.execute(f"DROP TABLE {old}")
    cursor.execute(f"ALTER TABLE {new} RENAME TO {TABLE}")
    (sequence,) = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])[0]
    if sequence.split(".")[-1] != SEQUENCE:
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {SEQUENCE}")


def _refuse_foreign_keys(cursor) -> None:
    referencing = _fetch(
        cursor,
        "SELECT conname, conrelid::regclass::text FROM pg_constraint"
        " WHERE contype = 'f' AND confrelid = %s::regclass",
        [TABLE],
    )
    if referencing:
        raise RuntimeError(f"foreign keys point at {TABLE}: {referencing}; partitioning would break them")


def _move_rows(cursor, new: str, *, primary_key: str, sequence_unique: str) -> None:
    """Every event into `new`, which then takes the table's names; then its keys, indexes and
    trigger, made after the copy (one sort per index instead of one insertion per row)."""
    _copy_into(cursor, TABLE, new)
    _carry_sequence(cursor, TABLE, new)
    _take_names(cursor, TABLE, new)
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT audit_auditevent_pkey PRIMARY KEY ({primary_key})")
    for statement in INDEXES:
        cursor.execute(statement.format(table=TABLE))
    cursor.execute(
        f"CREATE UNIQUE INDEX audit_event_legacy_sequence_unique ON {TABLE} ({sequence_unique})"
        " WHERE sequence IS NOT NULL"
    )
    cursor.execute(TRIGGER)
    cursor.execute(f"ANALYZE {TABLE}")


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        _refuse_foreign_keys(cursor)
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        new = f"{TABLE}_partitioned"
        cursor.execute(
            f"CREATE TABLE {new} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            " INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (occurred_at)"
        )
        months = {
            month_start(row[0])
            for row in _fetch(cursor, f"SELECT DISTINCT date_trunc('month', occurred_at, 'UTC') FROM {TABLE}")
        }
        (now,) = _fetch(cursor, "SELECT now()")[0]
        month = month_start(now)
        for _ in range(MONTHS_AHEAD + 1):
            months.add(month)
            month = next_month(month)
        for month in sorted(months):
            cursor.execute(
                f"CREATE TABLE {partition_name(month)} PARTITION OF {new} FOR VALUES FROM (%s) TO (%s)",
                [month.isoformat(), next_month(month).isoformat()],
            )
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {new} DEFAULT")
        _move_rows(cursor, new, primary_key="id, occurred_at", sequence_unique="sequence, occurred_at")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        new = f"{TABLE}_plain"
        cursor.execute(
            f"CREATE TABLE {new} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            " INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        _move_rows(cursor, new, primary_key="id", sequence_unique="sequence")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0007_merkle_log"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
