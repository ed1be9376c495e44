"""The audit trail: appending, verifying, and what the database refuses."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError

from hawiya.audit.actors import Actor
from hawiya.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent, AuditTrailImmutable
from hawiya.audit.selectors import audit_chain_verify, audit_events_for
from hawiya.audit.services import audit_record
from hawiya.audit.testing import append_only_triggers
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
        for name in append_only_triggers():
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER {name} ON audit_auditevent")
            else:
                cursor.execute(f"DROP TRIGGER {name}")


def _verify_command() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def test_events_form_a_gapless_hash_chain() -> None:
    first, second, third = (_record(n) for n in (1, 2, 3))
    assert [first.sequence, second.sequence, third.sequence] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    head = AuditChainHead.objects.get()
    assert (head.sequence, head.hash) == (3, third.hash)


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
        ("prev_hash", "f" * 64),
        ("sequence", 2),
    ]:
        saved = getattr(event, field)
        setattr(event, field, value)
        assert event.compute_hash() != original, field
        setattr(event, field, saved)
    event.occurred_at = event.occurred_at.replace(microsecond=(event.occurred_at.microsecond + 1) % 10**6)
    assert event.compute_hash() != original


def test_verify_passes_on_an_intact_chain() -> None:
    for number in range(1, 8):
        _record(number)
    result = audit_chain_verify(batch_size=3)
    assert result.ok
    assert result.count == 7
    assert _verify_command().strip() == "audit chain intact: 7 events"


def test_verify_passes_on_an_empty_chain() -> None:
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
        "postgresql": ["audit_auditevent_append_only"],
        "sqlite": ["audit_auditevent_no_delete", "audit_auditevent_no_update"],
    }
    assert append_only_triggers() == expected[connection.vendor]


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
    events = [_record(number) for number in range(1, 6)]
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET detail = %s WHERE id = %s",
            ['{"version": 3, "status": "valid"}', events[2].pk],
        )
    result = audit_chain_verify()
    assert not result.ok
    assert (result.broken_sequence, result.broken_id, result.count) == (3, events[2].pk, 2)
    with pytest.raises(CommandError) as failure:
        _verify_command()
    assert str(failure.value) == (
        f"audit chain broken at event #3 (id {events[2].pk}): "
        "stored hash does not match its content (altered)"
    )


def test_verify_command_exits_1_on_a_broken_chain() -> None:
    events = [_record(number) for number in range(1, 4)]
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor = %s WHERE id = %s", ["user:1", events[0].pk])
    with pytest.raises(SystemExit) as exit_status:
        execute_from_command_line(["manage.py", "audit_verify"])
    assert exit_status.value.code == 1


def test_verify_reports_a_gap_where_an_event_was_deleted() -> None:
    events = [_record(number) for number in range(1, 6)]
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    result = audit_chain_verify()
    assert (result.ok, result.broken_sequence, result.broken_id) == (False, 3, events[2].pk)
    assert "event #2 is missing" in result.reason
    with pytest.raises(CommandError, match=r"broken at event #3 .*event #2 is missing \(sequence gap\)"):
        _verify_command()


def test_verify_reports_a_relinked_event() -> None:
    events = [_record(number) for number in range(1, 4)]
    _drop_triggers()
    # Rewrite event 2 consistently (new content, recomputed hash): event 3 no longer links to it.
    forged = AuditEvent.objects.get(pk=events[1].pk)
    forged.detail = {"version": 2, "status": "valid"}
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET detail = %s, hash = %s WHERE id = %s",
            ['{"version": 2, "status": "valid"}', forged.compute_hash(), forged.pk],
        )
    result = audit_chain_verify()
    assert (result.ok, result.broken_sequence) == (False, 3)
    assert "prev_hash" in result.reason


def test_verify_reports_events_removed_from_the_end() -> None:
    events = [_record(number) for number in range(1, 4)]
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    result = audit_chain_verify()
    assert (result.ok, result.broken_sequence, result.count) == (False, 3, 2)
    assert "removed from the end" in result.reason


def test_a_rolled_back_transaction_leaves_no_event_and_no_gap() -> None:
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
    assert _record(2).sequence == 2
    assert audit_chain_verify().ok


def test_head_row_is_recreated_when_missing_on_an_empty_trail() -> None:
    AuditChainHead.objects.all().delete()
    assert _record().sequence == 1
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
def test_concurrent_writers_extend_one_unforked_chain() -> None:
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
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, writers * per_writer + 1))
    assert AuditEvent.objects.values("prev_hash").distinct().count() == writers * per_writer
    result = audit_chain_verify()
    assert result.ok
    assert result.count == writers * per_writer
