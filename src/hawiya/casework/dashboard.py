"""The supervisor's dashboard: an office's queue in figures, read across replacements and
appointments (which may not import each other, hence here).

No personal data: counts, states and durations only, so the same figures go to the CSV export.
Every figure is one grouped query (or, for the median, one bounded query per side), whatever
the size of the office.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Min
from django.utils.translation import gettext_lazy as _

from hawiya.appointments.models import Appointment, AppointmentState
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.clock import RIYADH
from hawiya.core.errors import NotFound
from hawiya.identity.staff import PERM_VIEW_DASHBOARD, StaffActor
from hawiya.registry.models import Office
from hawiya.replacements.expected import PromiseShare, promise_share
from hawiya.replacements.models import Replacement, ReplacementEvent, ReplacementState

# The median covers requests that became ready for collection in this many days.
MEDIAN_WINDOW_DAYS = 30
# At most this many ready requests enter the median (the most recent): a bounded read.
MEDIAN_SAMPLE_LIMIT = 5000
# The chart of new requests per day covers this many days, today included.
DAILY_DAYS = 14
AUDIT_DASHBOARD_EXPORTED = "dashboard.exported"
APPOINTMENT_FIGURES = (
    AppointmentState.BOOKED,
    AppointmentState.CHECKED_IN,
    AppointmentState.COMPLETED,
    AppointmentState.NO_SHOW,
    AppointmentState.CANCELLED,
)


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    count: int


@dataclass(frozen=True)
class OfficeDashboard:
    office: Office
    day: dt.date
    requests_by_state: tuple[StateCount, ...]
    appointments_today: tuple[StateCount, ...]
    requests_per_day: tuple[DayCount, ...]
    # Payment to ready for collection over the last MEDIAN_WINDOW_DAYS days; None without data.
    median_paid_to_ready: dt.timedelta | None
    median_sample: int
    # Requests whose promise (replacements/expected.py) was decided in the last MEDIAN_WINDOW_DAYS
    # days: how many were ready within it, of how many.
    promise: PromiseShare

    @property
    def total_requests(self) -> int:
        return sum(item.count for item in self.requests_by_state)


def _office(*, staff: StaffActor, office_id: int) -> Office:
    staff.require(PERM_VIEW_DASHBOARD)
    staff.require_office(office_id)
    office = Office.objects.filter(pk=office_id).first()
    if office is None:
        raise NotFound("office_not_found", _("This office was not found."))
    return office


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    first = dt.datetime.combine(day, dt.time(0), tzinfo=RIYADH)
    return first, first + dt.timedelta(days=1)


def median_paid_to_ready(*, office: Office, now: dt.datetime) -> tuple[dt.timedelta | None, int]:
    """The median time from payment to ready for collection of the office's requests that became
    ready in the last MEDIAN_WINDOW_DAYS days, and how many requests it covers.

    Two bounded queries on the timeline: the first `ready_for_collection` entry per request in the
    window (most recent MEDIAN_SAMPLE_LIMIT), then the first `paid` entry of those requests.
    """
    since = now - dt.timedelta(days=MEDIAN_WINDOW_DAYS)
    ready = dict(
        ReplacementEvent.objects.filter(
            replacement__office=office,
            state=ReplacementState.READY_FOR_COLLECTION,
            at__gte=since,
            at__lte=now,
        )
        .values("replacement_id")
        .annotate(first=Min("at"))
        .order_by("-first")
        .values_list("replacement_id", "first")[:MEDIAN_SAMPLE_LIMIT]
    )
    if not ready:
        return None, 0
    paid = dict(
        ReplacementEvent.objects.filter(replacement_id__in=list(ready), state=ReplacementState.PAID)
        .values("replacement_id")
        .annotate(first=Min("at"))
        .values_list("replacement_id", "first")
    )
    durations = [
        (ready_at - paid[replacement_id]).total_seconds()
        for replacement_id, ready_at in ready.items()
        if replacement_id in paid and ready_at >= paid[replacement_id]
    ]
    if not durations:
        return None, 0
    return dt.timedelta(seconds=round(statistics.median(durations))), len(durations)


def office_dashboard(*, staff: StaffActor, office_id: int, at: dt.datetime | None = None) -> OfficeDashboard:
    """The figures of an office's queue for its supervisor (PERM_VIEW_DASHBOARD; another office
    is NotFound) or an administrator: open requests by state, today's appointments by state,
    new requests per day over DAILY_DAYS days, the median time from payment to ready, and the
    share of requests ready within their promise (15 days after the biometrics for an ID card, the
    delivery estimate after printing) over MEDIAN_WINDOW_DAYS days."""
    office = _office(staff=staff, office_id=office_id)
    now = at or clock.now()
    today = now.astimezone(RIYADH).date()

    by_state = dict(
        Replacement.objects.filter(office=office)
        .values("state")
        .annotate(count=Count("pk"))
        .order_by()
        .values_list("state", "count")
    )
    requests_by_state = tuple(
        StateCount(state.value, str(state.label), by_state.get(state.value, 0))
        for state in ReplacementState
        if by_state.get(state.value, 0)
    )

    first, last = _day_bounds(today)
    appointments = dict(
        Appointment.objects.filter(slot__office=office, slot__starts_at__gte=first, slot__starts_at__lt=last)
        .values("state")
        .annotate(count=Count("pk"))
        .order_by()
        .values_list("state", "count")
    )
    appointments_today = tuple(
        StateCount(state.value, str(state.label), appointments.get(state.value, 0))
        for state in APPOINTMENT_FIGURES
    )

    start_day = today - dt.timedelta(days=DAILY_DAYS - 1)
    since, _until = _day_bounds(start_day)
    submitted = list(
        Replacement.objects.filter(office=office, submitted_at__gte=since, submitted_at__lte=now).values_list(
            "submitted_at", flat=True
        )
    )
    per_day = dict.fromkeys((start_day + dt.timedelta(days=offset) for offset in range(DAILY_DAYS)), 0)
    for moment in submitted:
        day = moment.astimezone(RIYADH).date()
        if day in per_day:
            per_day[day] += 1

    median, sample = median_paid_to_ready(office=office, now=now)
    promise = promise_share(
        replacements=Replacement.objects.filter(office=office),
        first_day=today - dt.timedelta(days=MEDIAN_WINDOW_DAYS - 1),
        last_day=today,
    )
    return OfficeDashboard(
        office=office,
        day=today,
        requests_by_state=requests_by_state,
        appointments_today=appointments_today,
        requests_per_day=tuple(DayCount(day, count) for day, count in per_day.items()),
        median_paid_to_ready=median,
        median_sample=sample,
        promise=promise,
    )


def office_dashboard_export(
    *, staff: StaffActor, office_id: int, at: dt.datetime | None = None
) -> OfficeDashboard:
    """The dashboard's figures for a CSV file, with the export recorded in the audit trail."""
    dashboard = office_dashboard(staff=staff, office_id=office_id, at=at)
    with transaction.atomic():
        audit_record(
            actor=staff.actor,
            action=AUDIT_DASHBOARD_EXPORTED,
            object_type="registry.office",
            object_id=dashboard.office.pk,
            detail={"office": dashboard.office.code, "day": dashboard.day.isoformat()},
        )
    return dashboard
