"""Writing to the audit trail: `audit_record`, called by every domain service that changes state,
`audit_seal`, the minute job that seals new events into the signed Merkle log, and
`audit_ensure_partitions`, the minute job that keeps the monthly partitions ahead (PostgreSQL).

`audit_record` runs inside the transaction that makes the change (the event commits or rolls back
with it). It takes a database-generated id and inserts one row: no lock shared with unrelated
writers, so audited writes no longer queue behind one another. On PostgreSQL that is a single
statement (`_insert_numbered`): the id is `nextval` of the table's identity sequence inside the
INSERT, and PostgreSQL's `sha256()` hashes the canonical bytes Python prepared around it. On
SQLite, where writers are serialised, the id is one past the largest and Python hashes.

Sealing and out-of-order commits. Ids are allocated when a transaction asks, but transactions
commit in any order: event 41 may commit after event 42 is visible. A seal must never cover an id
that a transaction still open could commit below it, or that event could never join the tree in
id order. The rule on PostgreSQL (`_sealable_bound`):

  1. read L, the last value the id sequence handed out, then t = clock_timestamp();
  2. read T0, the start (`pg_stat_activity.xact_start`) of the oldest transaction still open in
     this database on another connection;
  3. if there is none, or T0 > t, seal up to id L; otherwise read T0 again, a few times a second,
     for at most HAWIYA_AUDIT_SEAL_WAIT_SECONDS (transactions that began after t do not count,
     so under a steady stream of short ones this waits about the longest one's duration), and
     if a transaction open since before t is still open then, seal nothing this time.

Every id <= L was handed out before t, inside a transaction (audit_record refuses to run outside
one) that had therefore started before t. If every transaction open at step 2 started after t,
every transaction that started before t is over: committed (its rows are visible to the seal's
reads, which begin after step 2) or rolled back (its ids are gone for ever). Ids handed out
later are > L. A long transaction anywhere in the database only delays sealing; it never lets a
seal skip an event.
The sealer's role must see other sessions' `xact_start` (same role, or pg_read_all_stats): when it
cannot, it seals nothing and says so. Identity sequences must keep CACHE 1 (the default), or
sessions would hand out ids from private ranges out of order.

On SQLite one writer at a time holds the database, and the id is one past the committed maximum,
so no open transaction can ever commit below a visible event; a settle margin
(HAWIYA_AUDIT_SEAL_SETTLE_SECONDS) is kept all the same.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import time
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.transaction import TransactionManagementError

from hawiya.core import clock

from . import merkle
from .actors import Actor
from .models import VERIFICATION_PK, AuditEvent, AuditSeal, AuditVerification, canonical_json
from .signing import sth_sign

logger = logging.getLogger(__name__)

EVENT_TABLE = "audit_auditevent"
# pg_advisory_xact_lock key of the sealers (only sealers take it; writers never do).
SEAL_LOCK_KEY = 0x68617769_79610001
# ...and of `audit_ensure_partitions`, so that two schedulers never create a partition together.
PARTITION_LOCK_KEY = 0x68617769_79610002
DEFAULT_PARTITION = f"{EVENT_TABLE}_default"
# How many months' partitions `audit_ensure_partitions` keeps ready beyond the current one.
PARTITION_MONTHS_AHEAD = 3
# Creating a partition locks the whole event table for a moment; behind a long transaction that
# touches it, give up (and try again at the next run) rather than queue every audited write.
PARTITION_LOCK_TIMEOUT = "2s"

ACTION_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
OBJECT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
MAX_DETAIL_BYTES = 2048
MAX_DETAIL_STRING = 120
# Keys that would carry personal data. A guard against slips, not a substitute for review:
# a detail value is an id, a status, a version or a code, never something about a person.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "name",
        "first_name",
        "family_name",
        "full_name",
        "name_ar",
        "name_en",
        "id_number",
        "national_id",
        "mobile",
        "phone",
        "email",
        "password",
        "code",
        "otp",
        "address",
        "date_of_birth",
    }
)


def _check_detail(value: Any, path: str = "detail") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: keys must be strings")
            if key.lower() in FORBIDDEN_DETAIL_KEYS:
                raise ValueError(f"{path}.{key}: personal data does not belong in the audit trail")
            _check_detail(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_detail(item, f"{path}[{index}]")
    elif isinstance(value, str):
        if len(value) > MAX_DETAIL_STRING or "\x00" in value:
            raise ValueError(f"{path}: strings are short codes (at most {MAX_DETAIL_STRING} characters)")
    elif value is not None and not isinstance(value, (bool, int)):
        # Floats are left out: their text form may not survive a round trip through jsonb.
        raise ValueError(f"{path}: only strings, integers, booleans, null, lists and objects")


_sequence_names: dict[str, str] = {}


def _sequence_name(using: str) -> str:
    """PostgreSQL: the event table's id sequence, as the catalog names it (asked once)."""
    name = _sequence_names.get(using)
    if name is None:
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [EVENT_TABLE])
            name = _sequence_names[using] = str(cursor.fetchone()[0])
    return name


