"""Supervisors change the office's schedule and holidays: the effect on bookings is shown first,
bookings are kept (or, for a holiday, cancelled by the office with a message), and a preview
that no longer matches the bookings is refused."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from hawiya.appointments import errors
from hawiya.appointments.models import AppointmentState, OfficeHoliday, OfficeSchedule, Slot, Weekday
from hawiya.appointments.selectors import Outcome, ScheduleRow, office_schedule_rows, slots_on
from hawiya.appointments.services.schedule import (
    AUDIT_HOLIDAY_ADDED,
    AUDIT_HOLIDAY_REMOVED,
    AUDIT_SCHEDULE_CHANGED,
    office_holiday_add,
    office_holiday_preview,
    office_holiday_remove,
    office_schedule_preview,
    office_schedule_save,
)
from hawiya.audit.models import AuditEvent
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity.models import StaffRole
from hawiya.identity.staff import StaffActor, StaffForbidden
from hawiya.identity.tests.factories import make_staff
from hawiya.notifications.models import InboxNotification
from hawiya.registry.models import Office
from hawiya.replacements.models import ReplacementState

from .factories import at_riyadh, book, id_card_service, make_bookable_office, make_replacement, next_weekday

pytestmark = pytest.mark.django_db

NOW = at_riyadh(dt.date(2030, 3, 4), 9)  # a Monday
TUESDAY = next_weekday(NOW.date(), Weekday.TUESDAY)
NINE = at_riyadh(TUESDAY, 9)


def _week(**tuesday: object) -> list[ScheduleRow]:
    """Sunday to Thursday 08:00-15:00, 20-minute slots of 3 places; Tuesday changed by `tuesday`."""
    rows = []
    for weekday in (7, 1, 2, 3, 4):
        row = ScheduleRow(weekday, dt.time(8), dt.time(15), 20, 3)
        if weekday == Weekday.TUESDAY:
            row = dataclasses.replace(row, **tuesday)  # type: ignore[arg-type]
        rows.append(row)
    return rows


@pytest.fixture
def office() -> Office:
    return make_bookable_office()


@pytest.fixture
def supervisor(office: Office) -> StaffActor:
    return make_staff(role=StaffRole.SUPERVISOR, office=office)


def _booked(office: Office, starts_at: dt.datetime = NINE) -> int:
    replacement = make_replacement()
    return book(replacement, office, starts_at, at=NOW).pk


def test_current_rows_of_an_office_without_schedule_are_its_working_days() -> None:
    office = make_bookable_office()
    rows = office_schedule_rows(office=office)
    assert [row.weekday for row in rows] == [1, 2, 3, 4, 7]
    assert {(row.opens_at, row.closes_at, row.slot_minutes, row.capacity) for row in rows} == {
        (dt.time(8), dt.time(15), 20, 3)
    }


def test_preview_lists_bookings_outside_the_new_hours_and_save_keeps_them(
    office: Office, supervisor: StaffActor
) -> None:
    early = _booked(office, NINE)
    _booked(office, at_riyadh(TUESDAY, 11))  # still inside the new hours
    changes = _week(opens_at=dt.time(10))

    preview = office_schedule_preview(staff=supervisor, office_id=office.pk, changes=changes, at=NOW)

    assert [(item.appointment_id, item.outcome) for item in preview.affected] == [
        (early, Outcome.KEPT_OUTSIDE_HOURS)
    ]
    assert preview.can_save
    office_schedule_save(
        staff=supervisor, office_id=office.pk, changes=changes, preview_token=preview.token, at=NOW
    )
    tuesday = OfficeSchedule.objects.get(office=office, weekday=Weekday.TUESDAY)
    assert tuesday.opens_at == dt.time(10)
    assert OfficeSchedule.objects.filter(office=office).count() == 5
    kept = Slot.objects.get(office=office, starts_at=NINE)
    assert kept.booked == 1
    assert kept.appointments.get().state == AppointmentState.BOOKED
    # Nobody else can book 09:00 any more.
    times = [
        view.starts_at for view in slots_on(office=office, service=id_card_service(), day=TUESDAY, now=NOW)
    ]
    assert NINE not in times
    assert at_riyadh(TUESDAY, 10) in times
    event = AuditEvent.objects.get(action=AUDIT_SCHEDULE_CHANGED)
    assert event.actor_role == "supervisor"
    assert event.detail["office"] == office.code
    assert event.detail["kept_outside_hours"] == 1


def test_places_below_the_bookings_of_a_slot_cannot_be_saved(office: Office, supervisor: StaffActor) -> None:
    _booked(office)
    _booked(office)
    changes = _week(capacity=1)

    preview = office_schedule_preview(staff=supervisor, office_id=office.pk, changes=changes, at=NOW)

    assert not preview.can_save
    assert {(item.outcome, item.booked, item.new_capacity) for item in preview.affected} == {
        (Outcome.OVER_CAPACITY, 2, 1)
    }
    with pytest.raises(ApplicationError) as caught:
        office_schedule_save(
            staff=supervisor, office_id=office.pk, changes=changes, preview_token=preview.token, at=NOW
        )
    assert caught.value.code == errors.SCHEDULE_CAPACITY_BELOW_BOOKED
    assert not OfficeSchedule.objects.filter(office=office).exists()


def test_more_places_reach_slots_that_already_hold_bookings(office: Office, supervisor: StaffActor) -> None:
    _booked(office)
    changes = _week(capacity=5)
    preview = office_schedule_preview(staff=supervisor, office_id=office.pk, changes=changes, at=NOW)
    assert preview.affected == ()

    office_schedule_save(
        staff=supervisor, office_id=office.pk, changes=changes, preview_token=preview.token, at=NOW
    )

    assert Slot.objects.get(office=office, starts_at=NINE).capacity == 5


def test_a_booking_made_after_the_preview_makes_the_save_refuse(
    office: Office, supervisor: StaffActor
) -> None:
    changes = _week(opens_at=dt.time(10))
    preview = office_schedule_preview(staff=supervisor, office_id=office.pk, changes=changes, at=NOW)
    _booked(office, NINE)

    with pytest.raises(ApplicationError) as caught:
        office_schedule_save(
            staff=supervisor, office_id=office.pk, changes=changes, preview_token=preview.token, at=NOW
        )

    assert caught.value.code == errors.SCHEDULE_CHANGED_SINCE_PREVIEW
    assert not OfficeSchedule.objects.filter(office=office).exists()


def test_a_token_of_another_change_is_refused(office: Office, supervisor: StaffActor) -> None:
    preview = office_schedule_preview(
        staff=supervisor, office_id=office.pk, changes=_week(capacity=4), at=NOW
    )
    with pytest.raises(ApplicationError) as caught:
        office_schedule_save(
            staff=supervisor,
            office_id=office.pk,
            changes=_week(capacity=6),
            preview_token=preview.token,
            at=NOW,
        )
    assert caught.value.code == errors.SCHEDULE_CHANGED_SINCE_PREVIEW


def test_saving_the_same_schedule_again_records_nothing(office: Office, supervisor: StaffActor) -> None:
    changes = _week(capacity=4)
    preview = office_schedule_preview(staff=supervisor, office_id=office.pk, changes=changes, at=NOW)
    office_schedule_save(
        staff=supervisor, office_id=office.pk, changes=changes, preview_token=preview.token, at=NOW
    )
    office_schedule_save(
        staff=supervisor, office_id=office.pk, changes=changes, preview_token=preview.token, at=NOW
    )
    assert AuditEvent.objects.filter(action=AUDIT_SCHEDULE_CHANGED).count() == 1
    assert OfficeSchedule.objects.filter(office=office).count() == 5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"opens_at": dt.time(15), "closes_at": dt.time(8)}, "closes_at"),
        ({"slot_minutes": 2}, "slot_minutes"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 101}, "capacity"),
        ({"opens_at": dt.time(8), "closes_at": dt.time(8, 10)}, "slot_minutes"),
    ],
)
def test_blocks_the_schedule_cannot_hold_are_refused(
    office: Office, supervisor: StaffActor, change: dict[str, object], field: str
) -> None:
    with pytest.raises(ApplicationError) as caught:
        office_schedule_preview(staff=supervisor, office_id=office.pk, changes=_week(**change), at=NOW)
    assert caught.value.code == errors.SCHEDULE_INVALID
    assert caught.value.field == field


def test_overlapping_blocks_of_one_day_are_refused(office: Office, supervisor: StaffActor) -> None:
    changes = [*_week(), ScheduleRow(Weekday.TUESDAY, dt.time(14), dt.time(16), 20, 3)]
    with pytest.raises(ApplicationError) as caught:
        office_schedule_preview(staff=supervisor, office_id=office.pk, changes=changes, at=NOW)
    assert caught.value.code == errors.SCHEDULE_INVALID


def test_only_managers_of_the_office_change_its_schedule(office: Office) -> None:
    officer = make_staff(role=StaffRole.OFFICER, office=office)
    other_supervisor = make_staff(role=StaffRole.SUPERVISOR, office=make_bookable_office())
    administrator = make_staff(role=StaffRole.ADMINISTRATOR, office=None)

    with pytest.raises(StaffForbidden):
        office_schedule_preview(staff=officer, office_id=office.pk, changes=_week(), at=NOW)
    with pytest.raises(NotFound):
        office_schedule_preview(staff=other_supervisor, office_id=office.pk, changes=_week(), at=NOW)
    with pytest.raises(NotFound):
        office_holiday_preview(staff=other_supervisor, office_id=office.pk, day=TUESDAY, at=NOW)
    preview = office_schedule_preview(staff=administrator, office_id=office.pk, changes=_week(), at=NOW)
    assert preview.office == office


# --- Holidays ------------------------------------------------------------------------------------


def test_a_holiday_cancels_the_days_bookings_and_tells_each_applicant(
    office: Office, supervisor: StaffActor
) -> None:
    appointment_id = _booked(office)
    other_day = _booked(office, at_riyadh(next_weekday(TUESDAY, Weekday.WEDNESDAY), 9))
    preview = office_holiday_preview(staff=supervisor, office_id=office.pk, day=TUESDAY, at=NOW)
    assert [(item.appointment_id, item.outcome) for item in preview.affected] == [
        (appointment_id, Outcome.CANCELLED_FOR_HOLIDAY)
    ]

    holiday = office_holiday_add(
        staff=supervisor,
        office_id=office.pk,
        day=TUESDAY,
        name_ar="إجازة",
        name_en="Office closed",
        preview_token=preview.token,
        at=NOW,
    )

    assert holiday.office == office
    assert holiday.date == TUESDAY
    slot = Slot.objects.get(office=office, starts_at=NINE)
    appointment = slot.appointments.get()
    assert appointment.pk == appointment_id
    assert appointment.state == AppointmentState.CANCELLED
    assert slot.booked == 0
    assert appointment.replacement.state == ReplacementState.PAID
    assert appointment.replacement.events.order_by("-id")[0].action == "appointment_cancelled_by_office"
    assert InboxNotification.objects.filter(
        person_id=appointment.applicant_id, template="appointment_cancelled_by_office"
    ).exists()
    cancelled = AuditEvent.objects.get(action="appointment.cancelled", object_id=str(appointment_id))
    assert cancelled.detail["person_id"] == appointment.applicant_id
    assert cancelled.actor_role == "supervisor"
    assert cancelled.actor_office == office.code
    assert AuditEvent.objects.get(action=AUDIT_HOLIDAY_ADDED).detail["cancelled"] == 1
    moved = AuditEvent.objects.get(action="replacement.moved", detail__step="appointment_cancelled_by_office")
    assert moved.detail["person_id"] == appointment.replacement.document.holder_id
    assert moved.actor_office == office.code
    assert Slot.objects.get(appointments__pk=other_day).booked == 1
    assert slot.capacity == 0  # a booking that read the calendar before the holiday finds no place
    assert slots_on(office=office, service=id_card_service(), day=TUESDAY, now=NOW) == []


def test_a_holiday_preview_gone_stale_is_refused(office: Office, supervisor: StaffActor) -> None:
    preview = office_holiday_preview(staff=supervisor, office_id=office.pk, day=TUESDAY, at=NOW)
    _booked(office)
    with pytest.raises(ApplicationError) as caught:
        office_holiday_add(
            staff=supervisor,
            office_id=office.pk,
            day=TUESDAY,
            name_ar="إجازة",
            name_en="Closed",
            preview_token=preview.token,
            at=NOW,
        )
    assert caught.value.code == errors.HOLIDAY_CHANGED_SINCE_PREVIEW
    assert not OfficeHoliday.objects.exists()


def test_adding_the_same_holiday_twice_returns_the_first(office: Office, supervisor: StaffActor) -> None:
    preview = office_holiday_preview(staff=supervisor, office_id=office.pk, day=TUESDAY, at=NOW)
    arguments = {
        "staff": supervisor,
        "office_id": office.pk,
        "day": TUESDAY,
        "name_ar": "إجازة",
        "name_en": "Closed",
        "preview_token": preview.token,
        "at": NOW,
    }
    first = office_holiday_add(**arguments)  # type: ignore[arg-type]
    again = office_holiday_add(**arguments)  # type: ignore[arg-type]
    assert first.pk == again.pk
    assert AuditEvent.objects.filter(action=AUDIT_HOLIDAY_ADDED).count() == 1


@pytest.mark.parametrize("day", [NOW.date(), NOW.date() - dt.timedelta(days=3)])
def test_a_holiday_starts_tomorrow_at_the_earliest(
    office: Office, supervisor: StaffActor, day: dt.date
) -> None:
    with pytest.raises(ApplicationError) as caught:
        office_holiday_preview(staff=supervisor, office_id=office.pk, day=day, at=NOW)
    assert caught.value.code == errors.HOLIDAY_NOT_IN_FUTURE


def test_a_holiday_needs_both_names(office: Office, supervisor: StaffActor) -> None:
    with pytest.raises(ApplicationError) as caught:
        office_holiday_add(
            staff=supervisor,
            office_id=office.pk,
            day=TUESDAY,
            name_ar="إجازة",
            name_en="  ",
            preview_token="x",
            at=NOW,
        )
    assert caught.value.code == errors.HOLIDAY_NAME_MISSING
    assert caught.value.field == "name_en"


def test_removing_a_holiday_opens_the_day_again(office: Office, supervisor: StaffActor) -> None:
    _booked(office)  # cancelled by the holiday; its slot row stays
    preview = office_holiday_preview(staff=supervisor, office_id=office.pk, day=TUESDAY, at=NOW)
    holiday = office_holiday_add(
        staff=supervisor,
        office_id=office.pk,
        day=TUESDAY,
        name_ar="إجازة",
        name_en="Closed",
        preview_token=preview.token,
        at=NOW,
    )
    other_supervisor = make_staff(role=StaffRole.SUPERVISOR, office=make_bookable_office())
    with pytest.raises(NotFound):
        office_holiday_remove(staff=other_supervisor, office_id=office.pk, holiday_id=holiday.pk, at=NOW)

    office_holiday_remove(staff=supervisor, office_id=office.pk, holiday_id=holiday.pk, at=NOW)

    assert not OfficeHoliday.objects.exists()
    assert Slot.objects.get(office=office, starts_at=NINE).capacity == 3  # the places are back
    assert slots_on(office=office, service=id_card_service(), day=TUESDAY, now=NOW) != []
    assert AuditEvent.objects.get(action=AUDIT_HOLIDAY_REMOVED).detail["date"] == TUESDAY.isoformat()
    with pytest.raises(NotFound):
        office_holiday_remove(staff=supervisor, office_id=office.pk, holiday_id=holiday.pk, at=NOW)


def test_a_week_closed_every_day_is_refused(office: Office, supervisor: StaffActor) -> None:
    # Without rows the office would open on its default hours: the opposite of what was asked.
    with pytest.raises(ApplicationError) as caught:
        office_schedule_preview(staff=supervisor, office_id=office.pk, changes=[], at=NOW)
    assert caught.value.code == errors.SCHEDULE_INVALID
