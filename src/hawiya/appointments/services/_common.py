"""Small pieces the appointment services share: freeing a place, locking an appointment with its
request, and cancelling a booked appointment (by its holder, or for an office holiday)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db.models import F
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core.errors import NotFound
from hawiya.core.metrics import BOOKINGS, inc_on_commit
from hawiya.registry.models import Person
from hawiya.registry.offices import office_in_notice
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.services import replacement_move, replacement_notify

from .. import errors
from ..models import Appointment, AppointmentState, Slot

AUDIT_CANCELLED = "appointment.cancelled"
OBJECT_TYPE = "appointments.appointment"


def _release_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


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


def _end(appointment: Appointment, *, now: dt.datetime) -> None:
    _lock_slots(appointment.slot_id)
    _release_place(appointment.slot_id)
    appointment.state = AppointmentState.CANCELLED
    appointment.ended_at = now
    appointment.save(update_fields=["state", "ended_at", "updated_at"])
    inc_on_commit(BOOKINGS, "cancelled")


def _cancel_booked(
    replacement: Replacement,
    appointment: Appointment,
    *,
    now: dt.datetime,
    step: str,
    template: str,
    actor: Actor,
    audit_detail: Mapping[str, object],
    move_audit_detail: Mapping[str, object] | None = None,
) -> None:
    """Cancel a booked appointment whose request then waits for a new booking (`paid`): the place
    is freed, the request's timeline says so, the applicant is told (`template`) and the
    appointment's cancellation is audited, for `actor`. Both rows must be locked by the caller."""
    _end(appointment, now=now)
    replacement_move(
        replacement_id=replacement.pk,
        to=ReplacementState.PAID,
        action=step,
        at=now,
        actor=actor,
        audit_detail=move_audit_detail,
        office=appointment.slot.office,
        detail={"appointment": appointment.reference, "starts_at": appointment.slot.starts_at.isoformat()},
        expected_from=frozenset({ReplacementState.APPOINTMENT_BOOKED}),
    )
    _notify(appointment, template)
    audit_record(
        actor=actor,
        action=AUDIT_CANCELLED,
        object_type=OBJECT_TYPE,
        object_id=appointment.pk,
        detail={"slot": appointment.slot_id, **audit_detail},
    )
