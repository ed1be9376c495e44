"""Appointment pages: choose a place and a time, check and book, see, reschedule, cancel, and the
ticket (PDF with a QR code) and calendar file (.ics).

The chooser is one page driven by its query string (region, city, office, day), so every step
works without JavaScript and Back works: region and city (default: the person's National
Address) → offices → the suggested dates first → that day's slot grid as a radio list. The
choice goes to a check-answers page that carries it in hidden fields with an idempotency key.
Only the owner sees an appointment (404 otherwise); changes close 2 days before the visit.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from hawiya.appointments import selectors
from hawiya.appointments.models import Appointment, AppointmentState
from hawiya.appointments.services.citizen import (
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    can_change,
    too_close_to_change,
)
from hawiya.core.calendars import format_dual
from hawiya.core.client import client_ip
from hawiya.core.clock import RIYADH
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity.models import User
from hawiya.identity.selectors import account_profile_for_user
from hawiya.registry.models import CivilService, Office, Person
from hawiya.registry.regions import Region
from hawiya.replacements.models import Replacement
from hawiya.replacements.requirements import requirements_of, takes_biometrics

from .appointments_forms import BookingConfirmForm, SlotChoiceForm, parse_slot
from .decorators import citizen_of, citizen_required, personal_page, require_recent_auth
from .pdf import pdf_response, qr_data_uri

REFERENCE = re.compile(r"[A-Z]{2}[0-9]{8}")
MAX_ID = 2**63 - 1
TAGS = {
    AppointmentState.BOOKED: "info",
    AppointmentState.CHECKED_IN: "info",
    AppointmentState.COMPLETED: "",
    AppointmentState.CANCELLED: "neutral",
    AppointmentState.NO_SHOW: "neutral",
}


# --- Small pieces ------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or user.person is None:
        raise Http404("not signed in")
    return user


def _person(request: HttpRequest) -> Person:
    return citizen_of(request)


def _reference(value: str) -> str:
    if not REFERENCE.fullmatch(value or ""):
        raise Http404("malformed reference")
    return value


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return personal_page(request, f"portal/appointments/{template}", context, status)


@dataclass(frozen=True)
class When:
    """A slot's start as people read it: Riyadh date in both calendars, weekday and time."""

    day: dt.date
    dual: str
    time: str
    starts_at: dt.datetime


def when(starts_at: dt.datetime) -> When:
    local = starts_at.astimezone(RIYADH)
    return When(
        day=local.date(), dual=format_dual(local.date()), time=local.strftime("%H:%M"), starts_at=starts_at
    )


def _tag(appointment: Appointment) -> str:
    return TAGS.get(AppointmentState(appointment.state), "neutral")


# --- The journey: booking a new appointment or moving one ----------------------------------------


@dataclass
class Journey:
    mode: str  # "new" or "reschedule"
    person: Person
    replacement: Replacement
    service: CivilService
    appointment: Appointment | None
    chooser_url: str
    check_url: str
    back_url: str


def _journey(request: HttpRequest, *, mode: str, reference: str) -> Journey:
    person = _person(request)
    try:
        if mode == "new":
            replacement = selectors.replacement_for_booking(person=person, reference=_reference(reference))
            appointment = None
            chooser = reverse("portal:appointments-new", args=[replacement.reference])
            check = reverse("portal:appointments-new-check", args=[replacement.reference])
            back = reverse("portal:requests-detail", args=[replacement.reference])
        else:
            appointment = selectors.appointment_get_for_person(person=person, reference=_reference(reference))
            replacement = appointment.replacement
            chooser = reverse("portal:appointments-reschedule", args=[appointment.reference])
            check = reverse("portal:appointments-reschedule-check", args=[appointment.reference])
            back = reverse("portal:appointments-detail", args=[appointment.reference])
        service = selectors.service_for_replacement(replacement=replacement)
    except NotFound as exc:
        raise Http404(exc.code) from exc
    return Journey(mode, person, replacement, service, appointment, chooser, check, back)


