"""Appointment pages: choose, check and book, see, reschedule, cancel, ticket PDF and .ics.

The clock is pinned to a Monday morning in Riyadh, so "tomorrow" and the 2-day rule are exact.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation
from icalendar import Calendar
from pypdf import PdfReader

from hawiya.appointments.models import Appointment, AppointmentState, Slot, Weekday
from hawiya.appointments.tests.factories import (
    at_riyadh,
    book,
    make_bookable_office,
    make_replacement,
    next_weekday,
)
from hawiya.core import clock
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_session_value
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.registry.tests.factories import make_address
from hawiya.replacements.models import ReplacementState

from .html import Element, find_all

pytestmark = pytest.mark.django_db

NOW = at_riyadh(dt.date(2030, 3, 4), 9)  # Monday
TUESDAY = next_weekday(NOW.date(), Weekday.TUESDAY)
NEXT_MONDAY = next_weekday(NOW.date(), Weekday.MONDAY)


@pytest.fixture(autouse=True)
def _pinned(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()
    monkeypatch.setattr(clock, "now", lambda: NOW)


def _find(html: str, tag: str, **attrs: str) -> Element | None:
    """The first <tag> whose attributes include `attrs` (names with "_" for "-"), or None."""
    wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
    for element in find_all(html, tag):
        if all(
            name in element.attrs and (value == "" or element.attrs[name] == value)
            for name, value in wanted.items()
        ):
            return element
    return None


def _value(html: str, name: str) -> str:
    element = _find(html, "input", name=name)
    assert element is not None, name
    return element.attrs["value"]


def url(name: str, *args: Any, language: str = "en") -> str:
    with translation.override(language):
        return reverse(f"portal:{name}", args=args)


def signed_in(*, recently: bool = True) -> tuple[Client, Any]:
    """A client signed in as a citizen in Riyadh, recently authenticated unless told otherwise."""
    user = make_account()
    make_address(person_of(user))  # Riyadh
    client = Client()
    client.force_login(user)
    if recently:
        reauthenticated(client)
    return client, person_of(user)


def reauthenticated(client: Client) -> None:
    """As after a sign-in or a fresh code: what cancelling and rescheduling need."""
    session = client.session
    session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(clock.now())
    session.save()


@pytest.fixture
def office():
    return make_bookable_office(
        name_ar="مكتب الأحوال المدنية بالملز", name_en="Civil Affairs Office, Al Malaz"
    )


def test_the_chooser_defaults_to_the_persons_city_and_shows_suggested_dates_then_a_slot_grid_in_words(office):
    client, person = signed_in()
    replacement = make_replacement(applicant=person)
    for _ in range(3):
        book(make_replacement(), office, at_riyadh(TUESDAY, 8))
    page = client.get(url("appointments-new", replacement.reference))
    assert page.status_code == 200
    html = page.content.decode()
    assert _find(html, "option", selected="")  # the person's region is preselected
    assert "Civil Affairs Office, Al Malaz" in html
    # No office chosen yet: no dates.
    assert "data-suggested-dates" not in html

    chosen = client.get(
        url("appointments-new", replacement.reference),
        {"region": "riyadh", "city": "Riyadh", "office": office.pk},
    )
    html = chosen.content.decode()
    days = _find(html, "ul", data_suggested_dates="")
    assert days is not None
    assert "Tuesday" in html
    assert "60 places left" in html
    assert len(find_all(html, "h1")) == 1
    radios = [element for element in find_all(html, "input") if element.attrs.get("name") == "slot"]
    assert len(radios) == 21
    assert "disabled" in radios[0].attrs  # 08:00 is full
    assert "full" in html
    assert "available (3 places)" in html
    assert radios[1].attrs["id"] == "id_slot"  # the error summary links to the first free time


def test_booking_through_the_pages_then_the_confirmation_shows_the_reference(office):
    client, person = signed_in()
    replacement = make_replacement(applicant=person)
    chooser = url("appointments-new", replacement.reference)
    query = f"?region=riyadh&city=Riyadh&office={office.pk}&day={TUESDAY.isoformat()}"
    missing = client.post(chooser + query, {})
    assert missing.status_code == 200
    assert "Choose a time for your appointment." in missing.content.decode()
    assert _find(missing.content.decode(), "div", data_error_summary="") is not None

    slot = at_riyadh(TUESDAY, 10).isoformat(timespec="minutes")
    chosen = client.post(chooser + query, {"slot": slot})
    assert chosen.status_code == 302
    check = client.get(chosen["Location"])
    html = check.content.decode()
    assert check.status_code == 200
    assert "10:00" in html
    assert "Civil Affairs Office, Al Malaz" in html
    key = _value(html, "idempotency_key")
    form = {"office": office.pk, "slot": slot, "idempotency_key": key}
    booked = client.post(url("appointments-new-check", replacement.reference), form)
    assert booked.status_code == 302
    again = client.post(url("appointments-new-check", replacement.reference), form)  # double click
    assert again["Location"] == booked["Location"]
    appointment = Appointment.objects.get()
    assert booked["Location"] == url("appointments-detail", appointment.reference)
    assert Slot.objects.get().booked == 1
    replacement.refresh_from_db()
    assert replacement.state == ReplacementState.APPOINTMENT_BOOKED

    shown = client.get(booked["Location"])
    detail = shown.content.decode()
    assert _find(detail, "div", class_="hw-panel") is not None
    assert f'<bdi dir="ltr">{appointment.reference}</bdi>' in detail
    # The success is said once, by the confirmation panel (not by a banner above it as well).
    assert _messages(shown) == []
    assert _find(detail, "div", class_="hw-banner hw-banner--success") is None
    assert _find(detail, "ul", data_change_links="") is None  # tomorrow: too late to change


def test_a_slot_taken_meanwhile_is_refused_on_the_check_page_without_a_500(office):
    client, person = signed_in()
    replacement = make_replacement(applicant=person)
    starts_at = at_riyadh(TUESDAY, 8)
    for _ in range(3):
        book(make_replacement(), office, starts_at)
    form = {"office": office.pk, "slot": starts_at.isoformat(timespec="minutes"), "idempotency_key": "a" * 32}
    refused = client.post(url("appointments-new-check", replacement.reference), form)
    assert refused.status_code == 409
    assert "Someone has just taken the last place" in refused.content.decode()
    assert not Appointment.objects.filter(applicant=person).exists()


def test_bad_input_is_a_4xx_never_a_500(office):
    client, person = signed_in()
    replacement = make_replacement(applicant=person)
    chooser = url("appointments-new", replacement.reference)
    assert client.get(chooser, {"region": "atlantis"}).status_code == 400
    assert client.get(chooser, {"office": "99999999999999999999"}).status_code == 400
    assert client.get(chooser, {"office": office.pk, "day": "2030-02-30"}).status_code == 400
    assert client.get(chooser, {"office": office.pk, "day": "1990-01-01"}).status_code == 400
    assert client.get(url("appointments-detail", "AP123")).status_code == 404
    assert client.get(url("appointments-detail", "AP12345678")).status_code == 404
    check = url("appointments-new-check", replacement.reference)
    assert client.get(check).status_code == 302  # nothing chosen yet: back to the chooser
    assert client.get(check, {"office": "x", "slot": "y"}).status_code == 400
    bad = client.post(check, {"office": office.pk, "slot": "2030-03-05T10:00+03:00", "idempotency_key": "!"})
    assert bad.status_code == 400


def test_reschedule_and_cancel_through_the_pages_more_than_2_days_ahead(office):
    client, person = signed_in()
    replacement = make_replacement(applicant=person)
    appointment = book(replacement, office, at_riyadh(NEXT_MONDAY, 9))
    detail = client.get(url("appointments-detail", appointment.reference)).content.decode()
    assert _find(detail, "ul", data_change_links="") is not None

    chooser = client.get(
        url("appointments-reschedule", appointment.reference),
        {"office": office.pk, "day": NEXT_MONDAY.isoformat()},
    )
    html = chooser.content.decode()
    assert "your current time" in html
    new_time = at_riyadh(NEXT_MONDAY, 11).isoformat(timespec="minutes")
    chosen = client.post(
        url("appointments-reschedule", appointment.reference)
        + f"?office={office.pk}&day={NEXT_MONDAY.isoformat()}",
        {"slot": new_time},
    )
    check = client.get(chosen["Location"]).content.decode()
    key = _value(check, "idempotency_key")
    moved = client.post(
        url("appointments-reschedule-check", appointment.reference),
        {"office": office.pk, "slot": new_time, "idempotency_key": key},
    )
    assert moved["Location"] == url("appointments-detail", appointment.reference)
    appointment.refresh_from_db()
    assert appointment.slot.starts_at == at_riyadh(NEXT_MONDAY, 11)

    confirm = client.get(url("appointments-cancel", appointment.reference))
    assert confirm.status_code == 200
    assert "hw-button--warning" in confirm.content.decode()
    cancelled = client.post(url("appointments-cancel", appointment.reference))
    assert cancelled.status_code == 302
    appointment.refresh_from_db()
    assert appointment.state == AppointmentState.CANCELLED
    assert "Cancelled" in client.get(url("appointments-detail", appointment.reference)).content.decode()


def test_within_2_days_the_change_pages_refuse_and_nothing_changes(office):
    client, person = signed_in()
    appointment = book(make_replacement(applicant=person), office, at_riyadh(TUESDAY, 9))
    detail = client.get(url("appointments-detail", appointment.reference)).content.decode()
    assert _find(detail, "p", data_too_late="") is not None
    for name in ("appointments-reschedule", "appointments-reschedule-check", "appointments-cancel"):
        refused = client.post(url(name, appointment.reference), {"slot": "x"})
        assert refused.status_code == 302, name
        assert refused["Location"] == url("appointments-detail", appointment.reference)
    appointment.refresh_from_db()
    assert (appointment.state, appointment.slot.starts_at) == (AppointmentState.BOOKED, at_riyadh(TUESDAY, 9))


def test_every_url_is_not_found_for_someone_else(office):
    _owner_client, owner = signed_in()
    replacement = make_replacement(applicant=owner)
    appointment = book(replacement, office, at_riyadh(NEXT_MONDAY, 9))
    stranger, _person = signed_in()
    for name, reference in [
        ("appointments-new", replacement.reference),
        ("appointments-new-check", replacement.reference),
        ("appointments-detail", appointment.reference),
        ("appointments-reschedule", appointment.reference),
        ("appointments-reschedule-check", appointment.reference),
        ("appointments-cancel", appointment.reference),
        ("appointments-ticket", appointment.reference),
        ("appointments-ics", appointment.reference),
    ]:
        assert stranger.get(url(name, reference)).status_code == 404, name
        if name not in ("appointments-detail", "appointments-ticket", "appointments-ics"):
            assert stranger.post(url(name, reference), {"slot": "x"}).status_code == 404, name
    appointment.refresh_from_db()
    assert appointment.state == AppointmentState.BOOKED


def test_signed_out_people_are_sent_to_sign_in(office):
    appointment = book(make_replacement(), office, at_riyadh(NEXT_MONDAY, 9))
    response = Client().get(url("appointments-detail", appointment.reference))
    assert response.status_code == 302
    assert "sign-in" in response["Location"]


def test_the_ics_file_parses_back_with_the_reference_as_uid_in_riyadh_time(office):
    client, person = signed_in()
    appointment = book(make_replacement(applicant=person), office, at_riyadh(NEXT_MONDAY, 9, 20))
    response = client.get(url("appointments-ics", appointment.reference))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["UID"]) == appointment.reference
    start = event.decoded("DTSTART")
    assert start == at_riyadh(NEXT_MONDAY, 9, 20)
    assert str(start.tzinfo) == "Asia/Riyadh"
    assert event.decoded("DTEND") - start == dt.timedelta(minutes=20)
    assert "Al Malaz" in str(event["LOCATION"])
    assert calendar.walk("VTIMEZONE")


def _pdf_text(content: bytes) -> str:
    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
    return unicodedata.normalize("NFKC", text)


def test_the_ticket_pdf_has_the_reference_qr_and_the_arabic_office_name(office):
    client, person = signed_in()
    appointment = book(make_replacement(applicant=person), office, at_riyadh(NEXT_MONDAY, 9))
    response = client.get(url("appointments-ticket", appointment.reference, language="ar"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert appointment.reference in text
    words = set(re.findall(r"\w+", text))
    assert {"الأحوال", "المدنية", "بالملز"} <= words or {"لاوحألا", "ةيندملا", "زلملاب"} <= words
    assert "09:00" in text


OUT_OF_RANGE = [
    "9999-12-31T23:00-05:00",  # after the end of the calendar in Riyadh time
    "0001-01-01T00:00+05:00",  # before its start
    "1999-03-05T10:00+03:00",
    "2101-03-05T10:00+03:00",
    "2030-03-05T10:00",  # no offset
]


@pytest.mark.parametrize("slot", OUT_OF_RANGE)
def test_a_slot_outside_the_years_offered_is_a_400_with_a_clear_message_never_a_500(office, slot):
    client, person = signed_in()
    replacement = make_replacement(applicant=person)
    moving, mover = signed_in()
    appointment = book(make_replacement(applicant=mover), office, at_riyadh(NEXT_MONDAY, 9))
    for browser, name, reference in [
        (client, "appointments-new-check", replacement.reference),
        (moving, "appointments-reschedule-check", appointment.reference),
    ]:
        for language, message in [
            ("en", "This appointment time is not valid"),
            ("ar", "وقت الموعد هذا غير صالح"),
        ]:
            check = url(name, reference, language=language)
            shown = browser.get(check, {"office": office.pk, "slot": slot})
            assert shown.status_code == 400, (name, language)
            assert message in shown.content.decode()
            sent = browser.post(check, {"office": office.pk, "slot": slot, "idempotency_key": "a" * 32})
            assert sent.status_code == 400, (name, language)
            assert message in sent.content.decode()
    chooser = client.post(
        url("appointments-new", replacement.reference) + f"?office={office.pk}&day={TUESDAY.isoformat()}",
        {"slot": slot},
    )
    assert chooser.status_code == 200
    assert "Choose a time from the list." in chooser.content.decode()
    assert not Appointment.objects.filter(applicant=person).exists()
    appointment.refresh_from_db()
    assert appointment.slot.starts_at == at_riyadh(NEXT_MONDAY, 9)


def _messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_booking_form_sent_again_after_success_lands_on_the_same_booking(office):
    client, person = signed_in()
    replacement = make_replacement(applicant=person)
    slot = at_riyadh(NEXT_MONDAY, 10).isoformat(timespec="minutes")
    form = {"office": office.pk, "slot": slot, "idempotency_key": "k" * 32}
    check = url("appointments-new-check", replacement.reference)
    booked = client.post(check, form)
    assert booked.status_code == 302
    client.get(booked["Location"])
    again = client.post(check, form)
    assert again["Location"] == booked["Location"]
    assert _messages(client.get(again["Location"])) == []  # the confirmation panel says it
    assert Appointment.objects.filter(applicant=person).count() == 1
    assert Slot.objects.get().booked == 1
    # Another booking form (a new key) for the same request is still told it has one.
    other = client.post(check, {**form, "idempotency_key": "n" * 32})
    assert other["Location"] == booked["Location"]
    assert _messages(client.get(other["Location"])) == [
        "This request already has an appointment. You can change it here."
    ]


def test_a_reschedule_form_sent_again_after_success_lands_on_the_moved_booking(office):
    client, person = signed_in()
    appointment = book(make_replacement(applicant=person), office, at_riyadh(NEXT_MONDAY, 9))
    # Moved to tomorrow: from now on the appointment is too close to change.
    new_time = at_riyadh(TUESDAY, 11).isoformat(timespec="minutes")
    form = {"office": office.pk, "slot": new_time, "idempotency_key": "m" * 32}
    check = url("appointments-reschedule-check", appointment.reference)
    moved = client.post(check, form)
    assert moved["Location"] == url("appointments-detail", appointment.reference)
    client.get(moved["Location"])
    again = client.post(check, form)
    assert again["Location"] == moved["Location"]
    assert _messages(client.get(again["Location"])) == ["Your appointment has been changed."]
    appointment.refresh_from_db()
    assert appointment.slot.starts_at == at_riyadh(TUESDAY, 11)
    assert appointment.moves.count() == 1


def test_cancelling_or_rescheduling_needs_a_recent_sign_in(office):
    client, person = signed_in(recently=False)
    appointment = book(make_replacement(applicant=person), office, at_riyadh(NEXT_MONDAY, 9))
    new_time = at_riyadh(NEXT_MONDAY, 11).isoformat(timespec="minutes")
    form = {"office": office.pk, "slot": new_time, "idempotency_key": "r" * 32}
    for name, data in [("appointments-cancel", {}), ("appointments-reschedule-check", form)]:
        for method in (client.get, client.post):
            answer = method(url(name, appointment.reference), data)
            assert answer.status_code == 302, name
            assert answer["Location"].startswith(url("reauthenticate")), name
    appointment.refresh_from_db()
    assert (appointment.state, appointment.slot.starts_at) == (
        AppointmentState.BOOKED,
        at_riyadh(NEXT_MONDAY, 9),
    )
    assert not appointment.moves.exists()


@pytest.mark.parametrize(
    ("language", "warning"),
    [
        ("en", "This appointment is less than 2 days away. Once you confirm it, it can no longer be changed"),
        ("ar", "يبعد هذا الموعد أقل من يومين. وبعد تأكيده لا يمكن تغييره أو إلغاؤه إلكترونيًا"),
    ],
)
def test_a_time_less_than_2_days_away_says_before_confirming_that_it_cannot_be_changed_online(
    office, language, warning
):
    client, person = signed_in()
    replacement = make_replacement(applicant=person)
    check = url("appointments-new-check", replacement.reference, language=language)

    def page(day: dt.date, hour: int) -> str:
        slot = at_riyadh(day, hour).isoformat(timespec="minutes")
        response = client.get(check, {"office": office.pk, "slot": slot})
        assert response.status_code == 200
        return " ".join(response.content.decode().split())

    tomorrow = page(TUESDAY, 10)  # 25 hours away
    assert warning in tomorrow
    assert tomorrow.index(warning) < tomorrow.index("data-prevent-double-click")  # before the button
    assert warning not in page(NEXT_MONDAY, 10)  # a week away: changeable until 2 days before

    # Moving an appointment to a time within 2 days is warned about the same way.
    other, someone = signed_in()
    appointment = book(make_replacement(applicant=someone), office, at_riyadh(NEXT_MONDAY, 9))
    slot = at_riyadh(TUESDAY, 11).isoformat(timespec="minutes")
    moving = other.get(
        url("appointments-reschedule-check", appointment.reference, language=language),
        {"office": office.pk, "slot": slot},
    )
    assert warning in " ".join(moving.content.decode().split())
