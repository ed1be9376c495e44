"""Many people booking the last places at the same moment: only a real database shows it."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from django.db import connection

from hawiya.appointments import errors
from hawiya.appointments.models import Appointment, OfficeSchedule, Slot, Weekday
from hawiya.appointments.services.citizen import appointment_book
from hawiya.core import clock
from hawiya.core.errors import ApplicationError
from hawiya.identity.tests.factories import applicant_actor

from .factories import at_riyadh, make_bookable_office, make_replacement, next_weekday

THREADS = 50
CAPACITY = 5


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent writers on separate connections; SQLite serialises all writers",
)
@pytest.mark.django_db(transaction=True)
def test_fifty_people_booking_five_places_at_once_get_exactly_five_appointments():
    office = make_bookable_office()
    day = next_weekday(clock.today() + dt.timedelta(days=1), Weekday.TUESDAY)
    OfficeSchedule.objects.create(
        office=office,
        weekday=Weekday.TUESDAY,
        opens_at=dt.time(9),
        closes_at=dt.time(9, 20),
        capacity=CAPACITY,
    )
    starts_at = at_riyadh(day, 9)
    replacements = [make_replacement() for _ in range(THREADS)]
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(index: int) -> None:
        replacement = replacements[index]
        try:
            start.wait(timeout=30)
            appointment_book(
                replacement_id=replacement.pk,
                applicant=replacement.applicant,
                office_id=office.pk,
                starts_at=starts_at,
                idempotency_key=uuid.uuid4().hex,
                actor=applicant_actor(replacement.applicant_id),
            )
            outcome = "booked"
        except ApplicationError as exc:
            outcome = exc.code
        except Exception as exc:  # a deadlock or a constraint error would be a bug: record it
            outcome = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(set(outcomes)) == ["booked", errors.SLOT_FULL], outcomes
    assert outcomes.count("booked") == CAPACITY
    assert Appointment.objects.filter(slot__starts_at=starts_at).count() == CAPACITY
    assert Slot.objects.get(office=office, starts_at=starts_at).booked == CAPACITY
