"""The supervisor's pages: the office dashboard (and its CSV), the weekly schedule and holidays.

Supervisors see and manage their own office; administrators choose the office with `?office=`
(its code; the URL keeps the choice, docs/ui.md §6 filters). Schedule and holiday changes always go
through a "check the effect" page that lists the booked appointments they touch; the save
carries the preview's token, and the service refuses it if the bookings changed meanwhile.
Views parse, call one selector or service, and render; services check permission and office.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_safe

from hawiya.appointments import errors as appointment_errors
from hawiya.appointments.models import Weekday
from hawiya.appointments.selectors import (
    AffectedAppointment,
    Outcome,
    ScheduleRow,
    office_by_code,
    office_get,
    office_holidays_upcoming,
    office_schedule_rows,
    offices_for_staff_choice,
)
from hawiya.appointments.services.schedule import (
    office_holiday_add,
    office_holiday_preview,
    office_holiday_remove,
    office_schedule_preview,
    office_schedule_save,
)
from hawiya.casework.dashboard import OfficeDashboard, office_dashboard, office_dashboard_export
from hawiya.core import clock
from hawiya.core.clock import RIYADH
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.replicas import replica_reads
from hawiya.identity.staff import (
    PERM_ALL_OFFICES,
    PERM_MANAGE_OFFICE,
    PERM_VIEW_DASHBOARD,
    StaffActor,
    StaffForbidden,
)
from hawiya.registry.models import Office
from hawiya.replacements.expected import DELIVERY_WORKING_DAYS
from hawiya.replacements.labels import STATE_TAGS
from hawiya.replacements.models import ReplacementState
from hawiya.replacements.requirements import ID_CARD_READY_DAYS

from .decorators import staff_of, staff_page, staff_required
from .supervisor_forms import WEEK, HolidayForm, ScheduleForm

S = ReplacementState
view_dashboard = staff_required(PERM_VIEW_DASHBOARD)
manage_office = staff_required(PERM_MANAGE_OFFICE)

APPOINTMENT_TAGS = {"booked": "info", "checked_in": "info", "completed": "plain", "no_show": "neutral"}
OUTCOME_TEXT: dict[str, Any] = {
    Outcome.KEPT_OUTSIDE_HOURS: gettext_lazy(
        "Kept: the visit stays at its time and the office serves it. Nobody else can book this time."
    ),
    Outcome.OVER_CAPACITY: gettext_lazy(
        "Cannot save: this slot has more bookings than the new number of places."
    ),
    Outcome.CANCELLED_FOR_HOLIDAY: gettext_lazy(
        "Cancelled by the office. The request waits for a new booking; the citizen is told by SMS."
    ),
}
STALE_CODES = frozenset(
    {appointment_errors.SCHEDULE_CHANGED_SINCE_PREVIEW, appointment_errors.HOLIDAY_CHANGED_SINCE_PREVIEW}
)
# The bar chart's geometry (SVG user units; the SVG scales to the width of the page).
CHART_WIDTH = 600
CHART_BAR = 28
CHART_GAP = 10
CHART_LABEL = 200


# --- The office --------------------------------------------------------------------------------


def _chosen_office(request: HttpRequest, staff: StaffActor) -> Office | None:
    """The supervisor's own office; for an administrator the one named by `office` (GET or a
    POSTed field), else None (the page asks them to choose)."""
    if staff.has(PERM_ALL_OFFICES):
        code = (request.POST.get("office") or request.GET.get("office") or "").strip()[:40]
        if code:
            try:
                return office_by_code(code=code)
            except NotFound:
                raise Http404("office") from None
        if staff.office_id is None:
            return None
    if staff.office_id is None:
        raise PermissionDenied
    try:
        return office_get(office_id=staff.office_id)
    except NotFound:
        raise Http404("office") from None


def _office_query(staff: StaffActor, office: Office) -> str:
    return f"?office={office.code}" if staff.has(PERM_ALL_OFFICES) else ""


def _base_context(request: HttpRequest, staff: StaffActor, office: Office | None) -> dict[str, Any]:
    return {
        "office": office,
        "choose_office": staff.has(PERM_ALL_OFFICES),
        "offices": offices_for_staff_choice() if staff.has(PERM_ALL_OFFICES) else [],
        "office_query": _office_query(staff, office) if office else "",
    }


def _guarded(call: Any) -> Any:
    """Run a selector/service call, turning a foreign or missing office into 404 and a role that
    may not into 403 (the page guard already checked; this is the service's own check)."""
    try:
        return call()
    except StaffForbidden:
        raise PermissionDenied from None
    except NotFound:
        raise Http404("not found") from None


# --- Dashboard ---------------------------------------------------------------------------------


def _duration_text(value: dt.timedelta | None) -> str:
    if value is None:
        return ""
    hours = int(value.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    if days and hours:
        return _("%(days)s and %(hours)s") % {
            "days": ngettext("%(count)s day", "%(count)s days", days) % {"count": days},
            "hours": ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours},
        }
    if days:
        return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}
    if hours:
        return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours}
    return _("less than an hour")


