"""The back-office factories, one set for every app's tests (casework, back-office pages,
delivery, appointments, the browser suite): offices, staff accounts and their StaffActor,
requests made the way citizens make them (apply, pay through the gateway's signed callback, book
an appointment) and moved along the collection path by the casework services as an officer would,
and the photo, fingerprints and handover code an officer works with.

They live in casework, the lowest layer that sees everything they build on (the casework services,
appointments, payments, identity's staff): every app above may use them, none below needs them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from hawiya.appointments.models import Appointment
from hawiya.appointments.tests.factories import (
    at_riyadh,
    book,
    id_card_service,
    make_bookable_office,
    make_replacement,
)
from hawiya.casework import backoffice as casework
from hawiya.casework.services import replacement_apply
from hawiya.core import clock
from hawiya.core.testing import PinnedClock, pin_clock
from hawiya.identity.models import StaffRole, User
from hawiya.identity.staff import StaffActor, staff_actor_for, staff_member_create
from hawiya.identity.tests.factories import applicant_actor, make_citizen, next_mobile
from hawiya.notifications.models import SmsMessage
from hawiya.payments.models import Bill
from hawiya.payments.services import payment_callback_apply
from hawiya.payments.tests.factories import callback_body, signed
from hawiya.registry.biometrics import DemoFingerprintScanner, FingerprintCapture
from hawiya.registry.models import Office, Person
from hawiya.registry.tests.factories import make_office, portrait_photo
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.tests.factories import (
    applicant_with_address,
    handover_code_sent,
    lost_id_card,
    photo_upload,
)

# A Monday: the office is open. Citizens apply and book on the Thursday before.
TODAY = dt.date(2027, 3, 1)
NOW = at_riyadh(TODAY, 9)
APPLIED = NOW - dt.timedelta(days=4)
SLOT = at_riyadh(TODAY, 10)
IP = "192.0.2.77"
ALL_WEEK = "1,2,3,4,5,6,7"
STAFF_PASSWORD = "staff-password-for-tests"
# The steps of the collection path an officer takes, in order (see `advance`).
COLLECTION_STEPS = ["checked_in", "biometrics_captured", "approved", "printed", "ready_for_collection"]
_counter = iter(range(1, 100_000))


def pin_back_office_clock(monkeypatch: pytest.MonkeyPatch, settings: Any) -> PinnedClock:
    """The clock at NOW (today included), with the demo SMS outbox and payment gateway the
    factories' requests go through."""
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = "test-webhook-secret"
    return pin_clock(monkeypatch, NOW, today=True)


# --- Offices and staff ---------------------------------------------------------------------------


def open_office(**overrides: Any) -> Office:
    """An office open every day of the week, offering ID-card replacement (so "today" is bookable
    whatever day the tests run)."""
    overrides.setdefault("working_days", ALL_WEEK)
    office = make_office(**overrides)
    office.services.add(id_card_service())
    return office


def staff_user(*, role: str = StaffRole.OFFICER, office: Office | None) -> User:
    """A staff account of `role` at `office` (None for an administrator), password STAFF_PASSWORD."""
    return staff_member_create(
        username=f"bo-staff{next(_counter)}", password=STAFF_PASSWORD, role=role, office=office
    )


def actor_of(user: User, *, ip: str = IP) -> StaffActor:
    """The staff member as the services see them."""
    actor = staff_actor_for(user, ip=ip)
    assert actor is not None
    return actor


def officer(office: Office | None, role: str = StaffRole.OFFICER) -> StaffActor:
    """A new staff member of `role` at `office`, as the services see them."""
    return actor_of(staff_user(role=role, office=office))


def signed_in(who: User | StaffActor, client: Client | None = None) -> Client:
    """A test client (a new one unless given) signed in as the staff member."""
    client = client or Client()
    client.force_login(who if isinstance(who, User) else User.objects.get(pk=who.user_id))
    return client


# --- Requests ---------------------------------------------------------------------------------------


@dataclass
class Case:
    """A citizen's request and what the officer sees of it."""

    replacement: Replacement
    office: Office
    appointment: Appointment | None = None

    @property
    def applicant(self) -> Person:
        return self.replacement.applicant

    def fresh(self) -> Replacement:
        self.replacement.refresh_from_db()
        return self.replacement


@dataclass
class Visit(Case):
    """A case with its appointment (today's visit to the office)."""

    appointment: Appointment


def citizen(**overrides: Any) -> Person:
    overrides.setdefault("mobile", next_mobile())
    return applicant_with_address(**overrides)


