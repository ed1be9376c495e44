"""The supervisor's pages: the dashboard and its CSV, the schedule and holidays with their
"check the effect" step, for the office's supervisor and for administrators (who choose)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.appointments.models import Appointment, AppointmentState, OfficeHoliday, OfficeSchedule, Weekday
from hawiya.appointments.tests.factories import (
    at_riyadh,
    book,
    make_bookable_office,
    make_replacement,
    next_weekday,
)
from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.casework.tests.factories import signed_in
from hawiya.core import clock
from hawiya.core.clock import RIYADH
from hawiya.identity.models import StaffRole
from hawiya.identity.staff import StaffActor
from hawiya.identity.tests.factories import make_account, make_staff
from hawiya.registry.models import Office

pytestmark = pytest.mark.django_db

WEEK = (7, 1, 2, 3, 4, 5, 6)


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"


def _url(name: str, *args: Any, language: str = "en") -> str:
    with translation.override(language):
        return reverse(f"backoffice:{name}", args=args)


def _text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def _hidden_fields(page: str, form_marker: str) -> dict[str, str]:
    """The hidden inputs of the form carrying `form_marker`, as the browser would post them."""
    form = page.split(form_marker, 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def _tuesday() -> dt.date:
    """A Tuesday at least two days ahead (bookable, and a holiday can be added on it)."""
    return next_weekday(clock.now().astimezone(RIYADH).date() + dt.timedelta(days=1), Weekday.TUESDAY)


def _week_form(**tuesday: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for weekday in WEEK:
        if weekday in (5, 6):
            continue
        data.update(
            {
                f"d{weekday}_open": "on",
                f"d{weekday}_opens_at": "08:00",
                f"d{weekday}_closes_at": "15:00",
                f"d{weekday}_slot_minutes": "20",
                f"d{weekday}_capacity": "3",
            }
        )
    data.update({f"d2_{key}": value for key, value in tuesday.items()})
    return data


@pytest.fixture
def office() -> Office:
    return make_bookable_office(name_en="Al Malaz Civil Affairs Office")


@pytest.fixture
def supervisor(office: Office) -> StaffActor:
    return make_staff(role=StaffRole.SUPERVISOR, office=office)


@pytest.fixture
def booked(office: Office) -> Appointment:
    replacement = make_replacement()
    return book(replacement, office, at_riyadh(_tuesday(), 9))


# --- Access --------------------------------------------------------------------------------------

PAGES = ["supervisor-dashboard", "supervisor-dashboard-csv", "supervisor-schedule", "supervisor-holidays"]


@pytest.mark.parametrize("name", PAGES)
def test_officers_are_refused_and_anonymous_visitors_sent_to_sign_in(
    client: Client, office: Office, name: str
) -> None:
    assert client.get(_url(name)).status_code == 302
    officer = make_staff(role=StaffRole.OFFICER, office=office)
    assert signed_in(officer, client).get(_url(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_citizens_have_no_supervisor_pages(client: Client, name: str) -> None:
    client.force_login(make_account())
    assert client.get(_url(name)).status_code == 403


def test_a_supervisor_always_sees_their_own_office(
    client: Client, office: Office, supervisor: StaffActor
) -> None:
    other = make_bookable_office(name_en="Another Office")
    response = signed_in(supervisor, client).get(_url("supervisor-dashboard"), {"office": other.code})
    assert response.status_code == 200
    assert "Al Malaz Civil Affairs Office" in _text(response)
    assert "Another Office" not in _text(response)


def test_administrators_choose_the_office(client: Client, office: Office) -> None:
    administrator = signed_in(make_staff(role=StaffRole.ADMINISTRATOR, office=None), client)
    first = administrator.get(_url("supervisor-dashboard"))
    assert first.status_code == 200
    assert "data-choose-office" in first.content.decode()
    chosen = administrator.get(_url("supervisor-dashboard"), {"office": office.code})
    assert chosen.status_code == 200
    assert "data-requests-by-status" in chosen.content.decode()
    assert administrator.get(_url("supervisor-dashboard"), {"office": "no-such-office"}).status_code == 404


# --- Dashboard -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_dashboard_shows_counts_a_chart_with_its_table_and_no_median_yet(
    client: Client, supervisor: StaffActor, booked: Appointment, language: str
) -> None:
    response = signed_in(supervisor, client).get(_url("supervisor-dashboard", language=language))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert re.search(r'data-count="appointment_booked">1<', page)
    assert "<svg" in page
    assert 'role="img"' in page
    assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]
    if language == "en":
        assert "No data yet" in page
    assert booked.applicant.first_name_en not in page


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_dashboard_shows_the_share_ready_within_the_promise_with_its_table(
    client: Client, supervisor: StaffActor, booked: Appointment, language: str
) -> None:
    from hawiya.replacements.models import ReplacementState as S
    from hawiya.replacements.services import replacement_move

    prints = clock.now() - dt.timedelta(days=10)
    for state in (S.CHECKED_IN, S.BIOMETRICS_CAPTURED, S.APPROVED, S.PRINTED, S.READY_FOR_COLLECTION):
        at = prints if state in (S.CHECKED_IN, S.BIOMETRICS_CAPTURED) else clock.now() - dt.timedelta(days=1)
        replacement_move(
            replacement_id=booked.replacement_id,
            to=state,
            action=state.value,
            at=at,
            actor=Actor.system("tests"),
        )
    response = signed_in(supervisor, client).get(_url("supervisor-dashboard", language=language))
    page = response.content.decode()
    assert re.search(r'data-count="kept">1<', page)
    assert re.search(r'data-count="missed">0<', page)
    assert re.search(r'data-count="due">1<', page)
    lead = page.split("data-promise>", 1)[1].split("</p>", 1)[0]
    assert "100%" in lead
    assert ("1 of 1 request ready in time" if language == "en" else "1 من طلب واحد") in lead
    csv = signed_in(supervisor, client).get(_url("supervisor-dashboard-csv")).content.decode("utf-8-sig")
    assert "ready_within_promise,kept,,1" in csv
    assert "ready_within_promise,due,,1" in csv


def test_the_csv_export_is_an_audited_attachment_without_personal_data(
    client: Client, office: Office, supervisor: StaffActor, booked: Appointment
) -> None:
    response = signed_in(supervisor, client).get(_url("supervisor-dashboard-csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    body = response.content.decode("utf-8-sig")
    assert "requests_by_status,appointment_booked,Appointment booked,1" in body
    assert booked.applicant.first_name_en not in body
    assert booked.applicant.id_number not in body
    event = AuditEvent.objects.get(action="dashboard.exported")
    assert event.actor == supervisor.actor.id
    assert event.detail["office"] == office.code


# --- Schedule ------------------------------------------------------------------------------------


def test_the_schedule_page_lists_every_weekday(client: Client, supervisor: StaffActor) -> None:
    response = signed_in(supervisor, client).get(_url("supervisor-schedule"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("data-weekday=") == 7
    assert 'name="d2_opens_at"' in page


def test_check_then_save_keeps_the_booking_and_shows_a_banner(
    client: Client, office: Office, supervisor: StaffActor, booked: Appointment
) -> None:
    staff = signed_in(supervisor, client)
    data = _week_form(opens_at="10:00")

    check = staff.post(_url("supervisor-schedule"), {**data, "step": "check"})

    assert check.status_code == 200
    page = check.content.decode()
    assert f'data-affected-appointment="{booked.reference}"' in page
    assert not OfficeSchedule.objects.filter(office=office).exists()  # nothing saved yet
    fields = _hidden_fields(page, "data-schedule-save")
    assert fields["d2_opens_at"] == "10:00"
    assert fields["step"] == "save"

    saved = staff.post(_url("supervisor-schedule"), fields, follow=True)

    assert saved.status_code == 200
    assert "The schedule is saved" in _text(saved)
    assert OfficeSchedule.objects.get(office=office, weekday=2).opens_at == dt.time(10)
    booked.refresh_from_db()
    assert booked.state == AppointmentState.BOOKED


def test_saving_without_checking_the_effect_is_refused(
    client: Client, office: Office, supervisor: StaffActor
) -> None:
    response = signed_in(supervisor, client).post(
        _url("supervisor-schedule"), {**_week_form(capacity="5"), "step": "save", "token": "forged"}
    )
    assert response.status_code == 409
    assert "data-schedule-save" in response.content.decode()
    assert not OfficeSchedule.objects.filter(office=office).exists()


def test_fewer_places_than_bookings_cannot_be_saved(
    client: Client, office: Office, supervisor: StaffActor, booked: Appointment
) -> None:
    book(make_replacement(), office, at_riyadh(_tuesday(), 9))
    response = signed_in(supervisor, client).post(
        _url("supervisor-schedule"), {**_week_form(capacity="1"), "step": "check"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "data-cannot-save" in page
    assert 'value="save"' not in page


def test_a_broken_schedule_shows_the_error_summary(client: Client, supervisor: StaffActor) -> None:
    response = signed_in(supervisor, client).post(
        _url("supervisor-schedule"), {**_week_form(opens_at="16:00"), "step": "check"}
    )
    assert response.status_code == 400
    page = _text(response)
    assert "There is a problem" in page
    assert "The office must open before it closes." in page
    assert "<title>Error:" in response.content.decode()


def test_a_missing_time_on_an_open_day_is_an_error(client: Client, supervisor: StaffActor) -> None:
    response = signed_in(supervisor, client).post(
        _url("supervisor-schedule"), {**_week_form(opens_at=""), "step": "check"}
    )
    assert response.status_code == 400
    assert "Enter the time the office opens on Tuesday." in _text(response)


# --- Holidays ------------------------------------------------------------------------------------


def test_a_holiday_is_checked_then_added_and_cancels_the_days_bookings(
    client: Client, office: Office, supervisor: StaffActor, booked: Appointment
) -> None:
    staff = signed_in(supervisor, client)
    data = {"day": _tuesday().isoformat(), "name_ar": "إجازة", "name_en": "Office closed"}

    check = staff.post(_url("supervisor-holidays"), {**data, "step": "check"})

    assert check.status_code == 200
    assert f'data-affected-appointment="{booked.reference}"' in check.content.decode()
    assert not OfficeHoliday.objects.exists()
    token = re.search(r'name="token" value="([0-9a-f]+)"', check.content.decode())
    assert token is not None

    added = staff.post(
        _url("supervisor-holidays"), {**data, "step": "save", "token": token.group(1)}, follow=True
    )

    assert added.status_code == 200
    assert "The office is closed on" in _text(added)
    assert OfficeHoliday.objects.get().office == office
    booked.refresh_from_db()
    assert booked.state == AppointmentState.CANCELLED


def test_a_past_holiday_is_refused_on_the_form(client: Client, supervisor: StaffActor) -> None:
    response = signed_in(supervisor, client).post(
        _url("supervisor-holidays"),
        {"day": "2020-01-01", "name_ar": "إجازة", "name_en": "Closed", "step": "check"},
    )
    assert response.status_code == 400
    assert "A holiday can be added from tomorrow on." in _text(response)


def test_a_holiday_is_removed_through_a_confirmation_page(
    client: Client, office: Office, supervisor: StaffActor
) -> None:
    holiday = OfficeHoliday.objects.create(office=office, date=_tuesday(), name_ar="إجازة", name_en="Closed")
    staff = signed_in(supervisor, client)
    listing = staff.get(_url("supervisor-holidays"))
    assert _url("supervisor-holiday-remove", holiday.pk) in listing.content.decode()

    confirm = staff.get(_url("supervisor-holiday-remove", holiday.pk))
    assert confirm.status_code == 200
    assert OfficeHoliday.objects.exists()

    removed = staff.post(_url("supervisor-holiday-remove", holiday.pk), follow=True)
    assert removed.status_code == 200
    assert not OfficeHoliday.objects.exists()


def test_another_offices_holiday_cannot_be_removed(client: Client, supervisor: StaffActor) -> None:
    other = make_bookable_office()
    holiday = OfficeHoliday.objects.create(office=other, date=_tuesday(), name_ar="إجازة", name_en="Closed")
    staff = signed_in(supervisor, client)
    assert staff.get(_url("supervisor-holiday-remove", holiday.pk)).status_code == 404
    assert staff.post(_url("supervisor-holiday-remove", holiday.pk)).status_code == 404
    assert OfficeHoliday.objects.filter(pk=holiday.pk).exists()


def test_a_week_closed_every_day_is_refused(client: Client, supervisor: StaffActor) -> None:
    response = signed_in(supervisor, client).post(_url("supervisor-schedule"), {"step": "check"})
    assert response.status_code == 400
    assert "Open the office on at least one day." in _text(response)


def test_a_services_own_hours_are_listed_and_kept_when_saving(
    client: Client, office: Office, supervisor: StaffActor
) -> None:
    service = office.services.get()
    OfficeSchedule.objects.create(
        office=office, service=service, weekday=1, opens_at=dt.time(9), closes_at=dt.time(11), capacity=2
    )
    staff = signed_in(supervisor, client)
    page = staff.get(_url("supervisor-schedule")).content.decode()
    assert "data-kept-rows" in page
    assert "09:00–11:00" in page

    check = staff.post(_url("supervisor-schedule"), {**_week_form(capacity="4"), "step": "check"})
    saved = staff.post(
        _url("supervisor-schedule"), _hidden_fields(check.content.decode(), "data-schedule-save")
    )

    assert saved.status_code == 302
    assert OfficeSchedule.objects.filter(office=office, service=service).count() == 1
    assert OfficeSchedule.objects.get(office=office, service=None, weekday=2).capacity == 4


def test_the_csv_never_starts_a_cell_with_a_formula(client: Client) -> None:
    office = make_bookable_office(name_en="=HYPERLINK(1)")
    supervisor = make_staff(role=StaffRole.SUPERVISOR, office=office)
    body = signed_in(supervisor, client).get(_url("supervisor-dashboard-csv")).content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in body
    assert ",=HYPERLINK" not in body
