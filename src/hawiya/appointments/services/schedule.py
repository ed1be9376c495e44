"""The supervisor's office calendar: the weekly schedule (blocks, capacity) and holidays, each
previewed (the bookings it affects) before it is saved."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.clock import RIYADH
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity.staff import PERM_MANAGE_OFFICE, StaffActor
from hawiya.registry.models import Office

from .. import errors, selectors
from ..models import AppointmentState, OfficeHoliday, OfficeSchedule, Slot
from ._common import _cancel_booked, _locked_appointment

AUDIT_SCHEDULE_CHANGED = "office.schedule_changed"
AUDIT_HOLIDAY_ADDED = "office.holiday_added"
AUDIT_HOLIDAY_REMOVED = "office.holiday_removed"
OFFICE_OBJECT_TYPE = "registry.office"
MAX_BLOCKS_PER_DAY = 4


def _managed_office(*, staff: StaffActor, office_id: int, lock: bool = False) -> Office:
    """The office a supervisor (their own) or an administrator (any) manages; NotFound otherwise."""
    staff.require(PERM_MANAGE_OFFICE)
    staff.require_office(office_id)
    offices = Office.objects.filter(pk=office_id)
    if lock:
        offices = offices.select_for_update()
    office = offices.first()
    if office is None:
        raise NotFound(errors.OFFICE_NOT_FOUND, _("This office was not found."))
    return office


def _checked_rows(rows: Sequence[selectors.ScheduleRow]) -> tuple[selectors.ScheduleRow, ...]:
    """The rules of OfficeSchedule's constraints, as clear errors, plus: blocks of one weekday and
    service do not overlap, at most MAX_BLOCKS_PER_DAY of them, and the office opens on at least
    one day (an office without schedule rows would open on its default hours instead)."""
    if not rows:
        raise ApplicationError(errors.SCHEDULE_INVALID, _("Open the office on at least one day."))
    for row in rows:
        if row.weekday not in range(1, 8):
            raise ApplicationError(errors.SCHEDULE_INVALID, _("Choose a day of the week."), field="weekday")
        if row.opens_at >= row.closes_at:
            raise ApplicationError(
                errors.SCHEDULE_INVALID, _("The office must open before it closes."), field="closes_at"
            )
        if not 5 <= row.slot_minutes <= 240:
            raise ApplicationError(
                errors.SCHEDULE_INVALID, _("A slot lasts between 5 and 240 minutes."), field="slot_minutes"
            )
        if not 1 <= row.capacity <= 100:
            raise ApplicationError(
                errors.SCHEDULE_INVALID, _("A slot has between 1 and 100 places."), field="capacity"
            )
        minutes = (
            dt.datetime.combine(dt.date(2000, 1, 1), row.closes_at)
            - dt.datetime.combine(dt.date(2000, 1, 1), row.opens_at)
        ).total_seconds() // 60
        if minutes < row.slot_minutes:
            raise ApplicationError(
                errors.SCHEDULE_INVALID,
                _("The opening hours must be at least one slot long."),
                field="slot_minutes",
            )
    groups: dict[tuple[int, int | None], list[selectors.ScheduleRow]] = {}
    for row in rows:
        groups.setdefault((row.weekday, row.service_id), []).append(row)
    for group in groups.values():
        if len(group) > MAX_BLOCKS_PER_DAY:
            raise ApplicationError(
                errors.SCHEDULE_INVALID,
                _("A day has at most %(count)s opening blocks.") % {"count": MAX_BLOCKS_PER_DAY},
            )
        ordered = sorted(group, key=lambda row: row.opens_at)
        for before, after in itertools.pairwise(ordered):
            if after.opens_at < before.closes_at:
                raise ApplicationError(
                    errors.SCHEDULE_INVALID, _("Two opening blocks of the same day overlap.")
                )
    return tuple(sorted(rows, key=selectors.schedule_row_key))


def office_schedule_preview(
    *,
    staff: StaffActor,
    office_id: int,
    changes: Sequence[selectors.ScheduleRow],
    at: dt.datetime | None = None,
) -> selectors.SchedulePreview:
    """The effect of replacing the office's weekly schedule with `changes` (every block of the
    week) on booked future appointments, with the token `office_schedule_save` needs.

    Supervisors of the office or administrators (PERM_MANAGE_OFFICE); another office is NotFound.
    Raises ApplicationError `schedule_invalid` for blocks the schedule cannot hold.
    """
    office = _managed_office(staff=staff, office_id=office_id)
    rows = _checked_rows(changes)
    return selectors.office_schedule_effect(office=office, rows=rows, now=at)


def office_schedule_save(
    *,
    staff: StaffActor,
    office_id: int,
    changes: Sequence[selectors.ScheduleRow],
    preview_token: str,
    at: dt.datetime | None = None,
) -> selectors.SchedulePreview:
    """Replace the office's weekly schedule with `changes`, as previewed.

    Refused (`schedule_changed_since_preview`) when the change or the affected bookings differ
    from the preview the supervisor saw (someone booked or cancelled meanwhile): they must check
    the effect again. Booked appointments are always kept: one outside the new hours is served at
    its time (nobody else can book it), and a slot may not get fewer places than it has bookings
    (`schedule_capacity_below_booked`). Future slots already holding bookings take the new number
    of places. Audited; saving the schedule as it already is changes and records nothing.
    """
    now = at or clock.now()
    with transaction.atomic():
        office = _managed_office(staff=staff, office_id=office_id, lock=True)
        rows = _checked_rows(changes)
        # Lock the office's future slots: a booking waits for this change, then sees its places.
        future_slots = list(
            Slot.objects.select_for_update().filter(office=office, starts_at__gt=now).order_by("pk")
        )
        preview = selectors.office_schedule_effect(office=office, rows=rows, now=now)
        if not preview_token or preview_token != preview.token:
            raise ApplicationError(
                errors.SCHEDULE_CHANGED_SINCE_PREVIEW,
                _("Bookings have changed since you checked the effect. Check it again before saving."),
            )
        if preview.blocking:
            first = preview.blocking[0]
            raise ApplicationError(
                errors.SCHEDULE_CAPACITY_BELOW_BOOKED,
                _(
                    "The slot at %(time)s already has %(booked)s bookings: it cannot have fewer places. "
                    "Keep at least %(booked)s places at that time."
                )
                % {"time": first.local_start.strftime("%Y-%m-%d %H:%M"), "booked": first.booked},
            )
        stored = OfficeSchedule.objects.filter(office=office)
        current = sorted(
            (
                selectors.ScheduleRow(
                    row.weekday, row.opens_at, row.closes_at, row.slot_minutes, row.capacity, row.service_id
                )
                for row in stored
            ),
            key=selectors.schedule_row_key,
        )
        if tuple(current) == rows:
            return preview  # a resubmitted form: nothing changes, nothing to record
        stored.delete()
        OfficeSchedule.objects.bulk_create(
            [
                OfficeSchedule(
                    office=office,
                    service_id=row.service_id,
                    weekday=row.weekday,
                    opens_at=row.opens_at,
                    closes_at=row.closes_at,
                    slot_minutes=row.slot_minutes,
                    capacity=row.capacity,
                )
                for row in rows
            ]
        )
        updated = 0
        for slot in future_slots:
            block = selectors.planned_block(rows, service_id=slot.service_id, starts_at=slot.starts_at)
            # A slot off the new schedule keeps its places for the bookings it holds: nobody else
            # can book it (bookings check the schedule).
            if block is not None and block.capacity != slot.capacity:
                slot.capacity = block.capacity
                slot.save(update_fields=["capacity"])
                updated += 1
        audit_record(
            **staff.audit(),
            action=AUDIT_SCHEDULE_CHANGED,
            object_type=OFFICE_OBJECT_TYPE,
            object_id=office.pk,
            detail={
                "office": office.code,
                "blocks": len(rows),
                "slots_updated": updated,
                "kept_outside_hours": len(preview.affected),
            },
        )
    return preview


def _holiday_day(day: dt.date, now: dt.datetime) -> None:
    if day <= now.astimezone(RIYADH).date():
        raise ApplicationError(
            errors.HOLIDAY_NOT_IN_FUTURE, _("A holiday can be added from tomorrow on."), field="day"
        )
    if day > selectors.last_bookable_day(now=now) + dt.timedelta(days=366):
        raise ApplicationError(
            errors.HOLIDAY_NOT_IN_FUTURE, _("Choose a day within the next year."), field="day"
        )


def office_holiday_preview(
    *, staff: StaffActor, office_id: int, day: dt.date, at: dt.datetime | None = None
) -> selectors.HolidayPreview:
    """The booked appointments a holiday at the office on `day` would cancel, with the token
    `office_holiday_add` needs."""
    office = _managed_office(staff=staff, office_id=office_id)
    _holiday_day(day, at or clock.now())
    return selectors.office_holiday_effect(office=office, day=day)


def office_holiday_add(
    *,
    staff: StaffActor,
    office_id: int,
    day: dt.date,
    name_ar: str,
    name_en: str,
    preview_token: str,
    at: dt.datetime | None = None,
) -> OfficeHoliday:
    """Close the office on `day` (from tomorrow on), as previewed.

    Every appointment booked that day is cancelled by the office: its place is freed, its request
    goes back to `paid` (waiting for a new booking, nothing is refunded) and the applicant is told
    by SMS to book again. Refused (`holiday_changed_since_preview`) when the bookings of that day
    differ from the preview. Adding the same day again returns the holiday already there.
    """
    now = at or clock.now()
    name_ar, name_en = (name_ar or "").strip(), (name_en or "").strip()
    if not name_ar or not name_en:
        raise ApplicationError(
            errors.HOLIDAY_NAME_MISSING,
            _("Enter the holiday's name in Arabic and in English."),
            field="name_ar" if not name_ar else "name_en",
        )
    if len(name_ar) > 120 or len(name_en) > 120:
        raise ApplicationError(
            errors.HOLIDAY_NAME_MISSING, _("A holiday's name has at most 120 characters."), field="name_en"
        )
    with transaction.atomic():
        office = _managed_office(staff=staff, office_id=office_id, lock=True)
        existing = OfficeHoliday.objects.filter(office=office, date=day).first()
        if existing is not None:
            return existing  # a double submit: the holiday is there and its bookings were cancelled
        _holiday_day(day, now)
        preview = selectors.office_holiday_effect(office=office, day=day)
        if not preview_token or preview_token != preview.token:
            raise ApplicationError(
                errors.HOLIDAY_CHANGED_SINCE_PREVIEW,
                _("Bookings on that day have changed since you checked the effect. Check it again."),
            )
        holiday = OfficeHoliday.objects.create(office=office, date=day, name_ar=name_ar, name_en=name_en)
        cancelled = 0
        for item in preview.affected:
            replacement, appointment = _locked_appointment(appointment_id=item.appointment_id, applicant=None)
            if appointment.state != AppointmentState.BOOKED:
                continue
            _cancel_booked(
                replacement,
                appointment,
                now=now,
                step="appointment_cancelled_by_office",
                template="appointment_cancelled_by_office",
                who=staff.audit(),
                move_audit_detail={"person_id": replacement.document.holder_id},
                audit_detail={
                    "by": "office_holiday",
                    "person_id": appointment.applicant_id,
                    "office": office.code,
                },
            )
            cancelled += 1
        # A booking that read the calendar before this holiday committed waits on the slot's row
        # and then finds no place left. (One that creates the day's first row of a slot in that
        # very instant is not stopped; the day page shows it and the office can cancel it.)
        first, last = selectors.day_bounds(day)
        Slot.objects.filter(office=office, starts_at__gte=first, starts_at__lt=last).update(
            capacity=F("booked")
        )
        audit_record(
            **staff.audit(),
            action=AUDIT_HOLIDAY_ADDED,
            object_type=OFFICE_OBJECT_TYPE,
            object_id=office.pk,
            detail={
                "office": office.code,
                "date": day.isoformat(),
                "holiday": holiday.pk,
                "cancelled": cancelled,
            },
        )
    return holiday


def office_holiday_remove(
    *, staff: StaffActor, office_id: int, holiday_id: int, at: dt.datetime | None = None
) -> None:
    """Open the office again on one of its own future holidays (a holiday of every office is
    changed in the admin). Appointments cancelled for it stay cancelled; the day becomes bookable."""
    now = at or clock.now()
    with transaction.atomic():
        office = _managed_office(staff=staff, office_id=office_id, lock=True)
        holiday = OfficeHoliday.objects.filter(pk=holiday_id, office=office).first()
        if holiday is None:
            raise NotFound(errors.HOLIDAY_NOT_FOUND, _("This holiday was not found."))
        if holiday.date <= now.astimezone(RIYADH).date():
            raise ApplicationError(
                errors.HOLIDAY_NOT_IN_FUTURE, _("A holiday that has started or passed cannot be removed.")
            )
        day = holiday.date
        holiday.delete()
        # The day's slots get their places back from the schedule (adding the holiday emptied them).
        rows = selectors.office_schedule_rows(office=office)
        first, last = selectors.day_bounds(day)
        for slot in Slot.objects.select_for_update().filter(
            office=office, starts_at__gte=first, starts_at__lt=last
        ):
            block = selectors.planned_block(rows, service_id=slot.service_id, starts_at=slot.starts_at)
            if block is not None and block.capacity != slot.capacity:
                slot.capacity = max(block.capacity, slot.booked)
                slot.save(update_fields=["capacity"])
        audit_record(
            **staff.audit(),
            action=AUDIT_HOLIDAY_REMOVED,
            object_type=OFFICE_OBJECT_TYPE,
            object_id=office.pk,
            detail={"office": office.code, "date": day.isoformat(), "holiday": holiday_id},
        )