def apply(
    person: Person, *, losses: int = 1, method: str = "collection", office: Office | None = None
) -> Replacement:
    """Apply as the portal does; a fine is paid through the gateway's signed callback."""
    document = lost_id_card(holder=person, losses=losses, office=office)
    replacement = replacement_apply(
        applicant=person,
        document_id=document.pk,
        method=method,
        photo=photo_upload() if method == "delivery" else None,
        white_background_declared=method == "delivery",
        address_confirmed=True,
        mobile_confirmed=True,
        idempotency_key=uuid.uuid4().hex,
        actor=applicant_actor(person.pk, ip=IP),
    )
    if replacement.state == ReplacementState.AWAITING_PAYMENT:
        body = callback_body(Bill.objects.get(replacement=replacement))
        payment_callback_apply(body=body, signature_header=signed(body))
        replacement.refresh_from_db()
    assert replacement.state == ReplacementState.PAID
    return replacement


def collection_case(pinned: PinnedClock, *, losses: int = 1, office: Office | None = None) -> Case:
    """A paid collection request with an appointment at 10:00 today, booked days ago; the clock
    is then today, 09:00."""
    office = office or make_bookable_office()
    pinned.set(APPLIED)
    replacement = apply(citizen(), losses=losses)
    appointment = book(replacement, office, SLOT, at=APPLIED)
    pinned.set(NOW)
    replacement.refresh_from_db()
    return Case(replacement=replacement, office=office, appointment=appointment)


def delivery_case(pinned: PinnedClock, *, losses: int = 2) -> Case:
    """A paid delivery request; its office is the one chosen at submit."""
    pinned.set(APPLIED)
    replacement = apply(citizen(), losses=losses, method="delivery", office=make_bookable_office())
    pinned.set(NOW)
    assert replacement.office is not None
    return Case(replacement=replacement, office=replacement.office)


def booked_today(office: Office, *, hour: int = 10, minute: int = 0) -> Visit:
    """A citizen's paid collection request with an appointment today at `office` (booked 2 days
    ago), on the real clock."""
    replacement = make_replacement(applicant=make_citizen())
    appointment = book(
        replacement, office, at_riyadh(clock.today(), hour, minute), at=clock.now() - dt.timedelta(days=2)
    )
    replacement.refresh_from_db()
    return Visit(replacement=replacement, office=office, appointment=appointment)


def advance(case: Case, staff: StaffActor, *, to: str) -> Replacement:
    """Move the request along the collection path up to the step `to` (COLLECTION_STEPS) through
    the casework services, as an officer would."""
    replacement = case.replacement
    for step in COLLECTION_STEPS[: COLLECTION_STEPS.index(to) + 1]:
        if step == "checked_in":
            assert case.appointment is not None
            replacement = casework.appointment_check_in(staff=staff, appointment_id=case.appointment.pk)
        elif step == "biometrics_captured":
            replacement = casework.replacement_biometrics_capture(
                staff=staff,
                replacement_id=replacement.pk,
                photo=photo_bytes(),
                fingerprints=fingerprints_of(replacement.document.holder),
            )
        elif step == "approved":
            replacement = casework.replacement_approve(staff=staff, replacement_id=replacement.pk)
        elif step == "printed":
            replacement = casework.replacement_mark_printed(staff=staff, replacement_id=replacement.pk)
        else:
            replacement = casework.replacement_mark_ready(staff=staff, replacement_id=replacement.pk)
    replacement.refresh_from_db()
    case.replacement = replacement
    return replacement


# --- What the officer works with -----------------------------------------------------------------


def photo_bytes(width: int = 480, height: int = 640) -> bytes:
    return portrait_photo(width, height)


def fingerprints_of(person: Person) -> FingerprintCapture:
    """The demo scanner's capture of the person's finger (the page passes the person's pk)."""
    return DemoFingerprintScanner().capture(subject_hint=str(person.pk))


def handover_code(replacement: Replacement) -> str:
    """The code of the latest handover SMS about the request."""
    return handover_code_sent(replacement.pk)


def wrong(code: str) -> str:
    """Another six-digit code than `code`."""
    return f"{(int(code) + 1) % 10**6:06d}"


def sms_templates(replacement: Replacement) -> list[str]:
    return list(
        SmsMessage.objects.filter(subject_ref=f"replacement:{replacement.pk}")
        .order_by("queued_at", "id")
        .values_list("template", flat=True)
    )