class _Refused(Exception):
    """The journey cannot go on (already booked, too late to change): say why on the next page."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.message = message
        self.url = url


def _check_open(journey: Journey) -> None:
    if journey.mode == "new":
        if journey.replacement.method != "collection" or journey.replacement.state != "paid":
            existing = selectors.appointment_for_replacement(replacement=journey.replacement)
            if existing is not None:
                raise _Refused(
                    _("This request already has an appointment. You can change it here."),
                    reverse("portal:appointments-detail", args=[existing.reference]),
                )
            raise _Refused(
                _("An appointment can be booked only for a paid request collected at an office."),
                journey.back_url,
            )
        return
    if journey.appointment is None or not can_change(journey.appointment):
        raise _Refused(
            _("An appointment can be changed or cancelled only until 2 days before it."), journey.back_url
        )


def _refused(request: HttpRequest, refused: _Refused) -> HttpResponse:
    messages.error(request, refused.message)
    return redirect(refused.url)


def _default_place(request: HttpRequest, journey: Journey) -> tuple[str, str]:
    if journey.appointment is not None:
        office = journey.appointment.slot.office
        return office.region, office.city_en
    profile = account_profile_for_user(user=_user(request))
    if profile is not None and profile.address is not None:
        return profile.address.region, profile.address.city_en
    return Region.RIYADH.value, ""


def _parse_date(value: str) -> dt.date | None:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value or ""):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _parse_id(value: str) -> int | None:
    if not re.fullmatch(r"[0-9]{1,19}", value or ""):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


@dataclass
class Choice:
    """What the chooser's query string says, checked; `bad` when something was not understood."""

    region: str
    city: str
    office: Office | None
    day: dt.date | None
    from_date: dt.date | None
    bad: bool


def _choice(
    request: HttpRequest, journey: Journey
) -> tuple[Choice, list[tuple[str, str, str]], list[Office]]:
    query = request.GET
    bad = False
    default_region, default_city = _default_place(request, journey)
    region = query.get("region", default_region)
    if region not in Region.values:
        region, bad = default_region, True
    cities = selectors.cities_for(region=region)
    city_names = {city_en for city_en, _ar, _value in cities}
    city = query.get("city", default_city if region == default_region else "")
    if city not in city_names:
        # A region changed without JavaScript still carries the old region's city: not an error.
        city = ""
    if not city and cities:
        city = cities[0][0]
    offices = selectors.offices_for(region=region, city=city or None, service=journey.service)
    office = None
    if "office" in query:
        office_id = _parse_id(query.get("office", ""))
        office = next((candidate for candidate in offices if candidate.pk == office_id), None)
        bad = bad or office is None
    day = None
    if "day" in query:
        day = _parse_date(query.get("day", ""))
        if day is None or not selectors.first_bookable_day() <= day <= selectors.last_bookable_day():
            day, bad = None, True
    from_date = _parse_date(query.get("from", "")) if "from" in query else None
    return Choice(region, city, office, day, from_date, bad), cities, offices


def _query(**values: object) -> str:
    return urlencode({name: value for name, value in values.items() if value not in (None, "")})


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def new(request: HttpRequest, reference: str) -> HttpResponse:
    """Choose where and when for a paid request's visit."""
    return _chooser(request, _journey(request, mode="new", reference=reference))


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def reschedule(request: HttpRequest, reference: str) -> HttpResponse:
    """Choose a new time (or office) for a booked appointment, more than 2 days ahead."""
    return _chooser(request, _journey(request, mode="reschedule", reference=reference))


def _chooser(request: HttpRequest, journey: Journey) -> HttpResponse:
    try:
        _check_open(journey)
    except _Refused as refused:
        return _refused(request, refused)
    choice, cities, offices = _choice(request, journey)
    suggestions: list[selectors.SuggestedDate] = []
    slots: list[selectors.SlotView] = []
    current = journey.appointment.slot if journey.appointment is not None else None
    day = choice.day
    if choice.office is not None:
        suggestions = selectors.suggested_dates(
            office=choice.office, service=journey.service, from_date=choice.from_date
        )
        if day is None and suggestions:
            day = suggestions[0].day
        if day is not None:
            slots = selectors.slots_on(office=choice.office, service=journey.service, day=day)
    own = (
        current.starts_at
        if current is not None and choice.office is not None and current.office_id == choice.office.pk
        else None
    )
    free = frozenset(slot.value for slot in slots if not slot.is_full and slot.starts_at != own)
    form = SlotChoiceForm(request.POST if request.method == "POST" else None, free=free)
    if request.method == "POST" and choice.office is not None and not choice.bad and form.is_valid():
        slot_value = form.cleaned_data["slot"].isoformat(timespec="minutes")
        query = _query(office=choice.office.pk, slot=slot_value, region=choice.region, city=choice.city)
        return redirect(f"{journey.check_url}?{query}")
    grid: list[dict[str, Any]] = [
        {
            "view": slot,
            "time": slot.local_start.strftime("%H:%M"),
            "value": slot.value,
            "is_current": slot.starts_at == own,
            "available": slot.value in free,
            "checked": form.data.get("slot") == slot.value,
        }
        for slot in slots
    ]
    # The error summary links to the first time that can be chosen.
    anchor = next((item for item in grid if item["available"]), None)
    if anchor is not None:
        anchor["anchor"] = True
    base = {"region": choice.region, "city": choice.city}
    office_base = {**base, "office": choice.office.pk if choice.office else None}
    later_from = suggestions[-1].day + dt.timedelta(days=1) if suggestions else None
    paging = {"from": choice.from_date} if choice.from_date else {}
    context = {
        "journey": journey,
        "regions": Region.choices,
        "choice": choice,
        "cities": cities,
        "offices": offices,
        "suggestions": [
            {
                "suggestion": suggestion,
                "dual": format_dual(suggestion.day),
                "url": f"{journey.chooser_url}?{_query(**office_base, day=suggestion.day, **paging)}",
                "current": suggestion.day == day,
            }
            for suggestion in suggestions
        ],
        "later_url": f"{journey.chooser_url}?{_query(**office_base, **{'from': later_from.isoformat()})}"
        if later_from
        else "",
        "day": day,
        "day_dual": format_dual(day) if day else "",
        "slots": grid,
        "form": form,
        "current": when(current.starts_at) if current is not None else None,
    }
    status = 400 if choice.bad else 200
    return _render(request, "choose.html", context, status=status)


