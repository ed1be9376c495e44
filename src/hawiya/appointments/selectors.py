"""Reads of office calendars and appointments.

Availability is computed, not stored: the schedule (or an office's own hours) says which slots
could exist on a day, holidays close days, and the slot rows that exist say how many places are
taken. Times are Riyadh wall-clock times (no daylight saving), stored as aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.clock import RIYADH
from hawiya.core.errors import NotFound
from hawiya.registry.models import CivilService, Office, Person
from hawiya.replacements.models import Replacement

from . import errors
from .models import (
    ACTIVE_STATES,
    DEFAULT_CAPACITY,
    DEFAULT_SLOT_MINUTES,
    Appointment,
    AppointmentMove,
    OfficeHoliday,
    OfficeSchedule,
    Slot,
)

# Bookings open from tomorrow (Riyadh date) up to this many days ahead.
BOOKING_HORIZON_DAYS = 60


@dataclass(frozen=True)
class Block:
    """An opening block of a day: slots of `minutes` from `opens_at` while they end by `closes_at`."""

    opens_at: dt.time
    closes_at: dt.time
    minutes: int
    capacity: int


@dataclass(frozen=True)
class SlotView:
    """One time of a day's grid, with what is left of it."""

    starts_at: dt.datetime
    minutes: int
    capacity: int
    booked: int

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.booked, 0)

    @property
    def is_full(self) -> bool:
        return self.places_left == 0

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(RIYADH)

    @property
    def value(self) -> str:
        """The slot as a form value: its start in Riyadh time, ISO 8601 with the offset."""
        return self.local_start.isoformat(timespec="minutes")


@dataclass(frozen=True)
class SuggestedDate:
    day: dt.date
    places_left: int


# --- Where ---------------------------------------------------------------------------------------


def offices_for(*, region: str, city: str | None = None, service: CivilService | None = None) -> list[Office]:
    """Offices of a region (and city, matched on its English or Arabic name), offering `service`."""
    offices = Office.objects.filter(region=region)
    if city:
        offices = offices.filter(Q(city_en__iexact=city) | Q(city_ar=city))
    if service is not None:
        offices = offices.filter(services=service)
    return list(offices.order_by("code"))


def cities_for(*, region: str) -> list[tuple[str, str, str]]:
    """(English name, Arabic name, English name) of each city with an office in the region."""
    rows = (
        Office.objects.filter(region=region).values_list("city_en", "city_ar").distinct().order_by("city_en")
    )
    return [(city_en, city_ar, city_en) for city_en, city_ar in rows]


def office_get(*, office_id: int) -> Office:
    office = Office.objects.filter(pk=office_id).first()
    if office is None:
        raise NotFound(errors.OFFICE_NOT_FOUND, _("This office was not found."))
    return office


def service_for_replacement(*, replacement: Replacement) -> CivilService:
    """The office service a replacement request's visit is for (by the lost document's kind)."""
    code = f"{replacement.document.kind}_replacement"
    service = CivilService.objects.filter(code=code).first()
    if service is None:  # the catalogue is a migration: only a broken database lacks it
        raise NotFound(errors.OFFICE_SERVICE_NOT_OFFERED, _("This service is not offered at any office."))
    return service


def office_offers(*, office: Office, service: CivilService) -> bool:
    return office.services.filter(pk=service.pk).exists()


# --- When ----------------------------------------------------------------------------------------


def first_bookable_day(*, now: dt.datetime | None = None) -> dt.date:
    """Tomorrow in Riyadh: the earliest day anyone can book."""
    return (now or clock.now()).astimezone(RIYADH).date() + dt.timedelta(days=1)


def last_bookable_day(*, now: dt.datetime | None = None) -> dt.date:
    return first_bookable_day(now=now) + dt.timedelta(days=BOOKING_HORIZON_DAYS - 1)


def _holidays(office: Office, first: dt.date, last: dt.date) -> set[dt.date]:
    return set(
        OfficeHoliday.objects.filter(Q(office=office) | Q(office__isnull=True), date__range=(first, last))
        .values_list("date", flat=True)
        .distinct()
    )


def is_holiday(*, office: Office, day: dt.date) -> bool:
    return bool(_holidays(office, day, day))


