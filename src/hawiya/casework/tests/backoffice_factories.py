"""Factories for the back-office tests: requests made the way citizens make them (apply, pay the
gateway's signed callback, book an appointment) on a pinned clock, officers from the staff
factory, and the photo, fingerprints and handover code an officer works with."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from hawiya.appointments.models import Appointment
from hawiya.appointments.tests.factories import at_riyadh, book, make_bookable_office
from hawiya.casework.services import replacement_apply
from hawiya.core import clock
from hawiya.identity.models import StaffRole
from hawiya.identity.staff import StaffActor
from hawiya.identity.tests.factories import applicant_actor, make_staff, next_mobile
from hawiya.notifications.models import SmsMessage
from hawiya.payments.models import Bill
from hawiya.payments.services import payment_callback_apply
from hawiya.payments.tests.factories import callback_body, signed
from hawiya.registry.biometrics import DemoFingerprintScanner, FingerprintCapture
from hawiya.registry.models import Office, Person
from hawiya.registry.tests.factories import portrait_photo
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.tests.factories import applicant_with_address, lost_id_card, photo_upload

# A Monday: the office is open. Citizens apply and book on the Thursday before.
TODAY = dt.date(2027, 3, 1)
NOW = at_riyadh(TODAY, 9)
APPLIED = NOW - dt.timedelta(days=4)
SLOT = at_riyadh(TODAY, 10)
IP = "192.0.2.77"
_SIX_DIGITS = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")


class PinnedClock:
    """`clock.now()` and `clock.today()` answer this moment (every service asks them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: dt.datetime) -> None:
        self.at = at
        monkeypatch.setattr(clock, "now", lambda: self.at)
        monkeypatch.setattr(clock, "today", lambda: self.at.astimezone(clock.RIYADH).date())

    def set(self, at: dt.datetime) -> None:
        self.at = at


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


def officer(office: Office, role: str = StaffRole.OFFICER) -> StaffActor:
    return make_staff(role=role, office=office, ip=IP)


def photo_bytes(width: int = 480, height: int = 640) -> bytes:
    return portrait_photo(width, height)


def fingerprints_of(person: Person) -> FingerprintCapture:
    """The demo scanner's capture of the person's finger (the page passes the person's pk)."""
    return DemoFingerprintScanner().capture(subject_hint=str(person.pk))


def handover_code(replacement: Replacement) -> str:
    """The code of the latest handover SMS about the request."""
    message = (
        SmsMessage.objects.filter(
            subject_ref=f"replacement:{replacement.pk}", template__startswith="handover_code"
        )
        .order_by("-id")
        .first()
    )
    assert message is not None
    match = _SIX_DIGITS.search(message.body)
    assert match is not None
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def sms_templates(replacement: Replacement) -> list[str]:
    return list(
        SmsMessage.objects.filter(subject_ref=f"replacement:{replacement.pk}")
        .order_by("queued_at", "id")
        .values_list("template", flat=True)
    )
