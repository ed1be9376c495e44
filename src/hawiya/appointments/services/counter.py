"""At the office counter: checking a visitor in, and completing the appointment with its request."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.clock import RIYADH
from hawiya.core.errors import ApplicationError
from hawiya.replacements.models import Replacement

from .. import errors
from ..models import Appointment, AppointmentState
from ._common import OBJECT_TYPE, _locked_appointment

AUDIT_CHECKED_IN = "appointment.checked_in"
AUDIT_COMPLETED = "appointment.completed"


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
