"""Many people booking the last places at the same moment: only a real database shows it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection

from hawiya.appointments import errors
from hawiya.appointments.models import Appointment, OfficeSchedule, Slot, Weekday
from hawiya.core import clock
from hawiya.core.testing import outcome, race
from hawiya.replacements.models import Replacement

from .factories import at_riyadh, book, make_bookable_office, make_replacement, next_weekday

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

    def attempt(replacement: Replacement) -> Callable[[], object]:
        return lambda: book(replacement, office, starts_at)

    # A deadlock or a constraint error would be a bug: it shows as "error: …" in the outcomes.
    outcomes = [outcome(result, ok="booked") for result in race([attempt(one) for one in replacements])]

    assert sorted(set(outcomes)) == ["booked", errors.SLOT_FULL], outcomes
    assert outcomes.count("booked") == CAPACITY
    assert Appointment.objects.filter(slot__starts_at=starts_at).count() == CAPACITY
    assert Slot.objects.get(office=office, starts_at=starts_at).booked == CAPACITY
