"""Writes of appointments: book, reschedule, cancel, reminders.

Overbooking is impossible whatever the concurrency: a place is taken with ONE conditional
UPDATE (`booked = booked + 1 WHERE booked < capacity`), which the database evaluates on the
row's latest version after any concurrent writer commits; the CHECK constraint `booked <=
capacity` backs it up. Lock order everywhere: the replacement request, then the appointment,
then slot rows by id (so two moves in opposite directions cannot deadlock).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.clock import RIYADH
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.idempotency import check_same_request, idempotency_key_checked, request_fingerprint
from hawiya.core.references import insert_with_reference
from hawiya.identity.selectors import person_language
from hawiya.identity.staff import PERM_MANAGE_OFFICE, StaffActor
from hawiya.notifications.services import notify
from hawiya.notifications.subjects import APPOINTMENT, Subject
from hawiya.registry.models import CivilService, Office, Person
from hawiya.registry.offices import office_in_notice
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementState
from hawiya.replacements.services import (
    replacement_event_add,
    replacement_move,
    replacement_notify,
    replacement_office_set,
)

from . import errors, selectors
from .models import (
    ACTIVE_STATES,
    Appointment,
    AppointmentMove,
    AppointmentState,
    OfficeHoliday,
    OfficeSchedule,
    Slot,
)

logger = logging.getLogger(__name__)

# Reschedule or cancel only while the visit is more than this far away.
CHANGE_NOTICE = dt.timedelta(days=2)
AUDIT_BOOKED = "appointment.booked"
AUDIT_MOVED = "appointment.moved"
AUDIT_CANCELLED = "appointment.cancelled"
AUDIT_REMINDED = "appointment.reminded"
OBJECT_TYPE = "appointments.appointment"


def appointment_subject(appointment: Appointment) -> Subject:
    """What the appointment's notifications are about (the portal links them to its page)."""
    return Subject(APPOINTMENT, appointment.reference)


def too_close_to_change(starts_at: dt.datetime, *, at: dt.datetime | None = None) -> bool:
    """Whether a visit at `starts_at` is within the 2-day notice: booked (or moved) there, it can no
    longer be moved or cancelled online, which the person is told before confirming."""
    now = at or clock.now()
    return starts_at - now <= CHANGE_NOTICE


def can_change(appointment: Appointment, *, at: dt.datetime | None = None) -> bool:
    """Reschedule and cancel are open while the visit is booked and more than 2 days away."""
    return appointment.state == AppointmentState.BOOKED and not too_close_to_change(
        appointment.slot.starts_at, at=at
    )


# --- Places --------------------------------------------------------------------------------------


def _checked_time(
    *, office: Office, service: CivilService, starts_at: dt.datetime, now: dt.datetime
) -> selectors.Block:
    """The schedule block of `starts_at`, or the reason no one can book it."""
    try:
        # Near the ends of the calendar (year 1 or 9999) the conversion overflows.
        day = starts_at.astimezone(RIYADH).date() if starts_at.utcoffset() is not None else None
    except OverflowError:
        day = None
    if day is None:
        raise ApplicationError(errors.SLOT_NOT_ON_SCHEDULE, _("Choose a time from the list."), field="slot")
    if starts_at <= now or day < selectors.first_bookable_day(now=now):
        raise ApplicationError(
            errors.SLOT_IN_THE_PAST,
            _("This time has passed or is too soon. Choose a later time."),
            field="slot",
        )
    if day > selectors.last_bookable_day(now=now):
        raise ApplicationError(
            errors.SLOT_TOO_FAR,
            _("Appointments can be booked up to %(days)s days ahead. Choose an earlier date.")
            % {"days": selectors.BOOKING_HORIZON_DAYS},
            field="slot",
        )
    if not selectors.office_offers(office=office, service=service):
        raise ApplicationError(
            errors.OFFICE_SERVICE_NOT_OFFERED,
            _("This office does not offer this service. Choose another office."),
        )
    if selectors.is_holiday(office=office, day=day):
        raise ApplicationError(
            errors.SLOT_HOLIDAY, _("The office is closed on this day. Choose another date."), field="slot"
        )
    block = selectors.slot_plan(office=office, service=service, starts_at=starts_at)
    if block is None:
        raise ApplicationError(
            errors.SLOT_NOT_ON_SCHEDULE,
            _("The office has no appointment at this time. Choose a time from the list."),
            field="slot",
        )
    return block


