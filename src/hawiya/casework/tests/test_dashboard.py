"""The supervisor's dashboard: the office's figures only, the median from the timeline, the
export audited."""

from __future__ import annotations

import datetime as dt

import pytest

from hawiya.appointments.models import AppointmentState, Weekday
from hawiya.appointments.tests.factories import (
    at_riyadh,
    book,
    make_bookable_office,
    make_replacement,
    next_weekday,
)
from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.casework.dashboard import (
    AUDIT_DASHBOARD_EXPORTED,
    DAILY_DAYS,
    median_paid_to_ready,
    office_dashboard,
    office_dashboard_export,
)
from hawiya.core.errors import NotFound
from hawiya.identity.models import StaffRole
from hawiya.identity.staff import StaffForbidden
from hawiya.identity.tests.factories import make_staff
from hawiya.registry.models import Office
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.services import replacement_move

pytestmark = pytest.mark.django_db

NOW = at_riyadh(dt.date(2030, 3, 4), 12)  # a Monday
S = ReplacementState
TO_READY = (S.CHECKED_IN, S.BIOMETRICS_CAPTURED, S.APPROVED, S.PRINTED, S.READY_FOR_COLLECTION)


def _paid_and_booked(office: Office, paid_at: dt.datetime) -> Replacement:
    replacement = make_replacement(paid=False)
    replacement_move(
        replacement_id=replacement.pk, to=S.PAID, action="paid", at=paid_at, actor=Actor.system("tests")
    )
    book(replacement, office, at_riyadh(next_weekday(paid_at.date(), Weekday.SUNDAY), 9), at=paid_at)
    return replacement


def _ready(replacement: Replacement, ready_at: dt.datetime) -> None:
    for state in TO_READY:
        replacement_move(
            replacement_id=replacement.pk,
            to=state,
            action=state.value,
            at=ready_at,
            actor=Actor.system("tests"),
        )


def test_median_time_from_payment_to_ready_over_the_last_30_days() -> None:
    office = make_bookable_office()
    paid_at = NOW - dt.timedelta(days=20)
    for days in (2, 4, 9):
        _ready(_paid_and_booked(office, paid_at), paid_at + dt.timedelta(days=days))
    # Ready 40 days ago: outside the window.
    old_paid = NOW - dt.timedelta(days=50)
    _ready(_paid_and_booked(office, old_paid), old_paid + dt.timedelta(days=10))
    # Another office's request never counts.
    _ready(_paid_and_booked(make_bookable_office(), paid_at), paid_at + dt.timedelta(days=1))

    median, sample = median_paid_to_ready(office=office, now=NOW)

    assert median == dt.timedelta(days=4)
    assert sample == 3


def test_no_median_without_data() -> None:
    assert median_paid_to_ready(office=make_bookable_office(), now=NOW) == (None, 0)


def test_dashboard_counts_the_offices_requests_and_todays_appointments() -> None:
    office = make_bookable_office()
    supervisor = make_staff(role=StaffRole.SUPERVISOR, office=office)
    two_days_ago = NOW - dt.timedelta(days=2)
    for hour in (9, 10):
        replacement = make_replacement()
        book(replacement, office, at_riyadh(NOW.date(), hour), at=two_days_ago)
    booked_later = make_replacement()
    book(booked_later, office, at_riyadh(next_weekday(NOW.date(), Weekday.TUESDAY), 9), at=NOW)
    elsewhere = make_replacement()
    book(elsewhere, make_bookable_office(), at_riyadh(NOW.date(), 9), at=two_days_ago)

    dashboard = office_dashboard(staff=supervisor, office_id=office.pk, at=NOW)

    assert [(item.state, item.count) for item in dashboard.requests_by_state] == [(S.APPOINTMENT_BOOKED, 3)]
    assert dashboard.total_requests == 3
    today = {item.state: item.count for item in dashboard.appointments_today}
    assert today[AppointmentState.BOOKED] == 2
    assert today[AppointmentState.NO_SHOW] == 0
    assert len(dashboard.requests_per_day) == DAILY_DAYS
    assert dashboard.requests_per_day[-1].day == NOW.date()
    assert dashboard.median_paid_to_ready is None


def test_the_dashboard_shows_the_share_of_id_cards_ready_within_15_days_of_their_biometrics() -> None:
    office = make_bookable_office()
    supervisor = make_staff(role=StaffRole.SUPERVISOR, office=office)
    paid_at = NOW - dt.timedelta(days=25)
    _ready(_paid_and_booked(office, paid_at), NOW - dt.timedelta(days=3))  # ready the day of the prints
    overdue = _paid_and_booked(office, paid_at)
    for state in (S.CHECKED_IN, S.BIOMETRICS_CAPTURED):  # prints 20 days ago, still not ready
        replacement_move(
            replacement_id=overdue.pk,
            to=state,
            action=state.value,
            at=NOW - dt.timedelta(days=20),
            actor=Actor.system("tests"),
        )
    waiting = _paid_and_booked(office, paid_at)
    for state in (S.CHECKED_IN, S.BIOMETRICS_CAPTURED):  # prints 2 days ago: not due yet
        replacement_move(
            replacement_id=waiting.pk,
            to=state,
            action=state.value,
            at=NOW - dt.timedelta(days=2),
            actor=Actor.system("tests"),
        )
    elsewhere = _paid_and_booked(make_bookable_office(), paid_at)
    _ready(elsewhere, NOW - dt.timedelta(days=3))

    promise = office_dashboard(staff=supervisor, office_id=office.pk, at=NOW).promise

    assert (promise.kept, promise.due, promise.missed, promise.percent) == (1, 2, 1, 50)


def test_no_share_without_a_promise_due() -> None:
    office = make_bookable_office()
    supervisor = make_staff(role=StaffRole.SUPERVISOR, office=office)
    _paid_and_booked(office, NOW - dt.timedelta(days=2))
    promise = office_dashboard(staff=supervisor, office_id=office.pk, at=NOW).promise
    assert (promise.kept, promise.due, promise.percent) == (0, 0, None)


def test_the_dashboard_is_for_supervisors_of_the_office_and_administrators() -> None:
    office = make_bookable_office()
    with pytest.raises(StaffForbidden):
        office_dashboard(staff=make_staff(role=StaffRole.OFFICER, office=office), office_id=office.pk, at=NOW)
    other = make_staff(role=StaffRole.SUPERVISOR, office=make_bookable_office())
    with pytest.raises(NotFound):
        office_dashboard(staff=other, office_id=office.pk, at=NOW)
    administrator = make_staff(role=StaffRole.ADMINISTRATOR, office=None)
    assert office_dashboard(staff=administrator, office_id=office.pk, at=NOW).office == office


def test_the_export_is_audited_without_personal_data() -> None:
    office = make_bookable_office()
    supervisor = make_staff(role=StaffRole.SUPERVISOR, office=office)

    office_dashboard_export(staff=supervisor, office_id=office.pk, at=NOW)

    event = AuditEvent.objects.get(action=AUDIT_DASHBOARD_EXPORTED)
    assert event.actor == supervisor.actor.id
    assert event.actor_office == office.code
    assert event.detail == {"office": office.code, "day": NOW.date().isoformat()}
