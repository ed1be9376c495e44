"""The citizen's appointments: book, reschedule and cancel, within the 2-day notice; and freeing
the place when the whole request ends.

Overbooking is impossible whatever the concurrency: a place is taken with ONE conditional
UPDATE (`booked = booked + 1 WHERE booked < capacity`), which the database evaluates on the
row's latest version after any concurrent writer commits; the CHECK constraint `booked <=
capacity` backs it up.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.clock import RIYADH
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.idempotency import check_same_request, idempotency_key_checked, request_fingerprint
from hawiya.core.metrics import BOOKINGS, inc_on_commit
from hawiya.core.references import insert_with_reference
from hawiya.notifications.subjects import APPOINTMENT, Subject
from hawiya.registry.models import CivilService, Office, Person
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementState
from hawiya.replacements.services import replacement_event_add, replacement_move, replacement_office_set

from .. import errors, selectors
from ..models import ACTIVE_STATES, Appointment, AppointmentMove, AppointmentState, Slot
from ._common import (
    AUDIT_CANCELLED,
    OBJECT_TYPE,
    _cancel_booked,
    _end,
    _lock_slots,
    _locked_appointment,
    _notify,
    _release_place,
)

# Reschedule or cancel only while the visit is more than this far away.
CHANGE_NOTICE = dt.timedelta(days=2)
AUDIT_BOOKED = "appointment.booked"
AUDIT_MOVED = "appointment.moved"


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
        # Counted at once: the refusal happened, whatever becomes of the transaction.
        BOOKINGS.labels("full").inc()
        raise ApplicationError(
            errors.SLOT_FULL,
            _("Someone has just taken the last place at this time. Choose another time."),
            field="slot",
        )
    slot.refresh_from_db(fields=["booked", "capacity"])
    return slot


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


def appointment_book(
    *,
    replacement_id: int,
    applicant: Person,
    office_id: int,
    starts_at: dt.datetime,
    idempotency_key: str,
    at: dt.datetime | None = None,
    actor: Actor,
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
            action=AUDIT_BOOKED,
            object_type=OBJECT_TYPE,
            object_id=appointment.pk,
            detail={"office": office.code, "starts_at": slot.starts_at.isoformat(), "slot": slot.pk},
        )
        inc_on_commit(BOOKINGS, "booked")
    return appointment


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
    actor: Actor,
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
        inc_on_commit(BOOKINGS, "moved")
        audit_record(
            actor=actor,
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


def appointment_cancel(
    *,
    appointment_id: int,
    applicant: Person,
    at: dt.datetime | None = None,
    actor: Actor,
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
            actor=actor,
            audit_detail={"by": "applicant"},
        )
    return appointment


def appointment_cancel_for_replacement(*, replacement_id: int, actor: Actor) -> None:
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
            action=AUDIT_CANCELLED,
            object_type=OBJECT_TYPE,
            object_id=appointment.pk,
            detail={
                "person_id": appointment.applicant_id,
                "slot": appointment.slot_id,
                "by": "request_ended",
            },
        )
