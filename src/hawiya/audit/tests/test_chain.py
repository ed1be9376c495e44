"""The audit trail: appending without a lock, sealing, verifying, and what the database refuses."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError

from hawiya.audit import merkle
from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent, AuditSeal, AuditTrailImmutable, canonical_json
from hawiya.audit.selectors import audit_chain_verify, audit_events_for
from hawiya.audit.services import _next_event_id, audit_record, audit_seal
from hawiya.audit.testing import append_only_triggers
from hawiya.core import clock
from hawiya.core.testing import race

pytestmark = pytest.mark.django_db


def _record(number: int = 1, **overrides: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "actor": Actor.citizen(42),
        "action": "document.reported_lost",
        "object_type": "registry.document",
        "object_id": number,
        "detail": {"version": number, "status": "reported_lost"},
    }
    values.update(overrides)
    with transaction.atomic():
        return audit_record(**values)


def _drop_triggers() -> None:
    """Tamper the way someone with the database owner's rights could; the test's transaction
    puts the triggers back."""
    with connection.cursor() as cursor:
        for table in ("audit_auditevent", "audit_auditseal"):
            for name in append_only_triggers(table=table):
                if connection.vendor == "postgresql":
                    cursor.execute(f"DROP TRIGGER {name} ON {table}")
                else:
                    cursor.execute(f"DROP TRIGGER {name}")


def _sealed(numbers: range) -> list[AuditEvent]:
    events = [_record(number) for number in numbers]
    assert audit_seal() is not None
    return events


def _verify_command() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def test_events_are_merkle_leaves_of_their_own_fields_in_id_order() -> None:
    first, second, third = (_record(n) for n in (1, 2, 3))
    assert first.pk < second.pk < third.pk
    for event in (first, second, third):
        assert event.prev_hash is None
        assert event.sequence is None
        data = canonical_json(event.hashed_fields())
        assert event.hash == merkle.leaf_hash(data).hex()
        assert event.hashed_fields()["id"] == event.pk
        assert event.hashed_fields()["v"] == 2
        assert len(event.salt) == 32
    assert len({first.hash, second.hash, third.hash}) == 3


def test_stored_event_hashes_to_the_same_value_after_a_round_trip() -> None:
    event = _record(actor=Actor.staff(42, role="staff", office_code="RUH-01", ip="2001:0db8:0000::0001"))
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.ip == "2001:db8::1"
    assert stored.compute_hash() == stored.hash == event.hash


def test_hash_covers_every_field() -> None:
    event = AuditEvent.objects.get(pk=_record().pk)
    original = event.compute_hash()
    for field, value in [
        ("actor", "user:43"),
        ("actor_role", "officer"),
        ("actor_office", "JED-01"),
        ("action", "document.reissued"),
        ("object_type", "registry.person"),
        ("object_id", "2"),
        ("ip", "10.0.0.1"),
        ("detail", {"version": 2, "status": "reported_lost"}),
        ("salt", "0" * 32),
        ("id", event.pk + 1),
    ]:
        saved = getattr(event, field)
        setattr(event, field, value)
        assert event.compute_hash() != original, field
        setattr(event, field, saved)
    event.occurred_at = event.occurred_at.replace(microsecond=(event.occurred_at.microsecond + 1) % 10**6)
    assert event.compute_hash() != original


def test_verify_passes_on_an_intact_log_sealed_in_batches_with_pending_events() -> None:
    for number in range(1, 8):
        _record(number)
        if number in (1, 4):
            assert audit_seal() is not None
    result = audit_chain_verify(batch_size=3)
    assert result.ok, result.message
    assert (result.count, result.sealed, result.pending, result.seals) == (7, 4, 3, 2)
    assert audit_seal() is not None
    assert audit_seal() is None  # nothing new
    assert _verify_command().strip() == (
        "audit log intact: 7 events, 7 sealed under 3 signed tree heads, 0 pending"
    )


def test_verify_passes_on_an_empty_log() -> None:
    assert audit_chain_verify().ok
    assert "intact: 0 events" in _verify_command()


@pytest.mark.django_db(transaction=True)
def test_audit_record_outside_a_transaction_is_refused() -> None:
    with pytest.raises(TransactionManagementError):
        audit_record(
            actor=Actor.system("tests"), action="person.created", object_type="registry.person", object_id=1
        )
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"action": "Reported lost"}, "action"),
        ({"object_type": "Document"}, "object_type"),
        ({"detail": {"name": "محمد"}}, "personal data"),
        ({"detail": {"nested": {"mobile": "+966501234567"}}}, "personal data"),
        ({"detail": {"ratio": 0.5}}, "only strings"),
        ({"detail": {"note": "x" * 500}}, "short codes"),
    ],
)
def test_malformed_events_are_refused(overrides, message) -> None:
    with pytest.raises(ValueError, match=message):
        _record(**overrides)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "actor", ["Mohammed Alotaibi", "user:42", {"actor": "user:42", "actor_role": "officer"}]
)
def test_an_actor_that_is_not_an_actor_value_is_refused(actor: object) -> None:
    # The columns are made by `Actor.columns` only: a loose string or a spread dict never reaches them.
    with pytest.raises(TypeError, match="Actor"):
        _record(actor=actor)
    assert not AuditEvent.objects.exists()


def test_a_malformed_role_is_refused_before_anything_is_written() -> None:
    with pytest.raises(ValueError, match="role"):
        _record(actor=Actor.staff(42, role="staff member", office_code="RUH-01"))
    assert not AuditEvent.objects.exists()


def test_unparseable_ip_is_recorded_as_none() -> None:
    assert _record(actor=Actor.citizen(42, ip="unix:/run/gunicorn.sock")).ip is None
    assert _record(2, actor=Actor.citizen(42, ip="")).ip is None


def test_save_of_a_stored_event_is_refused() -> None:
    event = _record()
    event.detail = {"version": 9}
    with pytest.raises(AuditTrailImmutable):
        event.save()
    reloaded = AuditEvent.objects.get(pk=event.pk)
    with pytest.raises(AuditTrailImmutable):
        reloaded.save()
    with pytest.raises(AuditTrailImmutable):
        reloaded.delete()
    with pytest.raises(AuditTrailImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(action="person.created")
    with pytest.raises(AuditTrailImmutable):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).detail == {"version": 1, "status": "reported_lost"}


def test_append_only_triggers_are_installed() -> None:
    expected = {
        "postgresql": ["{}_append_only"],
        "sqlite": ["{}_no_delete", "{}_no_update"],
    }
    for table in ("audit_auditevent", "audit_auditseal"):
        names = [name.format(table) for name in expected[connection.vendor]]
        assert append_only_triggers(table=table) == names


def test_a_stored_seal_cannot_be_changed_or_deleted() -> None:
    _sealed(range(1, 3))
    seal = AuditSeal.objects.get()
    with pytest.raises(AuditTrailImmutable):
        seal.save()
    with pytest.raises(AuditTrailImmutable):
        seal.delete()
    with pytest.raises(AuditTrailImmutable):
        AuditSeal.objects.update(root_hash="0" * 64)
    with pytest.raises(AuditTrailImmutable):
        AuditSeal.objects.all().delete()
    for statement in (
        "UPDATE audit_auditseal SET root_hash = %s",
        "DELETE FROM audit_auditseal WHERE root_hash <> %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, ["0" * 64])
    assert AuditSeal.objects.get().root_hash == seal.root_hash


def test_database_refuses_update_through_raw_sql() -> None:
    event = _record()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ['{"version": 9}', event.pk])
    assert AuditEvent.objects.get(pk=event.pk).detail == {"version": 1, "status": "reported_lost"}


def test_database_refuses_delete_through_raw_sql() -> None:
    event = _record()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_verify_names_the_altered_event() -> None:
    events = _sealed(range(1, 6))
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET detail = %s WHERE id = %s",
            ['{"version": 3, "status": "valid"}', events[2].pk],
        )
    result = audit_chain_verify()
    assert not result.ok
    assert (result.broken_id, result.count) == (events[2].pk, 2)
    with pytest.raises(CommandError) as failure:
        _verify_command()
    assert str(failure.value) == (
        f"audit log broken at event id {events[2].pk}: stored hash does not match its content (altered)"
    )


def test_verify_command_exits_1_on_a_broken_log() -> None:
    events = _sealed(range(1, 4))
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor = %s WHERE id = %s", ["user:1", events[0].pk])
    with pytest.raises(SystemExit) as exit_status:
        execute_from_command_line(["manage.py", "audit_verify"])
    assert exit_status.value.code == 1


def test_verify_names_an_event_deleted_after_sealing() -> None:
    events = _sealed(range(1, 6))
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    result = audit_chain_verify()
    assert (result.ok, result.broken_id) == (False, events[1].pk)
    assert "missing (removed after it was sealed)" in result.reason


def test_verify_names_a_rehashed_event() -> None:
    """Rewritten consistently (new content, recomputed leaf hash): the signed root no longer matches."""
    events = _sealed(range(1, 4))
    _drop_triggers()
    forged = AuditEvent.objects.get(pk=events[1].pk)
    forged.detail = {"version": 2, "status": "valid"}
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET detail = %s, hash = %s WHERE id = %s",
            ['{"version": 2, "status": "valid"}', forged.compute_hash(), forged.pk],
        )
    result = audit_chain_verify()
    assert (result.ok, result.broken_id) == (False, events[0].pk)
    assert "does not hash to its signed root" in result.reason


def test_verify_names_the_last_events_removed_from_a_seal() -> None:
    events = _sealed(range(1, 4))
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    result = audit_chain_verify()
    assert (result.ok, result.broken_id, result.count) == (False, events[2].pk, 2)
    assert "missing" in result.reason


def _late_event(event_id: int) -> AuditEvent:
    """An event with a given id, as an out-of-order commit would write it: a valid leaf."""
    event = AuditEvent(
        id=event_id,
        occurred_at=clock.now(),
        actor="user:1",
        action="document.reported_lost",
        object_type="registry.document",
        object_id="1",
        salt="0" * 32,
    )
    event.hash = event.compute_hash()
    event.save()
    return event


def test_an_unsealed_event_below_the_last_sealed_id_is_an_error() -> None:
    first = _record(1)
    if connection.vendor == "postgresql":
        held = _next_event_id("default")  # handed out to a transaction still open
        _record(2)
    else:
        held = first.pk + 1
        _late_event(first.pk + 2)
    assert audit_seal() is not None
    assert audit_chain_verify().ok
    late = _late_event(held)  # which commits after the seal: below the sealed ids
    result = audit_chain_verify()
    assert (result.ok, result.broken_id) == (False, late.pk)
    assert "not in the seal that covers its id" in result.reason


def test_verify_names_a_reordered_batch() -> None:
    events = _sealed(range(1, 5))
    _drop_triggers()
    # Swap the contents (hash included) of the second and third events.
    a, b = (AuditEvent.objects.get(pk=events[i].pk) for i in (1, 2))
    columns = ["occurred_at", "actor", "action", "object_type", "object_id", "detail", "salt", "hash"]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, a.pk])
        for target, source in ((b.pk, a), (a.pk, b)):
            cursor.execute(
                "UPDATE audit_auditevent SET "  # noqa: S608 - column names of the test's own list
                + ", ".join(f"{c} = %s" for c in columns)
                + " WHERE id = %s",
                [
                    *(
                        canonical_json(getattr(source, c)).decode() if c == "detail" else getattr(source, c)
                        for c in columns
                    ),
                    target,
                ],
            )
    result = audit_chain_verify()
    assert (result.ok, result.broken_id) == (False, events[1].pk)
    assert "altered" in result.reason


def test_verify_names_a_forged_seal() -> None:
    events = _sealed(range(1, 4))
    _record(4)
    audit_seal()
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditseal SET root_hash = %s WHERE tree_size = 3", ["ab" * 32])
    result = audit_chain_verify()
    assert (result.ok, result.broken_id) == (False, events[0].pk)
    assert "signed root" in result.reason
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditseal SET root_hash = %s WHERE tree_size = 3",
            [merkle.root([e.leaf_hash() for e in events]).hex()],
        )
        cursor.execute(
            "UPDATE audit_auditseal SET signed_at = signed_at + interval '1 second'"
            if connection.vendor == "postgresql"
            else "UPDATE audit_auditseal SET signed_at = '2001-01-01 00:00:00'"
        )
    result = audit_chain_verify()
    assert (result.ok, result.broken_id) == (False, events[0].pk)
    assert "is not signed by the key it names" in result.reason


def test_a_rolled_back_transaction_leaves_no_event() -> None:
    _record(1)

    def failing_change() -> None:
        with transaction.atomic():
            audit_record(
                actor=Actor.system("tests"),
                action="person.created",
                object_type="registry.person",
                object_id=7,
            )
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert AuditEvent.objects.count() == 1
    _record(2)
    assert audit_seal() is not None
    assert AuditEvent.objects.count() == 2
    assert audit_chain_verify().ok


def test_events_for_an_object_newest_first() -> None:
    _record(1)
    second = _record(2)
    third = _record(2, action="document.reissued")
    assert list(audit_events_for(object_type="registry.document", object_id=2)) == [third, second]


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_can_end_with_events_in_the_trail() -> None:
    """The suite's flush empties the trail despite the triggers (root conftest)."""
    _record()
    assert AuditEvent.objects.count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent writers on separate connections; SQLite serialises all writers at BEGIN",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_append_without_waiting_for_each_other() -> None:
    writers, per_writer = 8, 10

    def writer(number: int) -> Callable[[], None]:
        def write() -> None:
            for index in range(per_writer):
                with transaction.atomic():
                    audit_record(
                        actor=Actor.citizen(number + 1),
                        action="document.reported_lost",
                        object_type="registry.document",
                        object_id=number * 100 + index,
                    )

        return write

    failures = [result for result in race([writer(number) for number in range(writers)]) if result]
    assert failures == []
    assert AuditEvent.objects.count() == writers * per_writer
    assert audit_seal() is not None
    result = audit_chain_verify()
    assert result.ok, result.message
    assert (result.count, result.sealed) == (writers * per_writer, writers * per_writer)