def _take_place(
    *, office: Office, service: CivilService, starts_at: dt.datetime, block: selectors.Block
) -> Slot:
    """Take one place of the slot, creating its row on first use; SLOT_FULL when none is left."""
    with transaction.atomic():  # a savepoint: a concurrent creator's row is simply read back
        slot, _created = Slot.objects.get_or_create(
            office=office,
            service=service,
            starts_at=starts_at,
            defaults={"minutes": block.minutes, "capacity": block.capacity},
        )
    taken = Slot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(booked=F("booked") + 1)
    if taken != 1:
        raise ApplicationError(
            errors.SLOT_FULL,
            _("Someone has just taken the last place at this time. Choose another time."),
            field="slot",
        )
    slot.refresh_from_db(fields=["booked", "capacity"])
    return slot


def _release_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _hold_offices(*office_ids: int) -> None:
    """Hold the offices' rows FOR KEY SHARE for a booking or a move (first, before the request).

    Adding a holiday or saving a schedule locks the office's row FOR UPDATE before it reads the
    bookings its effect is about, and then locks the requests it cancels. A booking that takes
    this lock first is therefore seen by that effect (whose preview then no longer matches), and
    one that comes second waits and then sees the holiday; without it the two took the slot and
    the office in opposite orders and PostgreSQL aborted one of them with a deadlock. KEY SHARE
    does not conflict with itself: bookings at one office still run side by side. SQLite runs
    one writer at a time, so there is nothing to hold there.
    """
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(Office._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",  # noqa: S608
            [sorted(set(office_ids))],
        )


def _lock_slots(*slot_ids: int) -> None:
    list(
        Slot.objects.select_for_update().filter(pk__in=sorted(set(slot_ids))).order_by("pk").values_list("pk")
    )


def _notify(appointment: Appointment, template: str) -> None:
    replacement_notify(
        appointment.replacement,
        template=template,
        context={
            "appointment": appointment.reference,
            "time": appointment.slot.starts_at,
            "office": office_in_notice(appointment.slot.office),
        },
    )


def _locked_replacement(*, replacement_id: int, applicant: Person) -> Replacement:
    replacement = (
        Replacement.objects.select_for_update(of=("self",))
        .select_related("document", "applicant")
        .filter(pk=replacement_id, applicant=applicant)
        .first()
    )
    if replacement is None:
        raise NotFound("replacement_not_found", _("This request was not found."))
    return replacement


def _locked_appointment(*, appointment_id: int, applicant: Person | None) -> tuple[Replacement, Appointment]:
    found = Appointment.objects.filter(pk=appointment_id)
    if applicant is not None:
        found = found.filter(applicant=applicant)
    replacement_id = found.values_list("replacement_id", flat=True).first()
    if replacement_id is None:
        raise NotFound(errors.APPOINTMENT_NOT_FOUND, _("This appointment was not found."))
    replacement = (
        Replacement.objects.select_for_update(of=("self",)).select_related("applicant").get(pk=replacement_id)
    )
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("slot", "slot__office", "slot__service")
        .get(pk=appointment_id)
    )
    appointment.replacement = replacement
    return replacement, appointment


# --- Book ----------------------------------------------------------------------------------------


