"""Every change to the register leaves an audit event in the same transaction, and nothing personal."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.audit.selectors import audit_chain_verify
from hawiya.core.errors import ApplicationError
from hawiya.registry.services import (
    document_mark_reported_lost,
    document_reissue,
    national_address_set,
    person_change_mobile,
)

from .factories import make_address, make_document, make_lost_document, make_office, make_person

pytestmark = pytest.mark.django_db


def _events(**filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def _actions() -> list[str]:
    return [event.action for event in _events()]


def _assert_nothing_personal(event: AuditEvent, *values: str) -> None:
    text = json.dumps(event.hashed_fields(), ensure_ascii=False)
    for value in values:
        assert value not in text, value


def test_person_create_records_person_created() -> None:
    person = make_person(mobile="0501234567")
    (event,) = _events()
    assert (event.action, event.object_type, event.object_id) == (
        "person.created",
        "registry.person",
        str(person.pk),
    )
    assert (event.actor, event.actor_role, event.ip) == ("system:tests", "", None)
    assert event.detail == {"citizen": True, "deceased": False}
    _assert_nothing_personal(
        event, person.id_number, person.first_name_ar, person.family_name_en, "501234567"
    )


def test_person_create_records_the_actor_and_ip() -> None:
    make_person(actor=Actor.staff(7, role="officer", office_code="", ip="192.0.2.10"))
    (event,) = _events()
    assert (event.actor, event.actor_role, event.ip) == ("user:7", "officer", "192.0.2.10")


def test_a_refused_person_create_records_nothing() -> None:
    person = make_person()
    with pytest.raises(ApplicationError):
        make_person(id_number=person.id_number)
    assert _actions() == ["person.created"]


def test_mobile_change_records_only_the_last_two_digits() -> None:
    person = make_person()
    person_change_mobile(person_id=person.pk, mobile="0559876543", actor=Actor.citizen(3, ip="198.51.100.4"))
    event = _events(action="person.mobile_changed")[0]
    assert (event.object_id, event.actor, event.ip) == (str(person.pk), "user:3", "198.51.100.4")
    assert event.detail == {"person_id": person.pk, "mobile_last2": "43"}
    _assert_nothing_personal(event, "559876543", "+966559876543", person.id_number)


def test_national_address_set_records_the_address_and_the_previous_one() -> None:
    first = make_address()
    second = make_address(first.person, building_number="3030", short_address="RRRD3030")
    events = _events(action="national_address.set")
    assert [e.object_id for e in events] == [str(first.pk), str(second.pk)]
    assert events[0].detail == {"person_id": first.person_id, "previous_address_id": None}
    assert events[1].detail == {"person_id": first.person_id, "previous_address_id": first.pk}
    _assert_nothing_personal(events[1], "Takhassusi", "التخصصي", "RRRD3030")


def test_report_lost_and_reissue_record_their_events() -> None:
    document = make_document()
    lost = document_mark_reported_lost(document_id=document.pk, at=timezone.now(), actor=Actor.citizen(9))
    new = document_reissue(
        document_id=lost.pk,
        issuing_office=make_office(),
        issue_date=dt.date(2025, 2, 1),
        expiry_date=dt.date(2035, 2, 1),
        actor=Actor.staff(9, role="officer", office_code=""),
    )
    reported, reissued = _events(object_type="registry.document")
    assert (reported.action, reported.object_id, reported.actor) == (
        "document.reported_lost",
        str(document.pk),
        "user:9",
    )
    assert reported.detail == {
        "kind": document.kind,
        "version": 1,
        "holder_id": document.holder_id,
        "previous_status": "valid",
        "status": "reported_lost",
    }
    assert (reissued.action, reissued.object_id, reissued.actor_role) == (
        "document.reissued",
        str(new.pk),
        "officer",
    )
    assert reissued.detail["replaces_id"] == document.pk
    assert reissued.detail["version"] == 2
    assert reissued.detail["replaced_previous_status"] == "reported_lost"
    _assert_nothing_personal(reissued, new.serial_number, document.serial_number)
    assert audit_chain_verify().ok


def test_a_refused_report_records_nothing() -> None:
    lost = make_lost_document()
    before = AuditEvent.objects.count()
    with pytest.raises(ApplicationError):
        document_mark_reported_lost(actor=Actor.system("tests"), document_id=lost.pk, at=timezone.now())
    assert AuditEvent.objects.count() == before


def test_a_rolled_back_transaction_writes_no_event() -> None:
    document = make_document()
    before = AuditEvent.objects.count()

    def failing_caller() -> None:
        with transaction.atomic():
            document_mark_reported_lost(
                actor=Actor.system("tests"), document_id=document.pk, at=timezone.now()
            )
            person_change_mobile(
                actor=Actor.system("tests"), person_id=document.holder_id, mobile="0551112233"
            )
            national_address_set(
                actor=Actor.system("tests"),
                person=document.holder,
                building_number="2929",
                street_ar="شارع",
                street_en="Street",
                district_ar="حي",
                district_en="District",
                city_ar="الرياض",
                city_en="Riyadh",
                region="riyadh",
                postal_code="12345",
                additional_number="8538",
                short_address="RRRD2929",
            )
            assert AuditEvent.objects.count() == before + 3
            raise RuntimeError("the caller's transaction fails after the services ran")

    with pytest.raises(RuntimeError):
        failing_caller()
    assert AuditEvent.objects.count() == before
    assert audit_chain_verify().ok
    # The trail goes on: ids are the database's (a rolled-back one is never reused) and the log verifies.
    make_person()
    assert AuditEvent.objects.count() == before + 1
    assert audit_chain_verify().ok


def test_admin_report_lost_records_the_staff_member_and_address(
    client: Client, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_superuser("officer", "officer@example.sa", "a long passphrase 1")
    client.force_login(user)
    document = make_document()
    with translation.override("en"):
        url = reverse("admin:registry_document_changelist")
    client.post(
        url,
        {"action": "report_lost", "_selected_action": [document.pk]},
        secure=True,
        REMOTE_ADDR="203.0.113.5",
    )
    (event,) = _events(action="document.reported_lost")
    assert (event.actor, event.actor_role, event.ip, event.object_id) == (
        f"user:{user.pk}",
        "staff",
        "203.0.113.5",
        str(document.pk),
    )
