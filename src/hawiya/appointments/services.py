"""Writes of appointments: book, reschedule, cancel, reminders.

Overbooking is impossible whatever the concurrency: a place is taken with ONE conditional
UPDATE (`booked = booked + 1 WHERE booked < capacity`), which the database evaluates on the
row's latest version after any concurrent writer commits; the CHECK constraint `booked <=
capacity` backs it up. Lock order everywhere: the replacement request, then the appointment,
then slot rows by id (so two moves in opposite directions cannot deadlock).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.clock import RIYADH
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.idempotency import check_same_request, idempotency_key_checked, request_fingerprint
from hawiya.core.references import insert_with_reference
from hawiya.identity.selectors import person_language
from hawiya.notifications.services import notify
from hawiya.registry.models import CivilService, Office, Person
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementState
from hawiya.replacements.services import (
    replacement_event_add,
    replacement_move,
    replacement_notify,
    replacement_office_set,
)

from . import errors, selectors
from .models import ACTIVE_STATES, Appointment, AppointmentMove, AppointmentState, Slot

logger = logging.getLogger(__name__)

# Reschedule or cancel only while the visit is more than this far away.
CHANGE_NOTICE = dt.timedelta(days=2)
AUDIT_BOOKED = "appointment.booked"
AUDIT_MOVED = "appointment.moved"
AUDIT_CANCELLED = "appointment.cancelled"
AUDIT_REMINDED = "appointment.reminded"
OBJECT_TYPE = "appointments.appointment"


def appointment_link(appointment: Appointment) -> str:
    """The appointment's page in the portal, without the language prefix."""
    return f"/appointments/{appointment.reference}/"


def can_change(appointment: Appointment, *, at: dt.datetime | None = None) -> bool:
    """Reschedule and cancel are open while the visit is booked and more than 2 days away."""
    now = at or clock.now()
    return appointment.state == AppointmentState.BOOKED and appointment.slot.starts_at - now > CHANGE_NOTICE


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


def _lock_slots(*slot_ids: int) -> None:
    list(
        Slot.objects.select_for_update().filter(pk__in=sorted(set(slot_ids))).order_by("pk").values_list("pk")
    )


def _notify(appointment: Appointment, template: str, language: str | None = None) -> None:
    applicant = appointment.replacement.applicant
    lang = language or person_language(person=applicant)
    office = appointment.slot.office
    replacement_notify(
        appointment.replacement,
        template=template,
        context={
            "appointment": appointment.reference,
            "time": appointment.slot.starts_at,
            "office": (office.name_ar if lang == "ar" else office.name_en)[:64],
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
        _end(appointment, now=now)
        replacement_move(
            replacement_id=replacement.pk,
            to=ReplacementState.PAID,
            action="appointment_cancelled",
            at=now,
            actor=actor,
            ip=ip,
            office=appointment.slot.office,
            detail={
                "appointment": appointment.reference,
                "starts_at": appointment.slot.starts_at.isoformat(),
            },
            expected_from=frozenset({ReplacementState.APPOINTMENT_BOOKED}),
        )
        _notify(appointment, "appointment_cancelled")
        audit_record(
            actor=actor,
            ip=ip,
            action=AUDIT_CANCELLED,
            object_type=OBJECT_TYPE,
            object_id=appointment.pk,
            detail={"slot": appointment.slot_id, "by": "applicant"},
        )
    return appointment


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
            detail={"slot": appointment.slot_id, "by": "request_ended"},
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
                office = appointment.slot.office
                notify(
                    person_id=applicant.pk,
                    mobile=applicant.mobile,
                    language=language,
                    template="appointment_reminder",
                    context={
                        "appointment": appointment.reference,
                        "time": appointment.slot.starts_at,
                        "office": (office.name_ar if language == "ar" else office.name_en)[:64],
                    },
                    link=appointment_link(appointment),
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