def appointment_book(
    *,
    replacement_id: int,
    applicant: Person,
    office_id: int,
    starts_at: dt.datetime,
    idempotency_key: str,
    at: dt.datetime | None = None,
    actor: str,
    ip: str | None = None,
) -> Appointment:
    """Book a visit for a paid replacement request to be collected at an office.

    The same idempotency key returns the first appointment; the same key with another office
    or time is refused. Raises NotFound for someone else's request or an unknown office, and
    ApplicationError for a request that is not waiting for an appointment, a time that is not
    bookable (past, too far, holiday, off the schedule) or a full slot.
    """
    key = idempotency_key_checked(idempotency_key)
    now = at or clock.now()
    payload = {"replacement": replacement_id, "office": office_id, "starts_at": starts_at.isoformat()}
    with transaction.atomic():
        _hold_offices(office_id)  # before the request: the order of office_holiday_add
        replacement = _locked_replacement(replacement_id=replacement_id, applicant=applicant)
        earlier = Appointment.objects.filter(applicant=applicant, idempotency_key=key).first()
        if earlier is not None:
            check_same_request(earlier.request_fingerprint, payload)
            return earlier
        if replacement.method != ReceiveMethod.COLLECTION or replacement.state != ReplacementState.PAID:
            if replacement.state == ReplacementState.APPOINTMENT_BOOKED:
                raise ApplicationError(
                    errors.REPLACEMENT_ALREADY_BOOKED,
                    _("This request already has an appointment. Change that appointment instead."),
                )
            raise ApplicationError(
                errors.REPLACEMENT_NOT_BOOKABLE,
                _("An appointment can be booked only for a paid request collected at an office."),
            )
        office = selectors.office_get(office_id=office_id)
        service = selectors.service_for_replacement(replacement=replacement)
        block = _checked_time(office=office, service=service, starts_at=starts_at, now=now)
        slot = _take_place(office=office, service=service, starts_at=starts_at, block=block)
        appointment = insert_with_reference(
            Appointment(
                replacement=replacement,
                applicant=applicant,
                slot=slot,
                booked_at=now,
                idempotency_key=key,
                request_fingerprint=request_fingerprint(payload),
            ),
            prefix="AP",
        )
        replacement_move(
            replacement_id=replacement.pk,
            to=ReplacementState.APPOINTMENT_BOOKED,
            action="appointment_booked",
            at=now,
            actor=actor,
            ip=ip,
            office=office,
            detail={"starts_at": slot.starts_at.isoformat(), "appointment": appointment.reference},
            expected_from=frozenset({ReplacementState.PAID}),
        )
        appointment.replacement = replacement
        replacement.state = ReplacementState.APPOINTMENT_BOOKED
        replacement_office_set(replacement=replacement, office=office)
        _notify(appointment, "appointment_booked")
        audit_record(
            actor=actor,
            ip=ip,
            action=AUDIT_BOOKED,
            object_type=OBJECT_TYPE,
            object_id=appointment.pk,
            detail={"office": office.code, "starts_at": slot.starts_at.isoformat(), "slot": slot.pk},
        )
    return appointment


# --- Reschedule ----------------------------------------------------------------------------------


def _too_late() -> ApplicationError:
    return ApplicationError(
        errors.APPOINTMENT_TOO_LATE_TO_CHANGE,
        _("An appointment can be changed or cancelled only until 2 days before it."),
    )


def appointment_reschedule(
    *,
    appointment_id: int,
    applicant: Person,
    office_id: int,
    starts_at: dt.datetime,
    idempotency_key: str,
    at: dt.datetime | None = None,
    actor: str,
    ip: str | None = None,
) -> Appointment:
    """Move a booked appointment to another time (and perhaps office), more than 2 days ahead.

    The new place is taken before the old one is released, in one transaction: if the new slot
    is full, the person keeps the old one. The booking (its reference) stays; the move is kept.
    """
    key = idempotency_key_checked(idempotency_key)
    now = at or clock.now()
    payload = {"appointment": appointment_id, "office": office_id, "starts_at": starts_at.isoformat()}
    with transaction.atomic():
        # The old office and the new one, before the request (the order of office_holiday_add).
        old_office = Appointment.objects.filter(pk=appointment_id).values_list("slot__office_id", flat=True)
        _hold_offices(office_id, *old_office)
        replacement, appointment = _locked_appointment(appointment_id=appointment_id, applicant=applicant)
        earlier = AppointmentMove.objects.filter(appointment=appointment, idempotency_key=key).first()
        if earlier is not None:
            check_same_request(earlier.request_fingerprint, payload)
            return appointment
        if appointment.state != AppointmentState.BOOKED:
            raise ApplicationError(
                errors.APPOINTMENT_NOT_ACTIVE, _("This appointment can no longer be changed.")
            )
        if not can_change(appointment, at=now):
            raise _too_late()
        office = selectors.office_get(office_id=office_id)
        service = appointment.slot.service
        if office.pk == appointment.slot.office_id and starts_at == appointment.slot.starts_at:
            raise ApplicationError(
                errors.APPOINTMENT_SAME_SLOT,
                _("This is the time you already have. Choose another time."),
                field="slot",
            )
        block = _checked_time(office=office, service=service, starts_at=starts_at, now=now)
        old_slot = appointment.slot
        existing = (
            Slot.objects.filter(office=office, service=service, starts_at=starts_at)
            .values_list("pk", flat=True)
            .first()
        )
        _lock_slots(old_slot.pk, *([existing] if existing else []))
        new_slot = _take_place(office=office, service=service, starts_at=starts_at, block=block)
        _release_place(old_slot.pk)
        appointment.slot = new_slot
        appointment.reminded_at = None
        appointment.save(update_fields=["slot", "reminded_at", "updated_at"])
        AppointmentMove.objects.create(
            appointment=appointment,
            from_slot=old_slot,
            to_slot=new_slot,
            at=now,
            idempotency_key=key,
            request_fingerprint=request_fingerprint(payload),
        )
        replacement_event_add(
            replacement=replacement,
            action="appointment_moved",
            at=now,
            office=office,
            detail={
                "appointment": appointment.reference,
                "from": old_slot.starts_at.isoformat(),
                "starts_at": new_slot.starts_at.isoformat(),
            },
        )
        replacement_office_set(replacement=replacement, office=office)
        _notify(appointment, "appointment_moved")
        audit_record(
            actor=actor,
            ip=ip,
            action=AUDIT_MOVED,
            object_type=OBJECT_TYPE,
            object_id=appointment.pk,
            detail={
                "from_slot": old_slot.pk,
                "to_slot": new_slot.pk,
                "starts_at": new_slot.starts_at.isoformat(),
            },
        )
    return appointment


