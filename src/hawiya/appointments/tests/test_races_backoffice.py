"""A supervisor adds a holiday while citizens book that very day, on PostgreSQL with real threads
and separate connections (SQLite runs one writer at a time, so the race cannot happen there).

Whatever the interleaving, the office must never end up closed on a day that still holds a booked
appointment, and nobody gets a database error: the booking is refused ("closed on this day", or
"full"), or the holiday is refused because its previewed effect changed meanwhile.

Two tests pin the dangerous interleavings with a pause inside one of the transactions (and wait,
through pg_stat_activity, until the other transaction is really blocked on a lock); a third lets
them run free.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from hawiya.appointments import errors
from hawiya.appointments.models import Appointment, AppointmentState, OfficeHoliday, Weekday
from hawiya.appointments.services import citizen, schedule
from hawiya.appointments.services.schedule import (
    AUDIT_HOLIDAY_ADDED,
    office_holiday_add,
    office_holiday_preview,
)
from hawiya.audit.services import audit_record
from hawiya.core.testing import in_thread, outcome, race, wait_until_blocked_on_a_lock
from hawiya.identity.models import StaffRole
from hawiya.identity.staff import StaffActor
from hawiya.identity.tests.factories import make_staff
from hawiya.registry.models import Office

from .factories import at_riyadh, book, make_bookable_office, make_replacement, next_weekday

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent writers on separate connections; SQLite serialises all writers",
    ),
]

NOW = at_riyadh(dt.date(2030, 3, 4), 9)  # a Monday
TUESDAY = next_weekday(NOW.date(), Weekday.TUESDAY)
NINE = at_riyadh(TUESDAY, 9)
TEN = at_riyadh(TUESDAY, 10)


def _booked_on_holidays(office: Office) -> list[str]:
    """References of booked appointments on a day the office is closed (must stay empty)."""
    holidays = set(OfficeHoliday.objects.filter(office=office).values_list("date", flat=True))
    return [
        appointment.reference
        for appointment in Appointment.objects.filter(slot__office=office, state=AppointmentState.BOOKED)
        .select_related("slot")
        .order_by("pk")
        if appointment.slot.starts_at.astimezone(at_riyadh(TUESDAY, 0).tzinfo).date() in holidays
    ]


def _book(starts_at: dt.datetime, office: Office) -> Callable[[], object]:
    replacement = make_replacement()
    return lambda: book(replacement, office, starts_at, at=NOW)


def _add_holiday(supervisor: StaffActor, office: Office, token: str) -> Callable[[], object]:
    return lambda: office_holiday_add(
        staff=supervisor,
        office_id=office.pk,
        day=TUESDAY,
        name_ar="إجازة",
        name_en="Holiday",
        preview_token=token,
        at=NOW,
    )


@pytest.fixture
def office() -> Office:
    return make_bookable_office()


@pytest.fixture
def supervisor(office: Office) -> StaffActor:
    return make_staff(role=StaffRole.SUPERVISOR, office=office)


def test_a_booking_holding_its_place_when_the_holiday_is_saved_is_never_left_on_the_holiday(
    office: Office, supervisor: StaffActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    book(make_replacement(), office, NINE, at=NOW)  # the holiday has a booking to cancel
    token = office_holiday_preview(staff=supervisor, office_id=office.pk, day=TUESDAY, at=NOW).token
    booking = _book(NINE, office)
    place_taken, go_on = threading.Event(), threading.Event()
    take_place = citizen._take_place

    def paused(**kwargs: Any) -> Any:
        slot = take_place(**kwargs)
        if threading.current_thread().name == "booking":
            place_taken.set()
            go_on.wait(timeout=30)
        return slot

    monkeypatch.setattr(citizen, "_take_place", paused)
    booker = in_thread(booking, name="booking")
    assert place_taken.wait(timeout=30)
    adder = in_thread(_add_holiday(supervisor, office, token), name="holiday")
    wait_until_blocked_on_a_lock()
    go_on.set()
    outcomes = {"booking": outcome(booker.result(60)), "holiday": outcome(adder.result(60))}

    assert outcomes == {"booking": "ok", "holiday": errors.HOLIDAY_CHANGED_SINCE_PREVIEW}, outcomes
    assert _booked_on_holidays(office) == []
    assert not OfficeHoliday.objects.filter(office=office).exists()


def test_a_booking_made_while_the_holiday_is_being_saved_is_refused_once_it_is_saved(
    office: Office, supervisor: StaffActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = office_holiday_preview(staff=supervisor, office_id=office.pk, day=TUESDAY, at=NOW).token
    booking = _book(TEN, office)  # the day's first booking at ten: its slot row does not exist yet
    saving, go_on = threading.Event(), threading.Event()

    def paused(**kwargs: Any) -> Any:
        if kwargs.get("action") == AUDIT_HOLIDAY_ADDED:
            saving.set()
            go_on.wait(timeout=30)
        return audit_record(**kwargs)

    monkeypatch.setattr(schedule, "audit_record", paused)
    adder = in_thread(_add_holiday(supervisor, office, token), name="holiday")
    assert saving.wait(timeout=30)
    booker = in_thread(booking, name="booking")
    wait_until_blocked_on_a_lock()
    go_on.set()
    outcomes = {"holiday": outcome(adder.result(60)), "booking": outcome(booker.result(60))}

    assert outcomes == {"holiday": "ok", "booking": errors.SLOT_HOLIDAY}, outcomes
    assert _booked_on_holidays(office) == []
    assert not Appointment.objects.filter(slot__starts_at=TEN).exists()


def test_a_holiday_and_bookings_of_that_day_at_the_same_moment_leave_no_booking_on_the_holiday(
    office: Office, supervisor: StaffActor
) -> None:
    book(make_replacement(), office, NINE, at=NOW)
    token = office_holiday_preview(staff=supervisor, office_id=office.pk, day=TUESDAY, at=NOW).token
    calls = [_book(NINE, office), _book(TEN, office), _book(TEN, office)]
    calls.append(_add_holiday(supervisor, office, token))
    outcomes = {str(index): outcome(result) for index, result in enumerate(race(calls))}

    expected = {"ok", errors.SLOT_HOLIDAY, errors.SLOT_FULL, errors.HOLIDAY_CHANGED_SINCE_PREVIEW}
    assert set(outcomes.values()) <= expected, outcomes
    assert len(outcomes) == len(calls)
    assert _booked_on_holidays(office) == []