def _chart(dashboard: OfficeDashboard) -> dict[str, Any]:
    """Horizontal bars of requests by status, drawn on the server (no JavaScript library)."""
    items = dashboard.requests_by_state
    largest = max((item.count for item in items), default=0)
    room = CHART_WIDTH - CHART_LABEL - 60
    bars = []
    for index, item in enumerate(items):
        y = index * (CHART_BAR + CHART_GAP)
        width = round(room * item.count / largest) if largest else 0
        bars.append(
            {
                "label": item.label,
                "count": item.count,
                "y": y,
                "text_y": y + CHART_BAR * 2 // 3,
                "width": max(width, 2),
                "count_x": CHART_LABEL + max(width, 2) + 8,
            }
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": max(len(bars) * (CHART_BAR + CHART_GAP), CHART_BAR),
        "label_width": CHART_LABEL,
        "bar_x": CHART_LABEL,
    }


@view_dashboard
@require_safe
@replica_reads
def dashboard(request: HttpRequest) -> HttpResponse:
    """The office's queue: requests by status (with a chart and its table), today's appointments,
    new requests per day, the median time from payment to ready for collection."""
    staff = staff_of(request)
    office = _chosen_office(request, staff)
    context = _base_context(request, staff, office)
    if office is not None:
        figures: OfficeDashboard = _guarded(lambda: office_dashboard(staff=staff, office_id=office.pk))
        context.update(
            {
                "dashboard": figures,
                "states": [
                    {
                        "state": item.state,
                        "label": item.label,
                        "count": item.count,
                        "tag": STATE_TAGS.get(item.state, "info"),
                    }
                    for item in figures.requests_by_state
                ],
                "appointments": [
                    {
                        "state": item.state,
                        "label": item.label,
                        "count": item.count,
                        "tag": APPOINTMENT_TAGS.get(item.state, "neutral"),
                    }
                    for item in figures.appointments_today
                ],
                "median_text": _duration_text(figures.median_paid_to_ready),
                "promise_days": ID_CARD_READY_DAYS,
                "delivery_days": DELIVERY_WORKING_DAYS,
                "chart": _chart(figures),
            }
        )
    return staff_page(request, "backoffice/supervisor/dashboard.html", context)


def _safe_rows(write: Any) -> Any:
    """A spreadsheet must not run a cell as a formula (CSV injection): text starting with
    = + - @ gets a leading apostrophe."""

    def safe(row: list[Any]) -> Any:
        return write(
            [
                f"'{cell}" if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@") else cell
                for cell in row
            ]
        )

    return safe


@view_dashboard
@require_safe
@replica_reads
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    """The dashboard's figures as CSV (no personal data), downloaded as a file; audited."""
    staff = staff_of(request)
    office = _chosen_office(request, staff)
    if office is None:
        raise Http404("choose an office")
    figures: OfficeDashboard = _guarded(lambda: office_dashboard_export(staff=staff, office_id=office.pk))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="dashboard-{office.code}-{figures.day.isoformat()}.csv"'
    )
    response["Cache-Control"] = "no-store"
    response.write("\ufeff")  # a byte-order mark, so spreadsheet programs read the Arabic labels
    write = _safe_rows(csv.writer(response).writerow)
    write(["section", "key", "label", "value"])
    write(["office", office.code, str(office), ""])
    write(["day", figures.day.isoformat(), "", ""])
    for item in figures.requests_by_state:
        write(["requests_by_status", item.state, item.label, item.count])
    for item in figures.appointments_today:
        write(["appointments_today", item.state, item.label, item.count])
    for day in figures.requests_per_day:
        write(["requests_per_day", day.day.isoformat(), "", day.count])
    median = figures.median_paid_to_ready
    write(
        [
            "median_paid_to_ready_hours",
            "",
            _duration_text(median),
            "" if median is None else round(median.total_seconds() / 3600, 1),
        ]
    )
    write(["median_sample", "", "", figures.median_sample])
    promise = figures.promise
    write(["ready_within_promise", "kept", "", promise.kept])
    write(["ready_within_promise", "due", "", promise.due])
    write(["ready_within_promise", "percent", "", "" if promise.percent is None else promise.percent])
    return response