# --- Cancel --------------------------------------------------------------------------------------


def _end(appointment: Appointment, *, now: dt.datetime) -> None:
    _lock_slots(appointment.slot_id)
    _release_place(appointment.slot_id)
    appointment.state = AppointmentState.CANCELLED
    appointment.ended_at = now
    appointment.save(update_fields=["state", "ended_at", "updated_at"])


def appointment_cancel(
    *,
    appointment_id: int,
    applicant: Person,
    at: dt.datetime | None = None,
    actor: str,
    ip: str | None = None,
) -> Appointment:
    """Cancel a booked appointment more than 2 days ahead: the place is freed and the request
    goes back to `paid`, ready for a new booking."""
    now = at or clock.now()
    with transaction.atomic():
        replacement, appointment = _locked_appointment(appointment_id=appointment_id, applicant=applicant)
        if appointment.state != AppointmentState.BOOKED:
            raise ApplicationError(
                errors.APPOINTMENT_NOT_ACTIVE, _("This appointment can no longer be changed.")
            )
        if not can_change(appointment, at=now):
            raise _too_late()
        _cancel_booked(
            replacement,
            appointment,
            now=now,
            step="appointment_cancelled",
            template="appointment_cancelled",
            who={"actor": actor, "ip": ip},
            audit_detail={"by": "applicant"},
        )
    return appointment


def _cancel_booked(
    replacement: Replacement,
    appointment: Appointment,
    *,
    now: dt.datetime,
    step: str,
    template: str,
    who: Mapping[str, Any],
    audit_detail: Mapping[str, object],
    move_audit_detail: Mapping[str, object] | None = None,
) -> None:
    """Cancel a booked appointment whose request then waits for a new booking (`paid`): the place
    is freed, the request's timeline says so, the applicant is told (`template`) and the
    appointment's cancellation is audited. `who` holds the audit actor fields (actor, ip, and for
    staff actor_role and actor_office). Both rows must be locked by the caller."""
    _end(appointment, now=now)
    replacement_move(
        replacement_id=replacement.pk,
        to=ReplacementState.PAID,
        action=step,
        at=now,
        **who,
        audit_detail=move_audit_detail,
        office=appointment.slot.office,
        detail={"appointment": appointment.reference, "starts_at": appointment.slot.starts_at.isoformat()},
        expected_from=frozenset({ReplacementState.APPOINTMENT_BOOKED}),
    )
    _notify(appointment, template)
    audit_record(
        **who,
        action=AUDIT_CANCELLED,
        object_type=OBJECT_TYPE,
        object_id=appointment.pk,
        detail={"slot": appointment.slot_id, **audit_detail},
    )


def appointment_cancel_for_replacement(
    *, replacement_id: int, actor: str, actor_role: str = "", ip: str | None = None
) -> None:
    """Free the place of a request's appointment because the whole request ends (cancelled,
    rejected). No 2-day rule, no message of its own (the request's move tells the person), and
    nothing to do when the request has no active appointment. Runs in the caller's transaction;
    the caller moves the request itself."""
    with transaction.atomic():
        Replacement.objects.select_for_update(of=("self",)).filter(pk=replacement_id).values_list(
            "pk"
        ).first()
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .filter(replacement_id=replacement_id, state__in=list(ACTIVE_STATES))
            .first()
        )
        if appointment is None:
            return
        _end(appointment, now=clock.now())
        audit_record(
            actor=actor,
            actor_role=actor_role,
            ip=ip,
            action=AUDIT_CANCELLED,
            object_type=OBJECT_TYPE,
            object_id=appointment.pk,
            detail={
                "person_id": appointment.applicant_id,
                "slot": appointment.slot_id,
                "by": "request_ended",
            },
        )


