"""The append path: on PostgreSQL the id and the leaf hash come from the INSERT itself (one round
trip); the stored hash must be, byte for byte, the one Python computes from the stored fields,
whatever the fields hold, and concurrent appends must lose nothing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hawiya.audit import merkle
from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent, canonical_json
from hawiya.audit.selectors import audit_log_verify
from hawiya.audit.services import audit_record, audit_seal
from hawiya.core import clock
from hawiya.core.testing import race

pytestmark = pytest.mark.django_db

# Strings a canonical JSON must escape or keep as UTF-8: quotes, backslashes, control
# characters, Arabic, a character outside the BMP, and the very bytes the id is cut at.
AWKWARD = ['"', "\\", "\n\t", "مكتب الرياض", "\U0001f600", ',"id":0,', '"id":', "}"]

scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.sampled_from(AWKWARD)
detail_values = st.recursive(
    scalars | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "v", "status", "ref", "x"]), children, max_size=3)
    ),
    max_leaves=8,
)
details = st.dictionaries(
    st.sampled_from(["id", "version", "status", "reference"]), detail_values, max_size=4
)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    detail=details,
    object_id=st.sampled_from(["1", '",\\"id\\":0,', "مستند"]),
    event_id=st.integers(1, 2**63 - 1),
)
def test_the_leaf_data_around_the_id_is_the_leaf_data_for_any_id(
    detail: dict[str, Any], object_id: str, event_id: int
) -> None:
    event = AuditEvent(
        occurred_at=clock.now(),
        actor="user:7",
        actor_role="officer",
        actor_office="RUH-01",
        action="document.reported_lost",
        object_type="registry.document",
        object_id=object_id,
        ip="2001:db8::1",
        detail=detail,
        salt="a" * 32,
    )
    before, after = event.leaf_data_around_id()
    event.id = event_id
    data = before + str(event_id).encode() + after
    assert data == event.leaf_data() == canonical_json(event.hashed_fields())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(detail=details)
def test_the_stored_hash_is_the_leaf_hash_of_the_stored_fields(detail: dict[str, Any]) -> None:
    if len(canonical_json(detail)) > 2048 or any(
        isinstance(v, str) and (len(v) > 120 or "\x00" in v) for v in _strings(detail)
    ):
        return  # audit_record refuses these (tested elsewhere)
    with transaction.atomic():
        event = audit_record(
            actor=Actor.staff(42, role="officer", office_code="RUH-01", ip="2001:0db8::0001"),
            action="document.reported_lost",
            object_type="registry.document",
            object_id="مستند-1",
            detail=detail,
        )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert event.hash == stored.hash
    assert stored.hash == merkle.leaf_hash(stored.leaf_data()).hex() == stored.compute_hash()
    assert stored.checked_leaf_hash() == bytes.fromhex(stored.hash)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value.keys(), *(s for item in value.values() for s in _strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_the_returned_event_is_the_stored_row() -> None:
    with transaction.atomic():
        event = audit_record(
            actor=Actor.citizen(5, ip="10.1.2.3"),
            action="document.reported_lost",
            object_type="registry.document",
            object_id=77,
            detail={"version": 3, "note_code": "مفقود"},
        )
    assert not event._state.adding
    stored = AuditEvent.objects.get(pk=event.pk)
    assert [getattr(stored, f.attname) for f in AuditEvent._meta.concrete_fields] == [
        getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields
    ]


def test_the_actor_index_is_gone_and_the_others_remain() -> None:
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "audit_auditevent")
    names = set(indexes)
    assert "audit_event_actor_idx" not in names
    assert {"audit_event_object_idx", "audit_event_action_idx", "audit_event_person_id_idx"} <= names


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent writers on separate connections; SQLite serialises all writers at BEGIN",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_lose_nothing_hash_as_python_does_and_verify() -> None:
    writers, per_writer = 8, 12

    def write(number: int) -> list[int]:
        ids = []
        for index in range(per_writer):
            with transaction.atomic():
                event = audit_record(
                    actor=Actor.staff(number + 1, role="officer", office_code="RUH-01", ip="10.0.0.1"),
                    action="document.reported_lost",
                    object_type="registry.document",
                    object_id=number * 100 + index,
                    detail={"version": index, "status": "مفقود", "person_id": number},
                )
            ids.append(int(event.pk))
        return ids

    calls: list[Callable[[], list[int]]] = [functools.partial(write, n) for n in range(writers)]
    results = race(calls)
    written = sorted(i for result in results if isinstance(result, list) for i in result)
    assert len(written) == writers * per_writer, results
    events = list(AuditEvent.objects.order_by("id"))
    assert [event.pk for event in events] == written  # each id once, none lost
    assert all(event.compute_hash() == event.hash for event in events)
    while audit_seal() is not None:
        pass
    result = audit_log_verify()
    assert result.ok, result.message
    assert (result.sealed, result.pending) == (len(written), 0)
