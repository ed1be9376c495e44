"""The periodic sweeps (run_periodic): tomorrow's reminders and the day's no-shows, each claimed
once and each failure isolated from the others."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.metrics import BOOKINGS, inc_on_commit
from hawiya.identity.selectors import person_language
from hawiya.notifications.services import notify
from hawiya.registry.offices import office_in_notice
from hawiya.replacements.models import ReplacementState
from hawiya.replacements.services import replacement_move

from .. import selectors
from ..models import Appointment, AppointmentState
from ._common import OBJECT_TYPE, _locked_appointment, _notify
from .citizen import appointment_subject

logger = logging.getLogger(__name__)
AUDIT_REMINDED = "appointment.reminded"
# Who acts in each sweep.
REMINDER_SWEEP = Actor.system("appointments.reminder_sweep")
NO_SHOW_SWEEP = Actor.system("appointments.no_show_sweep")


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
                    actor=REMINDER_SWEEP,
                    action=AUDIT_REMINDED,
                    object_type=OBJECT_TYPE,
                    object_id=appointment.pk,
                    detail={},
                )
        except Exception as exc:  # one broken reminder must not hold back everyone else's
            # The id and the error's type only: the message may carry a mobile number.
            logger.error("Reminder for appointment %s failed: %s", appointment_id, type(exc).__name__)
            continue
        sent += 1
    return sent


AUDIT_NO_SHOW = "appointment.no_show"
# A booked visit whose slot ended this long ago without a check-in is a no-show.
NO_SHOW_AFTER = dt.timedelta(hours=1)


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
                inc_on_commit(BOOKINGS, "no_show")
                if replacement.state == ReplacementState.APPOINTMENT_BOOKED:
                    replacement_move(
                        replacement_id=replacement.pk,
                        to=ReplacementState.PAID,
                        action="appointment_no_show",
                        at=now,
                        actor=NO_SHOW_SWEEP,
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
                    actor=NO_SHOW_SWEEP,
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