# --- Schedule ----------------------------------------------------------------------------------


def _kept_rows(rows: list[ScheduleRow]) -> list[ScheduleRow]:
    """Blocks the page does not edit (a service's own blocks, a second block of a day): they
    are saved as they are."""
    first_general: set[int] = set()
    kept = []
    for row in rows:
        if row.service_id is None and row.weekday not in first_general:
            first_general.add(row.weekday)
            continue
        kept.append(row)
    return kept


def _affected_rows(items: tuple[AffectedAppointment, ...]) -> list[dict[str, Any]]:
    return [
        {
            "item": item,
            "local": item.local_start,
            "what": OUTCOME_TEXT.get(item.outcome, ""),
            "blocking": item.outcome == Outcome.OVER_CAPACITY,
        }
        for item in items
    ]


def _schedule_edit(
    request: HttpRequest, context: dict[str, Any], form: ScheduleForm, status: int = 200
) -> HttpResponse:
    context["form"] = form
    if status != 200 and not form.errors:
        form.add_page_error(_("Check the schedule and try again."))
    return staff_page(request, "backoffice/supervisor/schedule.html", context, status=status)


@manage_office
@require_http_methods(["GET", "HEAD", "POST"])
def schedule(request: HttpRequest) -> HttpResponse:
    """The weekly schedule: edit (GET), check the effect (POST step=check), save (POST step=save)."""
    staff = staff_of(request)
    office = _chosen_office(request, staff)
    context = _base_context(request, staff, office)
    if office is None:
        return staff_page(request, "backoffice/supervisor/schedule.html", context)
    current = office_schedule_rows(office=office)
    kept = _kept_rows(current)
    context["kept_rows"] = [
        {"row": row, "label": Weekday(row.weekday).label, "service": row.service_id is not None}
        for row in kept
    ]
    if request.method != "POST":
        return _schedule_edit(request, context, ScheduleForm(initial=ScheduleForm.initial_from(current)))

    form = ScheduleForm(request.POST)
    if not form.is_valid():
        return _schedule_edit(request, context, form, status=400)
    changes = form.general_rows() + kept
    step = request.POST.get("step")
    if step == "save":
        try:
            _guarded(
                lambda: office_schedule_save(
                    staff=staff,
                    office_id=office.pk,
                    changes=changes,
                    preview_token=request.POST.get("token", "")[:64],
                )
            )
        except ApplicationError as error:
            if error.code in STALE_CODES or error.code == appointment_errors.SCHEDULE_CAPACITY_BELOW_BOOKED:
                return _schedule_check(
                    request, context, form, staff, office, changes, error=error, status=409
                )
            form.add_application_error(error)
            return _schedule_edit(request, context, form, status=400)
        messages.success(request, _("The schedule is saved. Booked appointments are kept."))
        return redirect(reverse("backoffice:supervisor-schedule") + _office_query(staff, office))
    if step == "edit":
        return _schedule_edit(request, context, form)
    return _schedule_check(request, context, form, staff, office, changes)