# --- Reminders -----------------------------------------------------------------------------------


def appointment_reminders_send_due(*, now: dt.datetime | None = None) -> int:
    """Text every person whose booked visit is tomorrow (Riyadh date) and not yet reminded, once.

    Each reminder is claimed with a conditional UPDATE (`reminded_at IS NULL`) in its own
    transaction, so two runners at once, or a run that fails half-way, never send one twice.
    One that fails is rolled back (its own savepoint, even inside a caller's transaction), logged
    without personal data and tried again on the next run; the others still go out.
    """
    now = now or clock.now()
    sent = 0
    for appointment_id in selectors.due_for_reminder(now=now):
        try:
            with transaction.atomic():
                claimed = Appointment.objects.filter(
                    pk=appointment_id, state=AppointmentState.BOOKED, reminded_at__isnull=True
                ).update(reminded_at=now)
                if not claimed:
                    continue
                appointment = Appointment.objects.select_related(
                    "slot", "slot__office", "replacement", "replacement__applicant"
                ).get(pk=appointment_id)
                applicant = appointment.replacement.applicant
                language = person_language(person=applicant)
                notify(
                    person_id=applicant.pk,
                    mobile=applicant.mobile,
                    language=language,
                    template="appointment_reminder",
                    context={
                        "appointment": appointment.reference,
                        "time": appointment.slot.starts_at,
                        "office": office_in_notice(appointment.slot.office),
                    },
                    subject=appointment_subject(appointment),
                    subject_ref=f"appointment:{appointment.pk}",
                )
                audit_record(
                    actor="system",
                    action=AUDIT_REMINDED,
                    object_type=OBJECT_TYPE,
                    object_id=appointment.pk,
                    ip=None,
                    detail={},
                )
        except Exception as exc:  # one broken reminder must not hold back everyone else's
            # The id and the error's type only: the message may carry a mobile number.
            logger.error("Reminder for appointment %s failed: %s", appointment_id, type(exc).__name__)
            continue
        sent += 1
    return sent


# --- Schedule and holidays (supervisor) ------------------------------------------------------------

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


# --- At the office: check-in, completion, no-shows -------------------------------------------------

AUDIT_CHECKED_IN = "appointment.checked_in"
AUDIT_COMPLETED = "appointment.completed"
AUDIT_NO_SHOW = "appointment.no_show"
# A booked visit whose slot ended this long ago without a check-in is a no-show.
NO_SHOW_AFTER = dt.timedelta(hours=1)


def appointment_check_in(
    *,
    appointment_id: int,
    at: dt.datetime | None = None,
    actor: str,
    actor_role: str = "",
    actor_office: str = "",
    ip: str | None = None,
) -> Appointment:
    """The person has arrived for today's visit: the appointment becomes `checked_in`.

    Only a `booked` appointment whose slot is today (Riyadh date). Locks the request, then the
    appointment (the order every service here takes); runs in the caller's transaction, which
    moves the request itself (casework.backoffice.appointment_check_in). The caller checks the
    officer's office. Raises ApplicationError `already_checked_in`, `appointment_not_active`
    (cancelled, ended, no-show), `appointment_not_today`; NotFound `appointment_not_found`.
    """
    now = at or clock.now()
    with transaction.atomic():
        replacement, appointment = _locked_appointment(appointment_id=appointment_id, applicant=None)
        if appointment.state == AppointmentState.CHECKED_IN:
            raise ApplicationError(
                errors.APPOINTMENT_ALREADY_CHECKED_IN,
                _("This appointment is already checked in; continue with the request."),
            )
        if appointment.state != AppointmentState.BOOKED:
            raise ApplicationError(
                errors.APPOINTMENT_NOT_ACTIVE,
                _("This appointment is “%(state)s”, so it cannot be checked in.")
                % {"state": appointment.get_state_display()},
            )
        day = appointment.slot.starts_at.astimezone(RIYADH).date()
        today = now.astimezone(RIYADH).date()
        # Only on its day; the demo lets an officer check in ahead (HAWIYA_CHECK_IN_EARLY_DAYS),
        # so a walkthrough does not wait for the booked day. A past day is a no-show.
        if not today <= day <= today + dt.timedelta(days=settings.HAWIYA_CHECK_IN_EARLY_DAYS):
            raise ApplicationError(
                errors.APPOINTMENT_NOT_TODAY,
                _("This appointment is on %(day)s, not today. Only today's appointments can be checked in.")
                % {"day": day.isoformat()},
            )
        appointment.state = AppointmentState.CHECKED_IN
        appointment.save(update_fields=["state", "updated_at"])
        audit_record(
            actor=actor,
            actor_role=actor_role,
            actor_office=actor_office,
            ip=ip,
            action=AUDIT_CHECKED_IN,
            object_type=OBJECT_TYPE,
            object_id=appointment.pk,
            detail={
                "person_id": appointment.applicant_id,
                "replacement": replacement.pk,
                "slot": appointment.slot_id,
            },
        )
    return appointment