def _next_event_id(using: str) -> int:
    """A fresh id for an event, taken before the insert (SQLite; PostgreSQL takes it inside the
    INSERT, `_insert_numbered`). Tests use it to hold an id in an open transaction."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(%s::regclass)", [_sequence_name(using)])
        else:
            # SQLite: the connection holds (or is about to take) the only write lock; an id that
            # another writer took meanwhile makes the insert fail, never a fork.
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {EVENT_TABLE}")  # noqa: S608 - constant
        return int(cursor.fetchone()[0])


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    detail: dict[str, Any] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> AuditEvent:
    """Append one event to the trail and return it (no lock shared with other writers).

    `actor` says who acts (its columns: `audit.actors`), `action` a stable dotted code
    ("document.reported_lost"), `object_type` a dotted model label ("registry.document") and
    `object_id` its primary key. `detail` is a small JSON object of ids, statuses and versions:
    NEVER personal data (names, ID numbers, mobile numbers, e-mail addresses, codes).
    Raises TransactionManagementError outside `transaction.atomic`, ValueError for a malformed
    argument, TypeError when `actor` is not an `Actor`.
    """
    if not transaction.get_connection(using).in_atomic_block:
        raise TransactionManagementError(
            "audit_record() must run inside the transaction that makes the change it records"
        )
    if not isinstance(actor, Actor):
        # The columns are made in one place only (`Actor.columns`), never from loose strings.
        raise TypeError(f"actor must be an audit.actors.Actor, not {type(actor).__name__}")
    object_id = str(object_id)
    if not ACTION_CODE.fullmatch(action) or len(action) > 64:
        raise ValueError(f"action must be a dotted code like 'document.reported_lost', not {action!r}")
    if not OBJECT_TYPE.fullmatch(object_type) or len(object_type) > 64:
        raise ValueError(f"object_type must be a model label like 'registry.document', not {object_type!r}")
    if not object_id or len(object_id) > 64:
        raise ValueError("object_id must be 1-64 characters")
    detail = {} if detail is None else detail
    if not isinstance(detail, dict):
        raise ValueError("detail must be a JSON object")
    _check_detail(detail)

    detail_json = canonical_json(detail)
    if len(detail_json) > MAX_DETAIL_BYTES:
        raise ValueError(f"detail is limited to {MAX_DETAIL_BYTES} bytes")

    columns = actor.columns()
    event = AuditEvent(
        occurred_at=clock.now(),
        actor=columns.actor,
        actor_role=columns.actor_role,
        actor_office=columns.actor_office,
        action=action,
        object_type=object_type,
        object_id=object_id,
        ip=columns.ip,
        detail=detail,
        salt=secrets.token_hex(16),
    )
    if connections[using].vendor == "postgresql":
        _insert_numbered(event, detail_json, using)
    else:
        event.id = _next_event_id(using)
        event.hash = event.compute_hash()
        _insert(event, using)
    return event


_INSERT_FIELDS = (
    "id", "occurred_at", "actor", "actor_role", "actor_office", "action", "object_type", "object_id",
    "ip", "detail", "salt", "hash",
)  # fmt: skip


def _insert(event: AuditEvent, using: str) -> None:
    """One plain INSERT: what `Model.save(force_insert=True)` sends, without its per-call work
    (signals, field walks, SQL compilation) on the path of every audited write."""
    connection = connections[using]
    fields = [field for field in AuditEvent._meta.concrete_fields if field.name in _INSERT_FIELDS]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(EVENT_TABLE)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    params = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    event._state.adding = False
    event._state.db = using


_NUMBERED_INSERT: dict[str, str] = {}


def _insert_numbered(event: AuditEvent, detail_json: bytes, using: str) -> None:
    """PostgreSQL: one statement, one round trip. The id is the sequence's `nextval`, taken in
    the INSERT itself, and the leaf hash is computed there by PostgreSQL's `sha256()` over the
    same canonical bytes as `AuditEvent.leaf_data()`: the ones before the id's digits, the id as
    text (an integer's JSON), the ones after (`leaf_data_around_id`). The stored row is the one
    the two-step write (`nextval`, then INSERT) would have stored."""
    connection = connections[using]
    sql = _NUMBERED_INSERT.get(using)
    if sql is None:
        sequence = _sequence_name(using).replace("'", "''")
        quote = connection.ops.quote_name
        columns = ", ".join(quote(name) for name in _INSERT_FIELDS)
        sql = _NUMBERED_INSERT[using] = (
            f"INSERT INTO {quote(EVENT_TABLE)} ({columns})"  # noqa: S608 - constant names
            " SELECT numbered.id, %s, %s, %s, %s, %s, %s, %s, %s::inet, %s::jsonb, %s,"
            " encode(sha256(%s::bytea || convert_to(numbered.id::text, 'UTF8') || %s::bytea), 'hex')"
            f" FROM (SELECT nextval('{sequence}'::regclass) AS id) AS numbered"
            f" RETURNING {quote('id')}, {quote('hash')}"
        )
    before, after = event.leaf_data_around_id()
    params: list[Any] = [
        event.occurred_at,
        event.actor,
        event.actor_role,
        event.actor_office,
        event.action,
        event.object_type,
        event.object_id,
        event.ip,
        detail_json.decode("utf-8"),
        event.salt,
        b"\x00" + before,
        after,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        event.id, event.hash = cursor.fetchone()
    event._state.adding = False
    event._state.db = using


class AuditSealRefused(RuntimeError):
    """An event waiting to be sealed does not match its own hash: it was changed after it was
    written. Nothing is sealed until an investigator has looked (`manage.py audit_verify`)."""


def _sealable_bound(using: str) -> int | None:
    """The highest id no open transaction can still commit below (module docstring), or None."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            settle = dt.timedelta(seconds=float(settings.HAWIYA_AUDIT_SEAL_SETTLE_SECONDS))
            cursor.execute(
                f"SELECT MAX(id) FROM {EVENT_TABLE} WHERE occurred_at <= %s",  # noqa: S608 - constant
                [clock.now() - settle],
            )
            row = cursor.fetchone()
            return None if row is None or row[0] is None else int(row[0])
        sequence = _sequence_name(using)
        # 1. The last id handed out, then the time: every id <= L was taken before t. One
        # statement: the sequence's row is read by the scan, clock_timestamp() (volatile, never
        # folded) afterwards by the projection of that row.
        cursor.execute(f"SELECT last_value, is_called, clock_timestamp() FROM {sequence}")  # noqa: S608
        last_value, is_called, read_at = cursor.fetchone()
        # 2. Wait (a little) for every transaction open at t to end: the oldest transaction open
        # elsewhere in this database must have started after t. Transactions that start later
        # do not matter, so under a steady stream of short ones this takes about the longest
        # one's duration. pg_stat_activity is read once per transaction and kept: drop that
        # copy each time (the caller may be inside a transaction).
        deadline = time.monotonic() + float(settings.HAWIYA_AUDIT_SEAL_WAIT_SECONDS)
        while True:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT min(xact_start), count(*) FILTER (WHERE state IS NULL) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
            oldest, hidden = cursor.fetchone()
            if hidden:
                logger.warning("Audit sealing waits: %d sessions are hidden from this role", hidden)
                return None
            if oldest is None or oldest > read_at:
                return int(last_value) if is_called else None
            if time.monotonic() >= deadline:
                logger.info("Audit sealing waits for a transaction open since %s", oldest.isoformat())
                return None
            time.sleep(0.02)


def _id_runs(ids: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for event_id in ids:
        if runs and runs[-1][1] == event_id - 1:
            runs[-1][1] = event_id
        else:
            runs.append([event_id, event_id])
    return runs


def audit_seal(*, using: str = DEFAULT_DB_ALIAS, limit: int | None = None) -> AuditSeal | None:
    """Seal the events written since the last seal, up to the sealable bound, into the Merkle
    log, and keep the signed tree head. Returns the new seal, or None when nothing could be
    sealed. Raises AuditSealRefused if a waiting event no longer matches its hash."""
    limit = int(settings.HAWIYA_AUDIT_SEAL_BATCH) if limit is None else limit
    bound = _sealable_bound(using)
    if bound is None:
        return None
    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
        last = AuditSeal.objects.using(using).order_by("-tree_size").first()
        after = last.last_event_id if last else 0
        events = list(
            AuditEvent.objects.using(using).filter(id__gt=after, id__lte=bound).order_by("id")[:limit]
        )
        if not events:
            return None
        leaves = []
        for event in events:
            leaf = event.checked_leaf_hash()
            if leaf is None:
                raise AuditSealRefused(f"audit event #{event.pk} does not match its hash; not sealing")
            leaves.append(leaf)
        size = last.tree_size if last else 0
        frontier = merkle.frontier_extend(
            [bytes.fromhex(node) for node in (last.frontier if last else [])], size, leaves
        )
        tree_size = size + len(leaves)
        root_hash = merkle.frontier_root(frontier).hex()
        signed_at = clock.now()
        key_id, signature = sth_sign(tree_size=tree_size, root_hash=root_hash, timestamp=signed_at)
        seal = AuditSeal(
            tree_size=tree_size,
            root_hash=root_hash,
            first_event_id=events[0].pk,
            last_event_id=events[-1].pk,
            event_ids=_id_runs([event.pk for event in events]),
            frontier=[node.hex() for node in frontier],
            signed_at=signed_at,
            key_id=key_id,
            signature=signature,
        )
        seal.save(using=using)
    return seal


def audit_seal_due(*, using: str = DEFAULT_DB_ALIAS, max_seals: int = 20) -> int:
    """The minute job: seal everything sealable, batch after batch; how many events it sealed."""
    sealed = 0
    previous = AuditSeal.objects.using(using).order_by("-tree_size").first()
    size = previous.tree_size if previous else 0
    for _ in range(max_seals):
        seal = audit_seal(using=using)
        if seal is None:
            break
        sealed += seal.tree_size - size
        size = seal.tree_size
    return sealed


def audit_verification_record(
    *, ok: bool, events_checked: int, using: str = DEFAULT_DB_ALIAS
) -> AuditVerification:
    """Keep the outcome of an `audit_verify` run (the single row, overwritten), for /metrics."""
    verification, _created = AuditVerification.objects.using(using).update_or_create(
        pk=VERIFICATION_PK,
        defaults={"ok": ok, "events_checked": events_checked, "ran_at": clock.now()},
    )
    return verification


def _month_start(value: dt.datetime) -> dt.datetime:
    value = value.astimezone(dt.UTC)
    return dt.datetime(value.year, value.month, 1, tzinfo=dt.UTC)


def _next_month(month: dt.datetime) -> dt.datetime:
    return dt.datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=dt.UTC)


def audit_partition_name(month: dt.datetime) -> str:
    """The partition holding the events of `month` (UTC): audit_auditevent_YYYY_MM."""
    month = _month_start(month)
    return f"{EVENT_TABLE}_{month.year:04d}_{month.month:02d}"


def _partitions(cursor: Any) -> set[str] | None:
    """The event table's partitions by name, or None when it is not partitioned."""
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [EVENT_TABLE])
    if cursor.fetchone()[0] != "p":
        return None
    cursor.execute(
        "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = inhrelid"
        " WHERE inhparent = %s::regclass",
        [EVENT_TABLE],
    )
    return {row[0] for row in cursor.fetchall()}


