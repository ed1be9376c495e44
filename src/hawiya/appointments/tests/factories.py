"""Factories for the appointments tests: a paid replacement request to be collected at an office,
made through the register's and the replacements' services (no waiting for the request pages)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hawiya.appointments.models import Appointment
from hawiya.appointments.services.citizen import appointment_book
from hawiya.core.clock import RIYADH
from hawiya.core.references import insert_with_reference
from hawiya.identity.tests.factories import make_citizen
from hawiya.registry.models import CivilService, Office, Person
from hawiya.registry.tests.factories import make_address, make_lost_document, make_office
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementState
from hawiya.replacements.services import replacement_move

ID_CARD_SERVICE = "national_id_card_replacement"


def make_bookable_office(**overrides: Any) -> Office:
    """A Riyadh office (Sunday to Thursday, 08:00-15:00, no schedule rows) offering ID-card replacement."""
    office = make_office(**overrides)
    office.services.add(id_card_service())
    return office


def id_card_service() -> CivilService:
    """The catalogue row of migration 0002 (made again after a transactional test's flush)."""
    service, _created = CivilService.objects.get_or_create(
        code=ID_CARD_SERVICE,
        defaults={
            "name_ar": "إصدار بطاقة هوية وطنية بدل مفقود",
            "name_en": "National ID card replacement (lost)",
        },
    )
    return service


def make_replacement(
    *, applicant: Person | None = None, method: str = ReceiveMethod.COLLECTION, paid: bool = True
) -> Replacement:
    """A replacement request for a reported-lost ID card, paid unless told otherwise."""
    document = make_lost_document(holder=applicant or make_citizen())
    replacement = insert_with_reference(
        Replacement(
            applicant=document.holder,
            document=document,
            method=method,
            delivery_address=make_address(document.holder) if method == ReceiveMethod.DELIVERY else None,
            idempotency_key=uuid.uuid4().hex,
            request_fingerprint="0" * 64,
        ),
        prefix="RP",
    )
    if paid:
        replacement_move(
            replacement_id=replacement.pk, to=ReplacementState.PAID, action="paid", actor="system"
        )
        replacement.refresh_from_db()
    return replacement


def next_weekday(after: dt.date, iso_weekday: int) -> dt.date:
    """The first day strictly after `after` falling on `iso_weekday` (Sunday = 7)."""
    day = after + dt.timedelta(days=1)
    while day.isoweekday() != iso_weekday:
        day += dt.timedelta(days=1)
    return day


def at_riyadh(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=RIYADH)


def book(
    replacement: Replacement, office: Office, starts_at: dt.datetime, *, at: dt.datetime | None = None
) -> Appointment:
    return appointment_book(
        replacement_id=replacement.pk,
        applicant=replacement.applicant,
        office_id=office.pk,
        starts_at=starts_at,
        idempotency_key=uuid.uuid4().hex,
        at=at,
        actor=f"person:{replacement.applicant_id}",
        ip="192.0.2.1",
    )