def appointment_complete_for_replacement(
    *,
    replacement_id: int,
    actor: str,
    actor_role: str = "",
    actor_office: str = "",
    ip: str | None = None,
) -> Appointment | None:
    """The visit of a checked-in appointment is over (biometrics taken, or the request ended at the
    counter): it becomes `completed`. Its place is not given back (the time has been used). Nothing
    to do without a checked-in appointment. Runs in the caller's transaction; no message."""
    with transaction.atomic():
        Replacement.objects.select_for_update(of=("self",)).filter(pk=replacement_id).values_list(
            "pk"
        ).first()
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .filter(replacement_id=replacement_id, state=AppointmentState.CHECKED_IN)
            .first()
        )
        if appointment is None:
            return None
        appointment.state = AppointmentState.COMPLETED
        appointment.ended_at = clock.now()
        appointment.save(update_fields=["state", "ended_at", "updated_at"])
        audit_record(
            actor=actor,
            actor_role=actor_role,
            actor_office=actor_office,
            ip=ip,
            action=AUDIT_COMPLETED,
            object_type=OBJECT_TYPE,
            object_id=appointment.pk,
            detail={"person_id": appointment.applicant_id, "replacement": replacement_id},
        )
    return appointment


def appointment_no_shows_mark_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Booked visits whose slot ended more than an hour ago without a check-in become `no_show`;
    their request goes back to `paid`, so the person can book again, and they are told.

    Each in its own transaction (a savepoint inside a caller's), re-checked under the locks, so two
    runners at once mark each visit once; one that fails is rolled back, logged without personal
    data and tried again on the next run. Returns how many were marked.
    """
    now = now or clock.now()
    due = list(
        Appointment.objects.filter(state=AppointmentState.BOOKED, slot__starts_at__lte=now - NO_SHOW_AFTER)
        .order_by("slot__starts_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    marked = 0
    for appointment_id in due:
        try:
            with transaction.atomic():
                replacement, appointment = _locked_appointment(appointment_id=appointment_id, applicant=None)
                missed = appointment.slot.ends_at + NO_SHOW_AFTER <= now
                if appointment.state != AppointmentState.BOOKED or not missed:
                    continue
                appointment.state = AppointmentState.NO_SHOW
                appointment.ended_at = now
                appointment.save(update_fields=["state", "ended_at", "updated_at"])
                if replacement.state == ReplacementState.APPOINTMENT_BOOKED:
                    replacement_move(
                        replacement_id=replacement.pk,
                        to=ReplacementState.PAID,
                        action="appointment_no_show",
                        at=now,
                        actor="system",
                        office=appointment.slot.office,
                        detail={
                            "appointment": appointment.reference,
                            "starts_at": appointment.slot.starts_at.isoformat(),
                        },
                        audit_detail={"person_id": appointment.applicant_id},
                        expected_from=frozenset({ReplacementState.APPOINTMENT_BOOKED}),
                    )
                    replacement.state = ReplacementState.PAID
                    _notify(appointment, "appointment_no_show")
                audit_record(
                    actor="system",
                    action=AUDIT_NO_SHOW,
                    object_type=OBJECT_TYPE,
                    object_id=appointment.pk,
                    detail={"person_id": appointment.applicant_id, "slot": appointment.slot_id},
                )
        except Exception as exc:  # one broken row must not hold back the others
            logger.error("No-show of appointment %s failed: %s", appointment_id, type(exc).__name__)
            continue
        marked += 1
    return marked
