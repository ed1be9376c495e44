"""Data for the back-office page tests, built through the services: offices, staff accounts
(signed in through a test client), citizens with an appointment today, and a request moved
along its path by the casework services as an officer would."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.test import Client

from hawiya.appointments.models import Appointment
from hawiya.appointments.tests.factories import at_riyadh, book, id_card_service, make_replacement
from hawiya.casework import backoffice as casework
from hawiya.core import clock
from hawiya.identity.models import StaffRole, User
from hawiya.identity.staff import StaffActor, staff_actor_for, staff_member_create
from hawiya.identity.tests.factories import make_citizen
from hawiya.registry.biometrics import DemoFingerprintScanner
from hawiya.registry.models import Office
from hawiya.registry.tests.factories import make_office
from hawiya.registry.tests.factories import portrait_photo as photo_bytes
from hawiya.replacements.models import Replacement

ALL_WEEK = "1,2,3,4,5,6,7"
STAFF_PASSWORD = "staff-password-for-tests"
_counter = iter(range(1, 10_000))


def open_office(**overrides: object) -> Office:
    """An office open every day of the week, offering ID-card replacement (so "today" is bookable
    whatever day the tests run)."""
    overrides.setdefault("working_days", ALL_WEEK)
    office = make_office(**overrides)
    office.services.add(id_card_service())
    return office


def staff_user(*, role: str = StaffRole.OFFICER, office: Office | None) -> User:
    return staff_member_create(
        username=f"bo-staff{next(_counter)}", password=STAFF_PASSWORD, role=role, office=office
    )


def actor_of(user: User) -> StaffActor:
    actor = staff_actor_for(user, ip="192.0.2.9")
    assert actor is not None
    return actor


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Visit:
    replacement: Replacement
    appointment: Appointment


def booked_today(office: Office, *, hour: int = 10, minute: int = 0) -> Visit:
    """A citizen's paid collection request with an appointment today at `office` (booked 2 days ago)."""
    replacement = make_replacement(applicant=make_citizen())
    today = clock.today()
    appointment = book(
        replacement, office, at_riyadh(today, hour, minute), at=clock.now() - dt.timedelta(days=2)
    )
    replacement.refresh_from_db()
    return Visit(replacement=replacement, appointment=appointment)


def advance(visit: Visit, staff: StaffActor, *, to: str) -> Replacement:
    """Move the request along the collection path up to `to` through the casework services."""
    steps = ["checked_in", "biometrics_captured", "approved", "printed", "ready_for_collection"]
    replacement = visit.replacement
    for step in steps[: steps.index(to) + 1]:
        if step == "checked_in":
            replacement = casework.appointment_check_in(staff=staff, appointment_id=visit.appointment.pk)
        elif step == "biometrics_captured":
            replacement = casework.replacement_biometrics_capture(
                staff=staff,
                replacement_id=replacement.pk,
                photo=photo_bytes(),
                fingerprints=DemoFingerprintScanner().capture(
                    subject_hint=str(replacement.document.holder_id)
                ),
            )
        elif step == "approved":
            replacement = casework.replacement_approve(staff=staff, replacement_id=replacement.pk)
        elif step == "printed":
            replacement = casework.replacement_mark_printed(staff=staff, replacement_id=replacement.pk)
        else:
            replacement = casework.replacement_mark_ready(staff=staff, replacement_id=replacement.pk)
    replacement.refresh_from_db()
    visit.replacement = replacement
    return replacement


def handover_code_sent(replacement: Replacement) -> str:
    """The code in the latest handover SMS about `replacement`."""
    import re

    from hawiya.notifications.models import SmsMessage

    message = (
        SmsMessage.objects.filter(
            subject_ref=f"replacement:{replacement.pk}", template__startswith="handover_code"
        )
        .order_by("-id")
        .first()
    )
    assert message is not None
    match = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", message.body)
    assert match is not None
    return match.group(1)
