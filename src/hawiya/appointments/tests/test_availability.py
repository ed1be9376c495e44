"""Which slots exist: schedules, the fallback to an office's own hours, holidays, closed days."""

from __future__ import annotations

import datetime as dt

import pytest

from hawiya.appointments.models import OfficeHoliday, OfficeSchedule, Weekday
from hawiya.appointments.selectors import offices_for, slots_on, suggested_dates

from .factories import at_riyadh, book, id_card_service, make_bookable_office, make_replacement, next_weekday

pytestmark = pytest.mark.django_db

# A Monday morning in Riyadh: "tomorrow" is Tuesday.
NOW = at_riyadh(dt.date(2030, 3, 4), 9)


def test_an_office_without_schedule_rows_opens_on_its_own_days_with_20_minute_slots_of_3_places():
    office = make_bookable_office()  # Sunday-Thursday, 08:00-15:00
    tuesday = next_weekday(NOW.date(), Weekday.TUESDAY)
    slots = slots_on(office=office, service=id_card_service(), day=tuesday, now=NOW)
    assert len(slots) == 21
    assert slots[0].local_start.time() == dt.time(8, 0)
    assert slots[-1].local_start.time() == dt.time(14, 40)
    assert {(slot.minutes, slot.capacity, slot.places_left) for slot in slots} == {(20, 3, 3)}
    friday = next_weekday(NOW.date(), Weekday.FRIDAY)
    assert slots_on(office=office, service=id_card_service(), day=friday, now=NOW) == []


def test_schedule_rows_replace_the_office_hours_and_a_service_row_beats_the_general_one():
    office = make_bookable_office()
    service = id_card_service()
    OfficeSchedule.objects.create(
        office=office,
        weekday=Weekday.TUESDAY,
        opens_at=dt.time(9),
        closes_at=dt.time(10),
        slot_minutes=30,
        capacity=2,
    )
    OfficeSchedule.objects.create(
        office=office, weekday=Weekday.WEDNESDAY, opens_at=dt.time(9), closes_at=dt.time(10), capacity=5
    )
    OfficeSchedule.objects.create(
        office=office,
        service=service,
        weekday=Weekday.WEDNESDAY,
        opens_at=dt.time(16),
        closes_at=dt.time(17),
        slot_minutes=15,
        capacity=1,
    )
    tuesday = next_weekday(NOW.date(), Weekday.TUESDAY)
    wednesday = next_weekday(NOW.date(), Weekday.WEDNESDAY)
    thursday = next_weekday(NOW.date(), Weekday.THURSDAY)
    assert [
        (s.local_start.time(), s.capacity)
        for s in slots_on(office=office, service=service, day=tuesday, now=NOW)
    ] == [
        (dt.time(9, 0), 2),
        (dt.time(9, 30), 2),
    ]
    assert [
        s.local_start.time() for s in slots_on(office=office, service=service, day=wednesday, now=NOW)
    ] == [
        dt.time(16, 0),
        dt.time(16, 15),
        dt.time(16, 30),
        dt.time(16, 45),
    ]
    # Rows exist, none for Thursday: the office's own Thursday hours no longer apply.
    assert slots_on(office=office, service=service, day=thursday, now=NOW) == []


def test_holidays_of_the_office_or_of_every_office_close_the_day_and_are_skipped_in_suggestions():
    office = make_bookable_office()
    other = make_bookable_office()
    service = id_card_service()
    tuesday = next_weekday(NOW.date(), Weekday.TUESDAY)
    wednesday = tuesday + dt.timedelta(days=1)
    OfficeHoliday.objects.create(office=office, date=tuesday, name_ar="إجازة", name_en="Closed")
    OfficeHoliday.objects.create(office=None, date=wednesday, name_ar="عيد", name_en="Eid")
    assert slots_on(office=office, service=service, day=tuesday, now=NOW) == []
    assert slots_on(office=other, service=service, day=tuesday, now=NOW) != []
    assert slots_on(office=other, service=service, day=wednesday, now=NOW) == []
    days = [suggestion.day for suggestion in suggested_dates(office=office, service=service, now=NOW)]
    # Tue (office holiday), Wed (national), Fri and Sat closed: Thursday, Sunday, Monday, ...
    assert days == [
        wednesday + dt.timedelta(days=1),
        wednesday + dt.timedelta(days=4),
        wednesday + dt.timedelta(days=5),
        wednesday + dt.timedelta(days=6),
        wednesday + dt.timedelta(days=7),
    ]


def test_suggestions_start_tomorrow_at_the_earliest_and_skip_full_days():
    office = make_bookable_office()
    service = id_card_service()
    OfficeSchedule.objects.create(
        office=office, weekday=Weekday.TUESDAY, opens_at=dt.time(9), closes_at=dt.time(9, 20), capacity=1
    )
    OfficeSchedule.objects.create(
        office=office, weekday=Weekday.WEDNESDAY, opens_at=dt.time(9), closes_at=dt.time(9, 20), capacity=1
    )
    tuesday = next_weekday(NOW.date(), Weekday.TUESDAY)
    first = suggested_dates(
        office=office, service=service, from_date=NOW.date() - dt.timedelta(days=3), now=NOW
    )
    assert first[0].day == tuesday
    assert first[0].places_left == 1
    book(make_replacement(), office, at_riyadh(tuesday, 9), at=NOW)
    after = suggested_dates(office=office, service=service, now=NOW, limit=2)
    assert [suggestion.day for suggestion in after] == [
        tuesday + dt.timedelta(days=1),
        tuesday + dt.timedelta(days=7),
    ]
    grid = slots_on(office=office, service=service, day=tuesday, now=NOW)
    assert [(slot.places_left, slot.is_full) for slot in grid] == [(0, True)]


def test_offices_are_found_by_region_and_city_and_service():
    riyadh = make_bookable_office()
    jeddah = make_bookable_office(region="makkah", city_en="Jeddah", city_ar="جدة")
    make_bookable_office(region="makkah", city_en="Makkah", city_ar="مكة المكرمة")
    assert riyadh in offices_for(region="riyadh", service=id_card_service())
    assert offices_for(region="makkah", city="jeddah") == [jeddah]
    assert offices_for(region="makkah", city="جدة") == [jeddah]
    assert offices_for(region="makkah", city="Taif") == []
