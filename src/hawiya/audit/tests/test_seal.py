"""Sealing while writers commit out of order: nothing sealed past an open transaction, nothing
lost, the log verifies (PostgreSQL, real connections); the settle margin on SQLite."""

from __future__ import annotations

import datetime as dt
import functools
import random
import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent, AuditSeal
from hawiya.audit.selectors import audit_log_verify
from hawiya.audit.services import audit_record, audit_seal, audit_seal_due
from hawiya.core.testing import in_thread, pin_clock

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="out-of-order commits need concurrent writers on PostgreSQL"
)


def _write(number: int) -> AuditEvent:
    return audit_record(
        actor=Actor.citizen(number),
        action="document.reported_lost",
        object_type="registry.document",
        object_id=number,
        detail={"version": number},
    )


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_sealer_waits_for_a_transaction_holding_a_lower_id() -> None:
    written, release = threading.Event(), threading.Event()

    def slow_writer() -> int:
        with transaction.atomic():
            event = _write(1)
            written.set()
            assert release.wait(30)
        return int(event.pk)

    slow = in_thread(slow_writer, name="slow-writer")
    assert written.wait(30)
    with transaction.atomic():
        fast = _write(2)  # a higher id, committed first
    assert audit_seal() is None  # the open transaction could still commit below id `fast`
    assert not AuditSeal.objects.exists()
    release.set()
    slow_id = slow.result()
    assert isinstance(slow_id, int)
    assert slow_id < fast.pk
    seal = audit_seal()
    assert seal is not None
    assert (seal.tree_size, seal.event_ids) == (2, [[slow_id, fast.pk]])
    assert audit_log_verify().ok


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_committing_out_of_order_and_rolling_back_while_sealing() -> None:
    writers, per_writer = 6, 15
    stop = threading.Event()
    committed: list[int] = []
    lock = threading.Lock()

    def writer(number: int) -> int:
        rng = random.Random(number)
        for index in range(per_writer):
            try:
                with transaction.atomic():
                    event = _write((number + 1) * 1000 + index)
                    time.sleep(rng.uniform(0, 0.02))  # commit later than others that started after
                    if rng.random() < 0.2:
                        raise RuntimeError("rolled back")
                with lock:
                    committed.append(int(event.pk))
            except RuntimeError:
                pass
        return 0

    def sealer() -> int:
        seals = 0
        while not stop.is_set():
            if audit_seal() is not None:
                seals += 1
            time.sleep(0.005)
        return seals

    sealing = in_thread(sealer, name="sealer")
    try:
        running = [in_thread(functools.partial(writer, n), name=f"writer-{n}") for n in range(writers)]
        assert [one.result() for one in running] == [0] * writers
    finally:
        stop.set()
        seals_during = sealing.result()
    assert isinstance(seals_during, int)
    assert seals_during > 0
    while audit_seal() is not None:
        pass
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    assert ids == sorted(committed)  # nothing lost, nothing rolled back kept
    seals = list(AuditSeal.objects.order_by("tree_size"))
    assert seals[-1].tree_size == len(ids)
    sealed_ids = [i for seal in seals for first, last in seal.event_ids for i in range(first, last + 1)]
    assert sealed_ids == ids  # every event, in id order, exactly once
    result = audit_log_verify()
    assert result.ok, result.message
    assert (result.sealed, result.pending) == (len(ids), 0)


@pytest.mark.django_db
def test_on_sqlite_only_events_older_than_the_settle_margin_are_sealed(
    settings: Any, monkeypatch: Any
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the settle margin is SQLite's rule")
    settings.HAWIYA_AUDIT_SEAL_SETTLE_SECONDS = 5
    clock = pin_clock(monkeypatch, dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC))
    with transaction.atomic():
        first = _write(1)
    clock.advance(seconds=3)
    with transaction.atomic():
        _write(2)
    clock.advance(seconds=3)
    seal = audit_seal()
    assert seal is not None
    assert seal.event_ids == [[first.pk, first.pk]]
    clock.advance(seconds=3)
    assert audit_seal_due() == 1
    assert audit_log_verify().ok


@pytest.mark.django_db
def test_a_batch_limit_seals_in_several_tree_heads_that_extend_each_other() -> None:
    with transaction.atomic():
        events = [_write(n) for n in range(1, 8)]
    first = audit_seal(limit=3)
    assert first is not None
    assert first.tree_size == 3
    assert audit_seal_due() == 4
    assert [s.tree_size for s in AuditSeal.objects.order_by("tree_size")] == [3, 7]
    assert AuditSeal.objects.get(tree_size=7).first_event_id == events[3].pk
    assert audit_log_verify().ok


@pytest.mark.django_db
def test_verify_holds_one_batch_of_leaves_and_finds_an_altered_frontier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hawiya.audit import merkle
    from hawiya.audit.testing import append_only_triggers

    with transaction.atomic():
        for n in range(1, 12):
            _write(n)
    while audit_seal(limit=3) is not None:
        pass
    assert [s.tree_size for s in AuditSeal.objects.order_by("tree_size")] == [3, 6, 9, 11]
    # The walk's trees never hold more leaves than one seal's batch.
    held: list[int] = []
    append = merkle.FrontierTree.append

    def counting(self: merkle.FrontierTree, leaf: bytes) -> None:
        append(self, leaf)
        held.append(len(self.leaves))

    monkeypatch.setattr(merkle.FrontierTree, "append", counting)
    assert audit_log_verify().ok
    assert max(held) == 3

    # The subtree roots kept with a tree head are the next seal's starting point: altering them
    # is found even though that head's own root and signature are intact.
    seal = AuditSeal.objects.get(tree_size=6)
    with connection.cursor() as cursor:
        for name in append_only_triggers(table="audit_auditseal"):
            cursor.execute(
                f"DROP TRIGGER {name} ON audit_auditseal"
                if connection.vendor == "postgresql"
                else f"DROP TRIGGER {name}"
            )
    # A plain queryset: the model's own refuses updates, as the dropped triggers would.
    QuerySet(AuditSeal).filter(pk=seal.pk).update(frontier=[*seal.frontier[:-1], "00" * 32])
    result = audit_log_verify()
    assert not result.ok
    assert result.broken_id == seal.first_event_id
    assert "subtree roots" in result.message


@pytest.mark.django_db
def test_a_changed_event_is_not_sealed() -> None:
    from hawiya.audit.services import AuditSealRefused
    from hawiya.audit.testing import append_only_triggers

    with transaction.atomic():
        event = _write(1)
    with connection.cursor() as cursor:
        for name in append_only_triggers():
            cursor.execute(
                f"DROP TRIGGER {name} ON audit_auditevent"
                if connection.vendor == "postgresql"
                else f"DROP TRIGGER {name}"
            )
        cursor.execute("UPDATE audit_auditevent SET object_id = '9' WHERE id = %s", [event.pk])
    with pytest.raises(AuditSealRefused):
        audit_seal()
    assert not AuditSeal.objects.exists()