def audit_ensure_partitions(
    *,
    months_ahead: int = PARTITION_MONTHS_AHEAD,
    now: dt.datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """On PostgreSQL, make the partitions of the current month (UTC) and of the next
    `months_ahead` months that do not exist yet; how many it made. Nothing elsewhere.

    Cheap when there is nothing to do (one catalog query, no lock on the table), idempotent, and
    safe beside another scheduler doing the same (a transaction-scoped advisory lock, then
    CREATE TABLE IF NOT EXISTS). A month whose events already sit in the DEFAULT partition (the
    job did not run for months) is left alone and logged as an error: PostgreSQL would refuse
    the partition, and the trail is never rewritten to move them; they stay in the DEFAULT
    partition, read like any other. Partitions are never dropped: the trail is never pruned."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    month = _month_start(now or clock.now())
    wanted = []
    for _ in range(months_ahead + 1):
        wanted.append(month)
        month = _next_month(month)
    with connection.cursor() as cursor:
        existing = _partitions(cursor)
    if existing is None:
        return 0
    created = 0
    for month in wanted:
        name = audit_partition_name(month)
        if name in existing:
            continue
        try:
            created += _partition_create(name, month, using)
        except DatabaseError as error:
            # Lock timeout behind a long transaction, or an event that reached the DEFAULT
            # partition between the check and the creation: the next run tries again.
            logger.warning("Audit partition %s not created this time: %s", name, error)
    return created


def _partition_create(name: str, month: dt.datetime, using: str) -> int:
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PARTITION_LOCK_KEY])
        existing = _partitions(cursor) or set()
        if name in existing:
            return 0  # another scheduler made it meanwhile
        end = _next_month(month)
        if DEFAULT_PARTITION in existing:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION}"  # noqa: S608 - constant
                " WHERE occurred_at >= %s AND occurred_at < %s)",
                [month, end],
            )
            if cursor.fetchone()[0]:
                logger.error(
                    "Audit partition %s not created: events of that month are in %s already "
                    "(they stay there; keep audit_ensure_partitions running so this cannot recur)",
                    name,
                    DEFAULT_PARTITION,
                )
                return 0
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [PARTITION_LOCK_TIMEOUT])
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {EVENT_TABLE} FOR VALUES FROM (%s) TO (%s)",
            [month.isoformat(), end.isoformat()],
        )
    logger.info("Audit partition %s created", name)
    return 1