# --- Check answers and book ------------------------------------------------------------------------


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def new_check(request: HttpRequest, reference: str) -> HttpResponse:
    return _check(request, _journey(request, mode="new", reference=reference))


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def reschedule_check(request: HttpRequest, reference: str) -> HttpResponse:
    return _check(request, _journey(request, mode="reschedule", reference=reference))


def _is_replay(journey: Journey, key: str) -> bool:
    """Whether this form already booked (or moved) the appointment: a double click, or Back then
    send again. The service then answers with the first result, so it is not refused as closed."""
    if journey.mode == "new":
        return selectors.appointment_booked_with_key(replacement=journey.replacement, key=key) is not None
    return journey.appointment is not None and selectors.appointment_moved_with_key(
        appointment=journey.appointment, key=key
    )


def _check(request: HttpRequest, journey: Journey) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    if request.method != "POST" or not _is_replay(journey, str(source.get("idempotency_key", ""))):
        try:
            _check_open(journey)
        except _Refused as refused:
            return _refused(request, refused)
    office_id = _parse_id(str(source.get("office", "")))
    slot_value = str(source.get("slot", ""))
    starts_at = parse_slot(slot_value)
    if slot_value and starts_at is None:
        # Not a time the chooser offers (a changed link): say so rather than guess.
        return _render(request, "bad_time.html", {"journey": journey}, status=400)
    if office_id is None or starts_at is None:
        messages.error(request, _("Choose an office and a time for your appointment."))
        return redirect(journey.chooser_url)
    try:
        office = selectors.office_get(office_id=office_id)
    except NotFound as exc:
        raise Http404(exc.code) from exc
    form = BookingConfirmForm(
        request.POST if request.method == "POST" else None,
        initial={
            "office": office.pk,
            "slot": starts_at.isoformat(timespec="minutes"),
            "idempotency_key": uuid.uuid4().hex,
        },
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if journey.mode == "new":
                appointment = appointment_book(
                    replacement_id=journey.replacement.pk,
                    applicant=journey.person,
                    office_id=data["office"],
                    starts_at=data["slot"],
                    idempotency_key=data["idempotency_key"],
                    actor=f"user:{_user(request).pk}",
                    ip=client_ip(request),
                )
                # No flash message: the page it lands on is the confirmation, whose panel says
                # "Appointment booked" (a banner saying it too showed the success twice).
            else:
                appointment = appointment_reschedule(
                    appointment_id=journey.appointment.pk if journey.appointment else 0,
                    applicant=journey.person,
                    office_id=data["office"],
                    starts_at=data["slot"],
                    idempotency_key=data["idempotency_key"],
                    actor=f"user:{_user(request).pk}",
                    ip=client_ip(request),
                )
                messages.success(request, _("Your appointment has been changed."))
        except NotFound as exc:
            raise Http404(exc.code) from exc
        except ApplicationError as exc:
            form.add_page_error(exc.message)
            status = 409 if exc.code in ("slot_full", "replacement_state_conflict") else exc.status_code
        else:
            return redirect("portal:appointments-detail", appointment.reference)
    elif request.method == "POST":
        status = 400
    region, city = office.region, office.city_en
    day = when(starts_at).day
    change_url = f"{journey.chooser_url}?{_query(region=region, city=city, office=office.pk, day=day)}"
    context = {
        "journey": journey,
        "form": form,
        "office": office,
        "when": when(starts_at),
        "change_url": change_url,
        "place_url": f"{journey.chooser_url}?{_query(region=region, city=city)}",
        "current": when(journey.appointment.slot.starts_at) if journey.appointment else None,
        "requirements": requirements_of(journey.replacement, ticket=True),
        # Said before confirming: within 2 days the appointment can then no longer be changed online.
        "too_close_to_change": too_close_to_change(starts_at),
    }
    return _render(request, "check.html", context, status=status)


# --- An appointment --------------------------------------------------------------------------------


def _appointment(request: HttpRequest, reference: str) -> Appointment:
    try:
        return selectors.appointment_get_for_person(person=_person(request), reference=_reference(reference))
    except NotFound as exc:
        raise Http404(exc.code) from exc


def _appointment_context(appointment: Appointment) -> dict[str, Any]:
    return {
        "appointment": appointment,
        "office": appointment.slot.office,
        "when": when(appointment.slot.starts_at),
        "tag": _tag(appointment),
        "can_change": can_change(appointment),
        "is_active": appointment.is_active,
        # What to bring, by the kind of document (replacements.requirements: one place).
        "requirements": requirements_of(appointment.replacement, ticket=True),
        "is_id_card": takes_biometrics(appointment.replacement.document.kind),
        "nothing_to_pay": not appointment.replacement.total_sar,
    }


@citizen_required
@require_safe
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The appointment and, while it is booked, the confirmation panel (a bookmark still works)."""
    appointment = _appointment(request, reference)
    return _render(request, "detail.html", _appointment_context(appointment))


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def cancel(request: HttpRequest, reference: str) -> HttpResponse:
    """A confirmation page stating the consequence, then the cancellation."""
    appointment = _appointment(request, reference)
    detail_url = reverse("portal:appointments-detail", args=[appointment.reference])
    if not can_change(appointment):
        messages.error(request, _("An appointment can be changed or cancelled only until 2 days before it."))
        return redirect(detail_url)
    if request.method == "POST":
        try:
            appointment_cancel(
                appointment_id=appointment.pk,
                applicant=_person(request),
                actor=f"user:{_user(request).pk}",
                ip=client_ip(request),
            )
        except NotFound as exc:
            raise Http404(exc.code) from exc
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
            return redirect(detail_url)
        messages.success(request, _("Your appointment has been cancelled."))
        return redirect(detail_url)
    return _render(request, "cancel.html", _appointment_context(appointment))


@citizen_required
@require_safe
def ticket(request: HttpRequest, reference: str) -> HttpResponse:
    """The printable ticket: reference and its QR code, name, office, time in both calendars."""
    appointment = _appointment(request, reference)
    context = {
        **_appointment_context(appointment),
        "person": appointment.applicant,
        "qr": qr_data_uri(appointment.reference),
    }
    return pdf_response(
        request, "portal/pdf/appointment_ticket.html", context, filename=f"{appointment.reference}.pdf"
    )


@citizen_required
@require_safe
def ics(request: HttpRequest, reference: str) -> HttpResponse:
    """The appointment as an iCalendar event (UID = reference, times in Asia/Riyadh)."""
    from icalendar import Calendar, Event

    appointment = _appointment(request, reference)
    office = appointment.slot.office
    arabic = (request.LANGUAGE_CODE or "ar").startswith("ar")
    calendar = Calendar()
    calendar.add("prodid", "-//Hawiya//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", appointment.reference)
    event.add("dtstamp", appointment.updated_at)
    event.add("dtstart", appointment.slot.starts_at.astimezone(RIYADH))
    event.add("dtend", appointment.slot.ends_at.astimezone(RIYADH))
    event.add(
        "summary",
        _("Civil affairs appointment %(reference)s") % {"reference": appointment.reference},
    )
    name, address = (office.name_ar, office.address_ar) if arabic else (office.name_en, office.address_en)
    event.add("location", f"{name}, {address}")
    event.add(
        "description",
        _(
            "Bring Form 58 and any remains of the lost document. "
            "Your photo and fingerprints are taken at the office."
        ),
    )
    if appointment.state == AppointmentState.CANCELLED:
        event.add("status", "CANCELLED")
    else:
        event.add("status", "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{appointment.reference}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response
