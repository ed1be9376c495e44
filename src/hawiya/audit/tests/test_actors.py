"""The typed actor: its constructors, the audit columns it makes, and reading stored rows back."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from django.db import connection, transaction

from hawiya.audit.actors import Actor, ActorKind, AuditColumns
from hawiya.audit.models import GENESIS_HASH, AuditEvent, canonical_json
from hawiya.audit.selectors import audit_chain_verify
from hawiya.audit.services import audit_record, audit_seal
from hawiya.audit.testing import append_only_triggers
from hawiya.core import clock


def test_each_kind_makes_its_columns() -> None:
    assert Actor.citizen(42, ip="192.0.2.1").columns() == AuditColumns("user:42", "citizen", "", "192.0.2.1")
    assert Actor.staff(7, role="officer", office_code="RUH-01", ip="192.0.2.2").columns() == (
        "user:7",
        "officer",
        "RUH-01",
        "192.0.2.2",
    )
    assert Actor.courier("acme-1", ip="198.51.100.9").columns() == (
        "courier:acme-1",
        "courier",
        "",
        "198.51.100.9",
    )
    assert Actor.payment_gateway().columns() == ("payment_gateway", "", "", None)
    assert Actor.system("payments.expiry_sweep").columns() == ("system:payments.expiry_sweep", "", "", None)
    assert Actor.relying_party("client-9").columns() == ("rp:client-9", "relying_party", "", None)


def test_the_address_is_stored_in_the_form_the_database_gives_back() -> None:
    assert Actor.citizen(1, ip="2001:0db8:0000::0001").columns().ip == "2001:db8::1"
    assert Actor.citizen(1, ip="unix:/run/gunicorn.sock").columns().ip is None
    assert Actor.citizen(1, ip="").columns().ip is None


def test_an_actor_is_a_frozen_value() -> None:
    actor = Actor.citizen(42)
    with pytest.raises(dataclasses.FrozenInstanceError):
        actor.user_id = 43  # type: ignore[misc]
    assert actor == Actor.citizen(42)
    assert actor.id == "user:42"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Actor.citizen(0),
        lambda: Actor.citizen("42"),  # type: ignore[arg-type]
        lambda: Actor.staff(7, role="", office_code="RUH-01"),
        lambda: Actor.staff(7, role="staff member", office_code="RUH-01"),
        lambda: Actor.staff(7, role="officer", office_code="x" * 33),
        lambda: Actor.courier(""),
        lambda: Actor.courier("Mohammed Alotaibi"),
        lambda: Actor.system(""),
        lambda: Actor.system("Expiry sweep"),
        lambda: Actor.system("a" * 49),
        lambda: Actor.relying_party("x" * 57),
        lambda: Actor(kind=ActorKind.SYSTEM, user_id=3, key="tasks.x"),
        lambda: Actor(kind=ActorKind.PAYMENT_GATEWAY, key="x"),
    ],
)
def test_malformed_actors_are_refused(make: Any) -> None:
    with pytest.raises(ValueError, match=r"actor|role|office_code|reason|user id"):
        make()


@pytest.mark.parametrize(
    "actor",
    [
        Actor.citizen(42, ip="192.0.2.1"),
        Actor.staff(7, role="supervisor", office_code="JED-02", ip="192.0.2.2"),
        Actor.courier("acme-1"),
        Actor.payment_gateway(),
        Actor.system("appointments.no_show_sweep"),
        Actor.relying_party("client-9"),
    ],
)
def test_columns_read_back_to_the_same_actor(actor: Actor) -> None:
    assert Actor.from_columns(*actor.columns()) == actor


def test_rows_stored_before_the_typed_actor_are_read() -> None:
    # Rows written as loose strings: plain "system", and citizen steps with an empty role.
    old_system = Actor.from_columns("system")
    assert old_system is not None
    assert (old_system.kind, old_system.reason) == (ActorKind.SYSTEM, "")
    assert old_system.columns() == ("system", "", "", None)
    assert Actor.from_columns("user:42", "") == Actor.citizen(42)
    assert Actor.from_columns("user:42", "citizen", "", "192.0.2.1") == Actor.citizen(42, ip="192.0.2.1")
    assert Actor.from_columns("user:7", "staff") == Actor.staff(7, role="staff", office_code="")
    assert Actor.from_columns("courier:acme", "courier") == Actor.courier("acme")
    assert Actor.from_columns("payment_gateway") == Actor.payment_gateway()
    # Forms no service writes are not guessed at.
    for stored in ("person:5", "user:abc", "user:0", "", "system:", "robot:1", "Mohammed"):
        assert Actor.from_columns(stored) is None, stored


@pytest.mark.django_db
def test_audit_record_writes_the_actors_columns_and_the_chain_verifies() -> None:
    with transaction.atomic():
        staff = audit_record(
            actor=Actor.staff(7, role="officer", office_code="RUH-01", ip="192.0.2.2"),
            action="person.record_viewed",
            object_type="registry.person",
            object_id=1,
        )
        sweep = audit_record(
            actor=Actor.system("payments.expiry_sweep"),
            action="bill.expired",
            object_type="payments.bill",
            object_id=2,
        )
    stored = AuditEvent.objects.get(pk=staff.pk)
    assert (stored.actor, stored.actor_role, stored.actor_office, stored.ip) == (
        "user:7",
        "officer",
        "RUH-01",
        "192.0.2.2",
    )
    assert AuditEvent.objects.get(pk=sweep.pk).actor == "system:payments.expiry_sweep"
    assert audit_chain_verify().ok


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ["user:42", "system", {"actor": "user:42"}, None])
def test_audit_record_refuses_anything_but_an_actor(actor: Any) -> None:
    with pytest.raises(TypeError, match="Actor"), transaction.atomic():
        audit_record(actor=actor, action="person.created", object_type="registry.person", object_id=1)
    assert not AuditEvent.objects.exists()


def _append_as_before(*, actor: str, actor_role: str = "", action: str, object_id: int) -> AuditEvent:
    """Append a format-1 row the way `audit_record` wrote it from loose strings, before the typed
    actor and before the Merkle log: chained to the previous format-1 row."""
    last = AuditEvent.objects.filter(sequence__isnull=False).order_by("-sequence").first()
    event = AuditEvent(
        sequence=1 if last is None else (last.sequence or 0) + 1,
        occurred_at=clock.now(),
        actor=actor,
        actor_role=actor_role,
        actor_office="",
        action=action,
        object_type="registry.person",
        object_id=str(object_id),
        ip=None,
        detail={},
        prev_hash=GENESIS_HASH if last is None else last.hash,
    )
    event.hash = event.compute_hash()
    event.save()
    return event


@pytest.mark.django_db
def test_old_and_new_rows_verify_in_one_log_and_read_back() -> None:
    with transaction.atomic():
        old_system = _append_as_before(actor="system", action="person.created", object_id=2)
        old_citizen = _append_as_before(actor="user:42", action="person.mobile_changed", object_id=3)
        audit_record(
            actor=Actor.citizen(1), action="person.created", object_type="registry.person", object_id=1
        )
        audit_record(
            actor=Actor.system("tests"), action="person.created", object_type="registry.person", object_id=4
        )
    result = audit_chain_verify()
    assert (result.ok, result.count, result.pending) == (True, 4, 4)
    # The old rows keep their chain hash and become the Merkle log's first leaves.
    assert old_system.hash == hashlib.sha256(canonical_json(old_system.hashed_fields())).hexdigest()
    assert audit_seal() is not None
    result = audit_chain_verify()
    assert (result.ok, result.count, result.sealed) == (True, 4, 4), result.message
    stored = AuditEvent.objects.get(pk=old_system.pk)
    assert Actor.from_columns(stored.actor, stored.actor_role) == Actor(kind=ActorKind.SYSTEM)
    stored = AuditEvent.objects.get(pk=old_citizen.pk)
    assert Actor.from_columns(stored.actor, stored.actor_role) == Actor.citizen(42)


@pytest.mark.django_db
def test_an_old_row_rehashed_after_the_migration_is_named_by_the_next_link() -> None:
    with transaction.atomic():
        first = _append_as_before(actor="system", action="person.created", object_id=2)
        second = _append_as_before(actor="user:42", action="person.mobile_changed", object_id=3)
    forged = AuditEvent.objects.get(pk=first.pk)
    forged.object_id = "9"
    with connection.cursor() as cursor:
        for name in append_only_triggers():
            cursor.execute(
                f"DROP TRIGGER {name} ON audit_auditevent"
                if connection.vendor == "postgresql"
                else f"DROP TRIGGER {name}"
            )
        cursor.execute(
            "UPDATE audit_auditevent SET object_id = %s, hash = %s WHERE id = %s",
            ["9", forged.compute_hash(), forged.pk],
        )
    result = audit_chain_verify()
    assert (result.ok, result.broken_id) == (False, second.pk)
    assert "relinked" in result.reason
