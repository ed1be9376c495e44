"""Properties of `audit_verify` on a sealed log: any change to any field of a sealed event, any
removed event, any reordered pair is found, and the first broken event is the one named."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent, canonical_json
from hawiya.audit.selectors import audit_log_verify
from hawiya.audit.services import audit_record, audit_seal
from hawiya.audit.testing import append_only_triggers

pytestmark = pytest.mark.django_db

FIELDS: dict[str, Any] = {
    "occurred_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    "actor": "user:999",
    "actor_role": "officer",
    "actor_office": "JED-01",
    "action": "person.created",
    "object_type": "registry.person",
    "object_id": "999",
    "ip": "10.9.9.9",
    "detail": {"version": 999},
    "salt": "f" * 32,
    "hash": "e" * 64,
}
COLUMNS = [
    "occurred_at",
    "actor",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "detail",
    "salt",
    "hash",
]

mutations = st.one_of(
    st.tuples(st.just("field"), st.integers(0, 30), st.sampled_from(sorted(FIELDS))),
    st.tuples(st.just("remove"), st.integers(0, 30), st.just("")),
    st.tuples(st.just("swap"), st.integers(0, 30), st.integers(1, 30).map(str)),
)


def _untriggered() -> None:
    with connection.cursor() as cursor:
        for name in append_only_triggers():
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER {name} ON audit_auditevent")
            else:
                cursor.execute(f"DROP TRIGGER {name}")


def _value(column: str, value: Any) -> Any:
    return canonical_json(value).decode() if column == "detail" else value


def _tamper(events: list[AuditEvent], kind: str, index: int, extra: str) -> int:
    """Change the stored log; return the id `audit_verify` must name."""
    target = events[index]
    with connection.cursor() as cursor:
        if kind == "field":
            cursor.execute(
                f"UPDATE audit_auditevent SET {extra} = %s WHERE id = %s",  # noqa: S608 - a column name
                [_value(extra, FIELDS[extra]), target.pk],
            )
            return int(target.pk)
        if kind == "remove":
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
            return int(target.pk)
        # Swap the whole contents of two rows (their ids stay): the batch in another order.
        other = events[(index + int(extra)) % len(events)]
        first, second = sorted((target, other), key=lambda e: e.pk)
        cursor.execute("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["0" * 64, first.pk])
        for row, source in ((second, first), (first, second)):
            cursor.execute(
                "UPDATE audit_auditevent SET "  # noqa: S608 - column names of the test's own list
                + ", ".join(f"{c} = %s" for c in COLUMNS)
                + " WHERE id = %s",
                [*(_value(c, getattr(source, c)) for c in COLUMNS), row.pk],
            )
        return int(first.pk)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(2, 9),
    batches=st.lists(st.integers(1, 4), min_size=1, max_size=5),
    mutation=mutations,
)
def test_any_tampering_of_a_sealed_event_is_named(count: int, batches: list[int], mutation: Any) -> None:
    kind, index, extra = mutation
    with transaction.atomic():
        with transaction.atomic():
            events = [
                audit_record(
                    actor=Actor.citizen(n + 1),
                    action="document.reported_lost",
                    object_type="registry.document",
                    object_id=n + 1,
                    detail={"version": n},
                )
                for n in range(count)
            ]
        for size in batches:
            audit_seal(limit=size)
        while audit_seal() is not None:
            pass
        assert audit_log_verify().ok
        index %= count
        if kind == "swap" and int(extra) % count == 0:
            extra = "1"
        _untriggered()
        expected = _tamper(events, kind, index, extra)
        result = audit_log_verify()
        assert not result.ok, (kind, index, extra)
        assert result.broken_id == expected, (kind, index, extra, result.message)
        transaction.set_rollback(True)
