"""Security review (issue #5): the counter's identity services can hand an account to whoever
stands at the counter, so the fingerprint check must be real and every change must be visible
to the person ("who accessed my data")."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.audit.selectors import staff_access_for_person
from hawiya.identity.counter import counter_mobile_rebind
from hawiya.identity.models import StaffRole
from hawiya.registry.biometrics import DemoFingerprintScanner, FingerprintCapture, biometrics_record
from hawiya.registry.models import Person
from hawiya.registry.tests.factories import make_office, portrait_photo

from .factories import make_citizen, make_staff, next_mobile

DEMO_SCANNER_CHECK = "hawiya.E003"


def _deploy_check_ids() -> set[str]:
    return {str(message.id) for message in run_checks(include_deployment_checks=True) if message.is_serious()}


def test_demo_fingerprint_scanner_is_refused_outside_demo_mode(settings: Any) -> None:
    # The demo scanner derives the template from the person it is told about: at the counter it
    # would "match" anyone, and a re-bound mobile number takes the person's account over.
    settings.DEMO = False
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"

    assert DEMO_SCANNER_CHECK in _deploy_check_ids()


@pytest.mark.parametrize(("demo", "scanner"), [(True, "demo"), (False, "http"), (True, "http")])
def test_the_scanner_check_passes_for_a_real_scanner_or_demo_mode(
    settings: Any, demo: bool, scanner: str
) -> None:
    settings.DEMO = demo
    settings.HAWIYA_FINGERPRINT_SCANNER = scanner
    settings.HAWIYA_FINGERPRINT_SCANNER_URL = "https://scanner.example"

    assert DEMO_SCANNER_CHECK not in _deploy_check_ids()


def _finger(hint: object) -> FingerprintCapture:
    return DemoFingerprintScanner().capture(subject_hint=str(hint))


def _enrolled(person: Person) -> Person:
    biometrics_record(
        person_id=person.pk,
        office=make_office(),
        photo=portrait_photo(),
        fingerprints=_finger(person.pk),
        actor=Actor.staff(1, role="officer", office_code=""),
    )
    return person


@pytest.mark.django_db
def test_a_mobile_rebound_at_the_counter_names_the_person_and_office_in_every_audit_event(
    settings: Any,
) -> None:
    settings.HAWIYA_SMS_CLIENT = "demo"
    office = make_office()
    staff = make_staff(role=StaffRole.OFFICER, office=office, ip="192.0.2.55")
    person = _enrolled(make_citizen())
    new_mobile = next_mobile()

    counter_mobile_rebind(
        staff=staff, person_id=person.pk, new_mobile=new_mobile, fingerprints=_finger(person.pk)
    )

    changed = AuditEvent.objects.get(action="person.mobile_changed", object_id=str(person.pk))
    assert changed.detail.get("person_id") == person.pk
    assert changed.actor_office == office.code
    assert changed.pk in set(staff_access_for_person(person_id=person.pk).values_list("pk", flat=True))
    # Still no number in the trail: only its last two digits.
    assert new_mobile not in str(changed.detail)
    assert new_mobile[-4:] not in str(changed.detail)
