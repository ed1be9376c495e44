"""On PostgreSQL the event table is partitioned by month (migration 0008): where events land,
the partitions kept ahead by the minute job, and the log sealed and verified across them."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from hawiya.audit import services
from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent, AuditSeal
from hawiya.audit.selectors import audit_chain_verify, audit_inclusion_proof
from hawiya.audit.services import (
    DEFAULT_PARTITION,
    audit_ensure_partitions,
    audit_partition_name,
    audit_record,
    audit_seal,
)
from hawiya.audit.testing import clear_audit_trail
from hawiya.core import clock
from hawiya.core.testing import in_thread, race

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="table partitioning is PostgreSQL's (SQLite keeps one table)"
)

UTC = dt.UTC
# Far from the test run's own months, so that no partition of them exists before a test makes it.
MAY_2031 = dt.datetime(2031, 5, 10, 12, tzinfo=UTC)
JUNE_2031 = dt.datetime(2031, 6, 30, 23, 59, 59, tzinfo=UTC)
JULY_2031 = dt.datetime(2031, 7, 1, tzinfo=UTC)
LONG_AGO = dt.datetime(1999, 1, 15, tzinfo=UTC)


def _record_at(at: dt.datetime, number: int) -> AuditEvent:
    with pytest.MonkeyPatch.context() as patch, transaction.atomic():
        patch.setattr(clock, "now", lambda: at)
        return audit_record(
            actor=Actor.staff(7, role="officer", office_code="RUH-01"),
            action="person.viewed",
            object_type="registry.person",
            object_id=number,
            detail={"person_id": number},
        )


def _months_from(at: dt.datetime, count: int) -> list[str]:
    year, month = at.year, at.month
    names = []
    for _ in range(count):
        names.append(f"audit_auditevent_{year:04d}_{month:02d}")
        year, month = year + month // 12, month % 12 + 1
    return names


def _partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM audit_auditevent WHERE id = %s", [event_id])
        return str(cursor.fetchone()[0])


def _partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'audit_auditevent'::regclass"
        )
        return {row[0] for row in cursor.fetchall()}


def _relkind() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'audit_auditevent'::regclass")
        return str(cursor.fetchone()[0])


@postgresql_only
@pytest.mark.django_db
def test_the_event_table_is_partitioned_by_month_with_a_default_partition() -> None:
    assert _relkind() == "p"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_partkeydef('audit_auditevent'::regclass)")
        assert cursor.fetchone()[0] == "RANGE (occurred_at)"
    assert {DEFAULT_PARTITION, audit_partition_name(clock.now())} <= _partitions()


@postgresql_only
@pytest.mark.django_db
def test_events_of_different_months_land_in_their_partitions() -> None:
    assert audit_ensure_partitions(now=MAY_2031, months_ahead=2) == 3
    may, june, july = (_record_at(at, n) for n, at in enumerate([MAY_2031, JUNE_2031, JULY_2031]))
    assert _partition_of(may.pk) == "audit_auditevent_2031_05"
    assert _partition_of(june.pk) == "audit_auditevent_2031_06"  # the month's last second, UTC
    assert _partition_of(july.pk) == "audit_auditevent_2031_07"
    assert list(AuditEvent.objects.filter(pk__in=[may.pk, june.pk, july.pk]).order_by("id")) == [
        may,
        june,
        july,
    ]


@postgresql_only
@pytest.mark.django_db
def test_an_event_of_a_month_without_partition_lands_in_the_default_one_and_stays_there(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = _record_at(LONG_AGO, 1)
    assert _partition_of(event.pk) == DEFAULT_PARTITION
    assert AuditEvent.objects.get(pk=event.pk).hash == event.hash
    # PostgreSQL would refuse that month's partition now: the job says so and leaves it.
    with caplog.at_level(logging.ERROR, logger="hawiya.audit.services"):
        assert audit_ensure_partitions(now=LONG_AGO, months_ahead=1) == 1  # February 1999 only
    assert "audit_auditevent_1999_01 not created" in caplog.text
    assert "audit_auditevent_1999_01" not in _partitions()
    assert "audit_auditevent_1999_02" in _partitions()
    assert _partition_of(event.pk) == DEFAULT_PARTITION
    assert audit_chain_verify().ok


@postgresql_only
@pytest.mark.django_db
def test_ensure_partitions_makes_the_coming_months_once() -> None:
    names = {f"audit_auditevent_{month}" for month in ("2031_11", "2031_12", "2032_01", "2032_02")}
    assert not names & _partitions()
    assert audit_ensure_partitions(now=dt.datetime(2031, 11, 30, tzinfo=UTC), months_ahead=3) == 4
    assert names <= _partitions()
    assert audit_ensure_partitions(now=dt.datetime(2031, 11, 30, tzinfo=UTC), months_ahead=3) == 0
    # That it runs as a minute job is casework's test (test_audit_seal_job.py).


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_making_the_same_partitions_at_once_make_each_once() -> None:
    at = dt.datetime(2033, 3, 1, tzinfo=UTC)
    try:
        results = race([lambda: audit_ensure_partitions(now=at, months_ahead=2)] * 2)
        assert all(isinstance(result, int) for result in results), results
        assert sum(results) == 3, results  # type: ignore[arg-type]
        assert set(_months_from(at, 3)) <= _partitions()
    finally:
        with connection.cursor() as cursor:
            for month in ("03", "04", "05"):
                cursor.execute(f"DROP TABLE IF EXISTS audit_auditevent_2033_{month}")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_behind_a_transaction_writing_events_the_job_gives_up_and_makes_the_partition_next_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(services, "PARTITION_LOCK_TIMEOUT", "100ms")
    at = dt.datetime(2034, 1, 1, tzinfo=UTC)
    written, done = threading.Event(), threading.Event()

    def writer() -> None:
        with transaction.atomic():
            _record_at(clock.now(), 1)
            written.set()
            done.wait(timeout=30)

    running = in_thread(writer, name="writer")
    try:
        assert written.wait(timeout=30)
        with caplog.at_level(logging.WARNING, logger="hawiya.audit.services"):
            assert audit_ensure_partitions(now=at, months_ahead=0) == 0
        assert "audit_auditevent_2034_01 not created this time" in caplog.text
        done.set()
        running.result()
        assert audit_ensure_partitions(now=at, months_ahead=0) == 1
        assert "audit_auditevent_2034_01" in _partitions()
    finally:
        done.set()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS audit_auditevent_2034_01")


def test_ensure_partitions_does_nothing_on_sqlite() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    assert audit_ensure_partitions(now=MAY_2031) == 0


@postgresql_only
@pytest.mark.django_db
def test_a_partition_refuses_update_and_delete_itself() -> None:
    events = [_record_at(clock.now(), 1), _record_at(LONG_AGO, 2)]
    for event, partition in zip(events, [audit_partition_name(clock.now()), DEFAULT_PARTITION], strict=True):
        assert _partition_of(event.pk) == partition
        for statement in ("UPDATE {} SET object_id = '9' WHERE id = %s", "DELETE FROM {} WHERE id = %s"):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(statement.format(partition), [event.pk])
    assert [event.object_id for event in AuditEvent.objects.order_by("id")] == ["1", "2"]


@postgresql_only
@pytest.mark.django_db
def test_events_across_partitions_seal_verify_and_prove() -> None:
    audit_ensure_partitions(now=MAY_2031, months_ahead=1)
    # Ids follow the order of writing, not of the months: the leaves are in id order.
    times = [JUNE_2031, MAY_2031, LONG_AGO, clock.now(), MAY_2031, JUNE_2031]
    events = [_record_at(at, number) for number, at in enumerate(times, start=1)]
    assert len({_partition_of(event.pk) for event in events}) == 4
    assert audit_seal(limit=4) is not None
    assert audit_seal() is not None
    result = audit_chain_verify()
    assert (result.ok, result.sealed, result.seals) == (True, 6, 2), result.message
    for event in events:
        proof = audit_inclusion_proof(event)
        assert proof is not None
        assert proof["leaf_index"] == events.index(event)


BEFORE = [("audit", "0007_merkle_log")]
AFTER = [("audit", "0008_partition_by_month")]
UPGRADE_OLD = dt.datetime(1998, 3, 1, tzinfo=UTC)


def _migrate(target: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_from_0007_keeps_every_event_and_the_log_verifies() -> None:
    _migrate(BEFORE)
    try:
        assert connection.vendor != "postgresql" or _relkind() == "r"
        times = [
            UPGRADE_OLD,
            dt.datetime(2025, 2, 3, tzinfo=UTC),
            clock.now(),
            dt.datetime(2025, 2, 9, tzinfo=UTC),
        ]
        before = [_record_at(at, number) for number, at in enumerate(times, start=1)]
        assert audit_seal(limit=3) is not None  # one event left waiting for its seal
        rows = list(AuditEvent.objects.order_by("id").values_list("id", "occurred_at", "hash"))

        _migrate(AFTER)
        assert list(AuditEvent.objects.order_by("id").values_list("id", "occurred_at", "hash")) == rows
        if connection.vendor == "postgresql":
            assert _relkind() == "p"
            assert _partition_of(before[0].pk) == "audit_auditevent_1998_03"
            assert _partition_of(before[1].pk) == _partition_of(before[3].pk) == "audit_auditevent_2025_02"
            assert _partition_of(before[2].pk) == audit_partition_name(clock.now())
            assert DEFAULT_PARTITION in _partitions()
        result = audit_chain_verify()
        assert (result.ok, result.sealed, result.pending) == (True, 3, 1), result.message
        # The id sequence carries on where it was.
        later = _record_at(clock.now(), 5)
        assert later.pk > before[-1].pk
        assert audit_seal() is not None
        assert AuditSeal.objects.order_by("-tree_size").first().tree_size == 5  # type: ignore[union-attr]
        result = audit_chain_verify()
        assert (result.ok, result.sealed) == (True, 5), result.message

        # And back: one plain table again, every event in it.
        rows = list(AuditEvent.objects.order_by("id").values_list("id", "occurred_at", "hash"))
        _migrate(BEFORE)
        assert connection.vendor != "postgresql" or _relkind() == "r"
        assert list(AuditEvent.objects.order_by("id").values_list("id", "occurred_at", "hash")) == rows
        assert audit_chain_verify().ok
    finally:
        # Back to the newest state of every app, so the tests that run after this one find the
        # schema the models describe, and without these events, so that 0008 makes no partition
        # for their months.
        _migrate(BEFORE)
        clear_audit_trail()
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
