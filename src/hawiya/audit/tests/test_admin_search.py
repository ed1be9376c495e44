"""The audit trail's admin search: `type:id` finds one object's events through the object index;
a bare term keeps the exact search on the object id and the actor."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client

from hawiya.audit import admin as admin_module
from hawiya.audit.actors import Actor
from hawiya.audit.admin import AuditEventAdmin
from hawiya.audit.models import AuditEvent
from hawiya.audit.services import audit_record

pytestmark = pytest.mark.django_db

URL = "/en/admin/audit/auditevent/"


def _event(object_type: str, object_id: int) -> AuditEvent:
    with transaction.atomic():
        return audit_record(
            actor=Actor.staff(7, role="officer", office_code="RUH-01", ip="192.0.2.7"),
            action="person.record_viewed",
            object_type=object_type,
            object_id=object_id,
            detail={},
        )


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(
        get_user_model().objects.create_superuser(username="audit-admin", password="audit-admin-0123")
    )
    return client


def _found(client: Client, term: str) -> set[int]:
    response = client.get(URL, {"q": term})
    assert response.status_code == 200
    return {event.pk for event in response.context["cl"].result_list}


def test_type_and_id_find_exactly_that_objects_events(admin_client: Client) -> None:
    person = _event("registry.person", 42)
    again = _event("registry.person", 42)
    other_id = _event("registry.person", 420)
    other_type = _event("identity.passkey", 42)
    assert _found(admin_client, "registry.person:42") == {person.pk, again.pk}
    assert _found(admin_client, " identity.passkey:42 ") == {other_type.pk}
    assert _found(admin_client, "registry.person:7") == set()
    # A bare id is the exact search it was: every type's object 42.
    assert _found(admin_client, "42") == {person.pk, again.pk, other_type.pk}
    assert other_id.pk not in _found(admin_client, "42")


@pytest.mark.parametrize(
    "term", ["registry.person:", "registry:42", "Registry.Person:42", "a.b:1:2", "x" * 200]
)
def test_other_terms_are_the_exact_search_and_never_an_error(admin_client: Client, term: str) -> None:
    _event("registry.person", 42)
    assert _found(admin_client, term) == set()


def test_type_and_id_are_read_through_the_object_index() -> None:
    """With a trail of some size and its statistics, the plan reads the object index: on SQLite
    by its name, on PostgreSQL through each monthly partition's copy of it."""
    actor = Actor.staff(7, role="officer", office_code="RUH-01", ip="192.0.2.7")
    with transaction.atomic():
        for number in range(1500):
            audit_record(
                actor=actor,
                action="person.record_viewed",
                object_type="registry.person",
                object_id=number,
                detail={},
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent" if connection.vendor == "postgresql" else "ANALYZE")
    queryset, _ = AuditEventAdmin(AuditEvent, admin_site=None).get_search_results(  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        AuditEvent.objects.order_by("-id"),
        "registry.person:42",
    )
    plan = queryset[:100].explain()
    assert "audit_event_object_idx" in plan or "object_type_object_id_idx" in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a statement time limit is PostgreSQL's")
def test_a_search_reading_the_whole_trail_too_long_is_stopped_with_a_way_forward(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _event("registry.person", 42)
    # pg_sleep in a full scan's place: the limit cancels it on the server.
    monkeypatch.setattr(admin_module, "SCAN_TIME_LIMIT_MS", 50)
    monkeypatch.setattr(
        AuditEventAdmin,
        "get_search_results",
        lambda self, request, queryset, term: (queryset.extra(where=["pg_sleep(0.2) IS NOT NULL"]), False),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout')")
        before = cursor.fetchone()[0]
    response = admin_client.get(URL, {"q": "7", "action": "person.record_viewed"})
    # Back to the list with its filter and without the search, and told why and what to do.
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?action=person.record_viewed"
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert "read the whole trail for too long" in page.content.decode()
    assert "registry.person:42" in page.content.decode()
    # The connection's own limit is put back afterwards.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout')")
        assert cursor.fetchone()[0] == before