def _schedule_check(
    request: HttpRequest,
    context: dict[str, Any],
    form: ScheduleForm,
    staff: StaffActor,
    office: Office,
    changes: list[ScheduleRow],
    *,
    error: ApplicationError | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        preview = _guarded(lambda: office_schedule_preview(staff=staff, office_id=office.pk, changes=changes))
    except ApplicationError as problem:
        form.add_application_error(problem)
        return _schedule_edit(request, context, form, status=400)
    context.update(
        {
            "form": form,
            "preview": preview,
            "affected": _affected_rows(preview.affected),
            "error": error.message if error else "",
            "week": _week_of(form.general_rows()),
        }
    )
    return staff_page(request, "backoffice/supervisor/schedule_check.html", context, status=status)


def _week_of(rows: list[ScheduleRow]) -> list[dict[str, Any]]:
    by_day = {row.weekday: row for row in rows}
    return [
        {
            "label": Weekday(weekday).label,
            "row": by_day.get(weekday),
            "hours": f"{by_day[weekday].opens_at:%H:%M}–{by_day[weekday].closes_at:%H:%M}"
            if weekday in by_day
            else "",
        }
        for weekday in WEEK
    ]


# --- Holidays ----------------------------------------------------------------------------------


def _holidays_page(
    request: HttpRequest, context: dict[str, Any], office: Office, form: HolidayForm, status: int = 200
) -> HttpResponse:
    today = clock.now().astimezone(RIYADH).date()
    context.update(
        {
            "form": form,
            "holidays": [
                {"holiday": holiday, "own": holiday.office_id == office.pk and holiday.date > today}
                for holiday in office_holidays_upcoming(office=office, from_day=today)
            ],
        }
    )
    return staff_page(request, "backoffice/supervisor/holidays.html", context, status=status)


@manage_office
@require_http_methods(["GET", "HEAD", "POST"])
def holidays(request: HttpRequest) -> HttpResponse:
    """Holidays: the list and the add form (GET), check the effect (step=check), add (step=save)."""
    staff = staff_of(request)
    office = _chosen_office(request, staff)
    context = _base_context(request, staff, office)
    if office is None:
        return staff_page(request, "backoffice/supervisor/holidays.html", context)
    if request.method != "POST":
        return _holidays_page(request, context, office, HolidayForm())
    form = HolidayForm(request.POST)
    if not form.is_valid():
        return _holidays_page(request, context, office, form, status=400)
    day = form.cleaned_data["day"]
    if request.POST.get("step") == "save":
        try:
            holiday = _guarded(
                lambda: office_holiday_add(
                    staff=staff,
                    office_id=office.pk,
                    day=day,
                    name_ar=form.cleaned_data["name_ar"],
                    name_en=form.cleaned_data["name_en"],
                    preview_token=request.POST.get("token", "")[:64],
                )
            )
        except ApplicationError as error:
            if error.code in STALE_CODES:
                return _holiday_check(request, context, form, staff, office, error=error, status=409)
            form.add_application_error(error)
            return _holidays_page(request, context, office, form, status=400)
        messages.success(
            request,
            _("The office is closed on %(day)s. Its appointments that day are cancelled; holders are told.")
            % {"day": holiday.date.isoformat()},
        )
        return redirect(reverse("backoffice:supervisor-holidays") + _office_query(staff, office))
    return _holiday_check(request, context, form, staff, office)


def _holiday_check(
    request: HttpRequest,
    context: dict[str, Any],
    form: HolidayForm,
    staff: StaffActor,
    office: Office,
    *,
    error: ApplicationError | None = None,
    status: int = 200,
) -> HttpResponse:
    day = form.cleaned_data["day"]
    try:
        preview = _guarded(lambda: office_holiday_preview(staff=staff, office_id=office.pk, day=day))
    except ApplicationError as problem:
        form.add_application_error(problem)
        return _holidays_page(request, context, office, form, status=400)
    context.update(
        {
            "form": form,
            "preview": preview,
            "affected": _affected_rows(preview.affected),
            "error": error.message if error else "",
        }
    )
    return staff_page(request, "backoffice/supervisor/holiday_check.html", context, status=status)


@manage_office
@require_http_methods(["GET", "HEAD", "POST"])
def holiday_remove(request: HttpRequest, holiday_id: int) -> HttpResponse:
    """Open the office again on one of its own future holidays: a confirmation page, then POST."""
    staff = staff_of(request)
    office = _chosen_office(request, staff)
    if office is None:
        raise Http404("choose an office")
    context = _base_context(request, staff, office)
    today = clock.now().astimezone(RIYADH).date()
    holiday = next(
        (
            item
            for item in office_holidays_upcoming(office=office, from_day=today)
            if item.pk == holiday_id and item.office_id == office.pk
        ),
        None,
    )
    if holiday is None:
        raise Http404("holiday")
    if request.method == "POST":
        try:
            _guarded(lambda: office_holiday_remove(staff=staff, office_id=office.pk, holiday_id=holiday_id))
        except ApplicationError as error:
            context.update({"holiday": holiday, "error": error.message})
            return staff_page(request, "backoffice/supervisor/holiday_remove.html", context, status=400)
        messages.success(request, _("The office opens again on %(day)s.") % {"day": holiday.date.isoformat()})
        return redirect(reverse("backoffice:supervisor-holidays") + _office_query(staff, office))
    context["holiday"] = holiday
    return staff_page(request, "backoffice/supervisor/holiday_remove.html", context)
