"""Appointments in a real browser: book in Arabic (office → suggested date → slot → check →
confirmation), reschedule, and axe on every page in Arabic and English at 360 and 1280 px,
including the error state of the slot grid."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from hawiya.appointments.models import Appointment, AppointmentState
from hawiya.appointments.tests.factories import at_riyadh, book, make_bookable_office, make_replacement
from hawiya.identity.tests.factories import person_of

from .checklist import PORTAL_VARIANTS, check, citizen_page, error_state, working_day

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_book_and_reschedule_an_appointment_in_arabic(live_server, open_page, artifacts):
    page, user = citizen_page(open_page, live_server, 1280)
    office = make_bookable_office(
        name_ar="مكتب الأحوال المدنية بالملز", name_en="Civil Affairs Office, Al Malaz"
    )
    replacement = make_replacement(applicant=person_of(user))
    base = f"{live_server.url}/ar/appointments/"

    page.goto(f"{base}new/{replacement.reference}/")
    assert page.locator("h1").inner_text() == "حجز موعد"
    check(page)
    page.get_by_label("مكتب الأحوال المدنية بالملز").check()
    page.get_by_role("button", name="عرض التواريخ").click()
    # Counted once the dates' page has loaded: the click returns as it starts.
    expect(page.locator("[data-suggested-dates] a")).to_have_count(5)
    check(page)

    day = working_day(5)
    page.goto(f"{base}new/{replacement.reference}/?region=riyadh&city=Riyadh&office={office.pk}&day={day}")
    page.get_by_role("button", name="متابعة").click()  # no time chosen
    error_state(page, "ar")
    check(page)
    page.screenshot(path=str(artifacts / "appointments-grid-error-ar.png"), full_page=True)

    page.locator("input[name=slot][value*='T10:00']").check()
    page.get_by_role("button", name="متابعة").click()
    assert page.locator("h1").inner_text() == "تحقق من بيانات الموعد"
    check(page)
    page.get_by_role("button", name="حجز هذا الموعد").click()
    appointment = Appointment.objects.get(replacement=replacement)
    expect(page.locator(".hw-panel")).to_be_visible()
    assert appointment.reference in page.locator("[data-reference]").inner_text()
    check(page)
    page.screenshot(path=str(artifacts / "appointments-confirmation-ar.png"), full_page=True)

    page.get_by_role("link", name="تغيير التاريخ أو الوقت أو المكتب").click()
    expect(page.locator("[data-current-appointment]")).to_be_visible()
    check(page)
    page.goto(
        f"{base}{appointment.reference}/reschedule/?region=riyadh&city=Riyadh&office={office.pk}&day={day}"
    )
    page.locator("input[name=slot][value*='T11:00']").check()
    page.get_by_role("button", name="متابعة").click()
    page.get_by_role("button", name="تغيير الموعد").click()
    appointment.refresh_from_db()
    assert appointment.slot.starts_at == at_riyadh(day, 11)
    assert appointment.state == AppointmentState.BOOKED
    assert "11:00" in page.locator("[data-when]").inner_text()


@pytest.mark.parametrize(("language", "width"), PORTAL_VARIANTS)
def test_appointment_pages_are_accessible(live_server, open_page, language, width):
    page, user = citizen_page(open_page, live_server, width)
    office = make_bookable_office()
    # One ID card per person: the chooser is shown through the reschedule page (the same page).
    booked = book(make_replacement(applicant=person_of(user)), office, at_riyadh(working_day(5), 9))
    base = f"{live_server.url}/{language}/appointments/"

    page.goto(f"{base}{booked.reference}/reschedule/?office={office.pk}&day={working_day(3)}")
    check(page, language)
    page.locator("#times button[type=submit]").click()  # the error state
    expect(page.locator(".hw-error-summary")).to_be_visible()
    check(page, language)
    page.goto(f"{base}{booked.reference}/")
    check(page, language)
    page.goto(f"{base}{booked.reference}/cancel/")
    check(page, language)