class _Calendar:
    """An office's opening blocks for one service, read once and asked per day."""

    def __init__(self, office: Office, service: CivilService) -> None:
        self.office = office
        self.service = service
        self.rows = list(OfficeSchedule.objects.filter(office=office))

    def blocks(self, day: dt.date) -> list[Block]:
        weekday = day.isoweekday()
        if not self.rows:
            if weekday not in self.office.working_weekdays:
                return []
            return [
                Block(self.office.opens_at, self.office.closes_at, DEFAULT_SLOT_MINUTES, DEFAULT_CAPACITY)
            ]
        today = [row for row in self.rows if row.weekday == weekday]
        chosen = [row for row in today if row.service_id == self.service.pk] or [
            row for row in today if row.service_id is None
        ]
        return sorted(
            (Block(row.opens_at, row.closes_at, row.slot_minutes, row.capacity) for row in chosen),
            key=lambda block: block.opens_at,
        )

    def times(self, day: dt.date) -> Iterator[tuple[dt.datetime, Block]]:
        """Each slot start of the day (aware, Riyadh) with its block, in order, without repeats."""
        seen: set[dt.datetime] = set()
        for block in self.blocks(day):
            start = dt.datetime.combine(day, block.opens_at, tzinfo=RIYADH)
            close = dt.datetime.combine(day, block.closes_at, tzinfo=RIYADH)
            step = dt.timedelta(minutes=block.minutes)
            while start + step <= close:
                if start not in seen:
                    seen.add(start)
                    yield start, block
                start += step


def _taken(
    office: Office, service: CivilService, first: dt.datetime, last: dt.datetime
) -> dict[dt.datetime, Slot]:
    slots = Slot.objects.filter(office=office, service=service, starts_at__gte=first, starts_at__lt=last)
    return {slot.starts_at: slot for slot in slots}


def _views(
    calendar: _Calendar, day: dt.date, taken: dict[dt.datetime, Slot], now: dt.datetime
) -> list[SlotView]:
    views = []
    for start, block in calendar.times(day):
        if start <= now:
            continue
        slot = taken.get(start)
        if slot is None:
            views.append(SlotView(start, block.minutes, block.capacity, 0))
        else:
            views.append(SlotView(start, slot.minutes, slot.capacity, slot.booked))
    return views


def _day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(first, dt.time(0), tzinfo=RIYADH),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=RIYADH),
    )


def slots_on(
    *, office: Office, service: CivilService, day: dt.date, now: dt.datetime | None = None
) -> list[SlotView]:
    """The day's grid: every slot the schedule makes, with its places left ([] on a closed day)."""
    now = now or clock.now()
    if is_holiday(office=office, day=day):
        return []
    calendar = _Calendar(office, service)
    return _views(calendar, day, _taken(office, service, *_day_bounds(day, day)), now)


def suggested_dates(
    *,
    office: Office,
    service: CivilService,
    from_date: dt.date | None = None,
    limit: int = 5,
    now: dt.datetime | None = None,
) -> list[SuggestedDate]:
    """The next days with a free place, from `from_date` but never before tomorrow, skipping
    holidays and closed days, within the booking horizon."""
    now = now or clock.now()
    first = max(from_date or first_bookable_day(now=now), first_bookable_day(now=now))
    last = last_bookable_day(now=now)
    if first > last:
        return []
    calendar = _Calendar(office, service)
    holidays = _holidays(office, first, last)
    taken = _taken(office, service, *_day_bounds(first, last))
    found: list[SuggestedDate] = []
    day = first
    while day <= last and len(found) < limit:
        if day not in holidays:
            left = sum(view.places_left for view in _views(calendar, day, taken, now))
            if left:
                found.append(SuggestedDate(day, left))
        day += dt.timedelta(days=1)
    return found


def slot_plan(*, office: Office, service: CivilService, starts_at: dt.datetime) -> Block | None:
    """The schedule block a start time belongs to, or None when no slot starts then."""
    local = starts_at.astimezone(RIYADH)
    for start, block in _Calendar(office, service).times(local.date()):
        if start == local:
            return block
    return None


# --- Appointments --------------------------------------------------------------------------------


def _appointments() -> QuerySet[Appointment]:
    return Appointment.objects.select_related(
        "slot", "slot__office", "slot__service", "replacement", "replacement__document", "applicant"
    )


def appointment_for_replacement(*, replacement: Replacement) -> Appointment | None:
    """The request's appointment that holds a place (booked or checked in), if any."""
    return _appointments().filter(replacement=replacement, state__in=list(ACTIVE_STATES)).first()


def appointment_get_for_person(*, person: Person, reference: str) -> Appointment:
    """One of the person's appointments; someone else's or none answers NotFound alike."""
    appointment = _appointments().filter(reference=reference, applicant=person).first()
    if appointment is None:
        raise NotFound(errors.APPOINTMENT_NOT_FOUND, _("This appointment was not found."))
    return appointment


def appointment_booked_with_key(*, replacement: Replacement, key: str) -> Appointment | None:
    """The appointment a booking form with this idempotency key made for the request, if any."""
    if not key:
        return None
    return (
        _appointments()
        .filter(replacement=replacement, applicant_id=replacement.applicant_id, idempotency_key=key)
        .first()
    )


