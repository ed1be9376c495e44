"""No-shows: a booked visit missed by more than an hour ends `no_show`, the request goes back to
`paid` (the person can book again) and they are told; the periodic run does it. And a wrong
handover code stays counted when the step fails, on a real commit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from hawiya.appointments.models import Appointment, AppointmentState
from hawiya.appointments.services.sweeps import appointment_no_shows_mark_due
from hawiya.appointments.tests.factories import at_riyadh, book
from hawiya.audit.models import AuditEvent
from hawiya.casework.backoffice import appointment_check_in, replacement_hand_over
from hawiya.core.errors import ApplicationError
from hawiya.core.testing import PinnedClock
from hawiya.replacements.models import HandoverCode, ReplacementState

from .factories import (
    SLOT,
    TODAY,
    advance,
    collection_case,
    handover_code,
    officer,
    sms_templates,
    wrong,
)

pytestmark = pytest.mark.django_db
S = ReplacementState
# The 10:00 slot lasts 20 minutes: a no-show from 11:20.
MISSED = SLOT + dt.timedelta(minutes=20, hours=1)


def test_a_missed_visit_becomes_a_no_show_and_the_request_can_be_booked_again(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    assert case.appointment is not None

    assert appointment_no_shows_mark_due(now=MISSED - dt.timedelta(minutes=1)) == 0
    assert appointment_no_shows_mark_due(now=MISSED) == 1

    case.appointment.refresh_from_db()
    assert case.appointment.state == AppointmentState.NO_SHOW
    assert case.appointment.ended_at == MISSED
    replacement = case.fresh()
    assert replacement.state == S.PAID
    event = replacement.events.order_by("-id").first()
    assert event is not None
    assert event.action == "appointment_no_show"
    assert event.detail["appointment"] == case.appointment.reference
    assert sms_templates(replacement)[-1] == "appointment_no_show"
    audited = AuditEvent.objects.get(action="appointment.no_show")
    assert audited.detail["person_id"] == replacement.applicant_id
    assert AuditEvent.objects.get(action="replacement.moved", detail__step="appointment_no_show").detail[
        "person_id"
    ] == (replacement.applicant_id)

    # Once only; and the person books another visit.
    assert appointment_no_shows_mark_due(now=MISSED + dt.timedelta(hours=5)) == 0
    pinned.set(MISSED)
    again = book(replacement, case.office, at_riyadh(TODAY + dt.timedelta(days=2), 10), at=MISSED)
    assert again.state == AppointmentState.BOOKED
    assert case.fresh().state == S.APPOINTMENT_BOOKED


def test_a_checked_in_visit_is_never_a_no_show(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    assert case.appointment is not None
    appointment_check_in(staff=officer(case.office), appointment_id=case.appointment.pk)
    assert appointment_no_shows_mark_due(now=MISSED + dt.timedelta(days=1)) == 0
    assert case.fresh().state == S.CHECKED_IN


def test_the_periodic_run_marks_no_shows(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    pinned.set(MISSED)
    call_command("run_periodic", verbosity=0)
    assert Appointment.objects.get(pk=case.appointment.pk if case.appointment else 0).state == (
        AppointmentState.NO_SHOW
    )
    assert case.fresh().state == S.PAID


@pytest.mark.django_db(transaction=True)
def test_a_wrong_handover_code_is_counted_on_a_real_commit(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    advance(case, staff, to="ready_for_collection")
    code = handover_code(case.replacement)

    with pytest.raises(ApplicationError) as caught:
        replacement_hand_over(staff=staff, replacement_id=case.replacement.pk, code=wrong(code))
    assert caught.value.code == "handover_code_invalid"
    # Read back outside any transaction: the count was committed, the request did not move.
    assert HandoverCode.objects.get(replacement=case.replacement).attempts == 1
    assert case.fresh().state == S.READY_FOR_COLLECTION