def appointment_moved_with_key(*, appointment: Appointment, key: str) -> bool:
    """Whether a reschedule form with this idempotency key already moved the appointment."""
    return bool(key) and AppointmentMove.objects.filter(appointment=appointment, idempotency_key=key).exists()


def appointments_for_person(*, person: Person, limit: int = 50) -> list[Appointment]:
    return list(_appointments().filter(applicant=person)[:limit])


def replacement_for_booking(*, person: Person, reference: str) -> Replacement:
    """The person's own replacement request by reference (NotFound alike otherwise)."""
    replacement = (
        Replacement.objects.select_related("document", "office")
        .filter(reference=reference, applicant=person)
        .first()
    )
    if replacement is None:
        raise NotFound("replacement_not_found", _("This request was not found."))
    return replacement


def due_for_reminder(*, now: dt.datetime | None = None) -> Iterable[int]:
    """Ids of booked appointments tomorrow (Riyadh date) whose reminder has not gone out."""
    tomorrow = first_bookable_day(now=now)
    first, last = _day_bounds(tomorrow, tomorrow)
    return list(
        Appointment.objects.filter(
            state="booked", reminded_at__isnull=True, slot__starts_at__gte=first, slot__starts_at__lt=last
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- Schedule and holidays (the supervisor's pages) -------------------------------------------------


@dataclass(frozen=True)
class ScheduleRow:
    """One opening block of the week as a supervisor edits it (a future OfficeSchedule row)."""

    weekday: int
    opens_at: dt.time
    closes_at: dt.time
    slot_minutes: int
    capacity: int
    # None: every service the office offers without rows of its own that day.
    service_id: int | None = None


class Outcome:
    """What happens to a booked appointment when the schedule changes or a holiday is added."""

    # The time is no longer on the schedule: the booking is kept and served at its time; nobody
    # else can book it.
    KEPT_OUTSIDE_HOURS = "kept_outside_hours"
    # The new capacity is below what is already booked in that slot: the change cannot be saved.
    OVER_CAPACITY = "over_capacity"
    # The day becomes a holiday: the office cancels the visit; the request waits for a new booking.
    CANCELLED_FOR_HOLIDAY = "cancelled_for_holiday"


@dataclass(frozen=True)
class AffectedAppointment:
    appointment_id: int
    reference: str
    starts_at: dt.datetime
    state: str
    service_id: int
    outcome: str
    # For OVER_CAPACITY: the places taken in the slot and the new number of places.
    booked: int = 0
    new_capacity: int = 0

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(RIYADH)


@dataclass(frozen=True)
class SchedulePreview:
    """The effect of a schedule change on already-booked future appointments, and the token
    that the save must present (a digest of the change and of the affected list)."""

    office: Office
    rows: tuple[ScheduleRow, ...]
    affected: tuple[AffectedAppointment, ...]
    token: str

    @property
    def blocking(self) -> list[AffectedAppointment]:
        return [item for item in self.affected if item.outcome == Outcome.OVER_CAPACITY]

    @property
    def can_save(self) -> bool:
        return not self.blocking


@dataclass(frozen=True)
class HolidayPreview:
    office: Office
    day: dt.date
    affected: tuple[AffectedAppointment, ...]
    token: str


def office_schedule_rows(*, office: Office) -> list[ScheduleRow]:
    """The office's weekly blocks as they stand: its schedule rows, or (an office without any)
    its working days and hours with the default slot length and places."""
    rows = list(OfficeSchedule.objects.filter(office=office).order_by("weekday", "service_id", "opens_at"))
    if rows:
        return [
            ScheduleRow(
                row.weekday, row.opens_at, row.closes_at, row.slot_minutes, row.capacity, row.service_id
            )
            for row in rows
        ]
    return [
        ScheduleRow(weekday, office.opens_at, office.closes_at, DEFAULT_SLOT_MINUTES, DEFAULT_CAPACITY)
        for weekday in sorted(office.working_weekdays)
    ]


def _planned_blocks(rows: Iterable[ScheduleRow], *, weekday: int, service_id: int) -> list[Block]:
    """The blocks of a weekday for a service under `rows` (the rule of `_Calendar.blocks`)."""
    today = [row for row in rows if row.weekday == weekday]
    chosen = [row for row in today if row.service_id == service_id] or [
        row for row in today if row.service_id is None
    ]
    return sorted(
        (Block(row.opens_at, row.closes_at, row.slot_minutes, row.capacity) for row in chosen),
        key=lambda block: block.opens_at,
    )


def planned_block(rows: Iterable[ScheduleRow], *, service_id: int, starts_at: dt.datetime) -> Block | None:
    """The block of `rows` in which a slot starts at `starts_at`, or None (off the schedule)."""
    local = starts_at.astimezone(RIYADH)
    for block in _planned_blocks(rows, weekday=local.isoweekday(), service_id=service_id):
        start = dt.datetime.combine(local.date(), block.opens_at, tzinfo=RIYADH)
        close = dt.datetime.combine(local.date(), block.closes_at, tzinfo=RIYADH)
        step = dt.timedelta(minutes=block.minutes)
        while start + step <= close:
            if start == local:
                return block
            start += step
    return None


def _future_booked(office: Office, now: dt.datetime) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(
            slot__office=office, slot__starts_at__gt=now, state__in=sorted(ACTIVE_STATES)
        )
        .select_related("slot")
        .order_by("slot__starts_at", "reference")
    )


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def schedule_row_key(row: ScheduleRow) -> tuple[int, int, str, str, int, int]:
    return (
        row.weekday,
        row.service_id or 0,
        row.opens_at.isoformat(),
        row.closes_at.isoformat(),
        row.slot_minutes,
        row.capacity,
    )


def office_schedule_effect(
    *, office: Office, rows: Iterable[ScheduleRow], now: dt.datetime | None = None
) -> SchedulePreview:
    """Which booked future appointments of the office fall outside `rows` (kept) or in a slot
    whose new number of places is below the places already taken (the change cannot be saved)."""
    now = now or clock.now()
    planned = tuple(sorted(rows, key=schedule_row_key))
    affected: list[AffectedAppointment] = []
    for appointment in _future_booked(office, now):
        slot = appointment.slot
        block = planned_block(planned, service_id=slot.service_id, starts_at=slot.starts_at)
        if block is None:
            outcome, booked, capacity = Outcome.KEPT_OUTSIDE_HOURS, 0, 0
        elif block.capacity < slot.booked:
            outcome, booked, capacity = Outcome.OVER_CAPACITY, slot.booked, block.capacity
        else:
            continue
        affected.append(
            AffectedAppointment(
                appointment_id=appointment.pk,
                reference=appointment.reference,
                starts_at=slot.starts_at,
                state=appointment.state,
                service_id=slot.service_id,
                outcome=outcome,
                booked=booked,
                new_capacity=capacity,
            )
        )
    token = _digest(
        "schedule",
        office.pk,
        [schedule_row_key(row) for row in planned],
        [
            (item.appointment_id, item.state, item.starts_at.isoformat(), item.outcome, item.booked)
            for item in affected
        ],
    )
    return SchedulePreview(office=office, rows=planned, affected=tuple(affected), token=token)


def office_holiday_effect(*, office: Office, day: dt.date) -> HolidayPreview:
    """The booked appointments of the office on `day`: a holiday that day cancels them."""
    first, last = _day_bounds(day, day)
    appointments = (
        Appointment.objects.filter(
            slot__office=office,
            slot__starts_at__gte=first,
            slot__starts_at__lt=last,
            state__in=sorted(ACTIVE_STATES),
        )
        .select_related("slot")
        .order_by("slot__starts_at", "reference")
    )
    affected = tuple(
        AffectedAppointment(
            appointment_id=appointment.pk,
            reference=appointment.reference,
            starts_at=appointment.slot.starts_at,
            state=appointment.state,
            service_id=appointment.slot.service_id,
            outcome=Outcome.CANCELLED_FOR_HOLIDAY,
        )
        for appointment in appointments
    )
    token = _digest(
        "holiday", office.pk, day.isoformat(), [(item.appointment_id, item.state) for item in affected]
    )
    return HolidayPreview(office=office, day=day, affected=affected, token=token)


def office_holidays_upcoming(*, office: Office, from_day: dt.date, limit: int = 100) -> list[OfficeHoliday]:
    """The office's own holidays and every office's, from `from_day` on, by date."""
    return list(
        OfficeHoliday.objects.filter(Q(office=office) | Q(office__isnull=True), date__gte=from_day).order_by(
            "date", "office_id"
        )[:limit]
    )


def offices_for_staff_choice(*, office_ids: Iterable[int] | None = None) -> list[Office]:
    """Offices to choose from (administrators): every office, or those of `office_ids`."""
    offices = Office.objects.all()
    if office_ids is not None:
        offices = offices.filter(pk__in=list(office_ids))
    return list(offices.order_by("region", "code"))


def office_by_code(*, code: str) -> Office:
    office = Office.objects.filter(code=code).first()
    if office is None:
        raise NotFound(errors.OFFICE_NOT_FOUND, _("This office was not found."))
    return office


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of `day` in Riyadh and of the next day (slots of the day are in between)."""
    return _day_bounds(day, day)
