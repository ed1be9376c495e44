"""The officer's journey in a real browser, with Chromium's fake camera: sign in (password +
authenticator code), check in a citizen's appointment booked for today, capture the photo with
the camera and the fingerprints with the demo scanner, approve, print, mark ready; then the
citizen, signed in on the portal, sees "ready for collection" on their request page.

axe (ar/en × 1280/360) runs on the day page, the case page, the biometrics page and the print
queue; screenshots in both languages go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, Playwright, expect

from hawiya.appointments.tests.factories import at_riyadh, book, make_replacement
from hawiya.casework.tests.factories import STAFF_PASSWORD, open_office, staff_user
from hawiya.core import clock
from hawiya.identity.models import AuthenticatorApp
from hawiya.identity.tests.factories import person_of
from hawiya.replacements.models import Replacement

from .checklist import SECRET, citizen_page, error_state, sign_in, staff_check
from .conftest import CHROMIUM, CHROMIUM_ARGS, watch_policy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FAKE_CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"


@pytest.fixture
def camera_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with a fake camera that needs no permission prompt (its own instance: the shared
    browser of conftest has no fake devices)."""
    if not CHROMIUM.exists():
        pytest.fail("install Debian's chromium: apt-get install chromium")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + FAKE_CAMERA_ARGS)
    yield browser
    browser.close()


def test_officer_checks_in_captures_approves_prints_and_the_citizen_sees_ready(
    live_server: Any, camera_browser: Browser, open_page: Any, artifacts: Path
) -> None:
    office = open_office(name_ar="مكتب الأحوال المدنية بالملز", name_en="Civil Affairs Office, Al Malaz")
    officer = staff_user(office=office)
    AuthenticatorApp.objects.create(user=officer, secret=SECRET, confirmed_at=clock.now())
    portal, citizen = citizen_page(open_page, live_server, 1280)
    replacement = make_replacement(applicant=person_of(citizen))
    appointment = book(
        replacement, office, at_riyadh(clock.today(), 10), at=clock.now() - dt.timedelta(days=2)
    )
    base = f"{live_server.url}/en/staff"
    context = camera_browser.new_context(viewport={"width": 1280, "height": 740}, locale="en-GB")
    violations = watch_policy(context)
    page = context.new_page()

    # Sign in: username and password, then the authenticator app's code.
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Username").fill(officer.username)
    page.get_by_label("Password", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Enter the 6-digit code from your authenticator app").fill(pyotp.TOTP(SECRET).now())
    page.get_by_role("button", name="Sign in").click()
    assert page.url == f"{base}/day/"
    assert appointment.reference in page.locator("[data-day-table]").inner_text()
    expect(page.locator(".hw-staff-marker")).to_be_visible()
    # Check in with the ticket's QR content (the appointment reference), the box first on the page.
    page.get_by_label("Check in a visitor").fill(appointment.reference)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/cases/{replacement.reference}/")
    assert page.locator("[data-primary-action]").get_attribute("data-primary-action") == "biometrics"

    # Biometrics: the fake camera's frame into the file input, the demo scanner on save.
    page.get_by_role("link", name="Capture biometrics").click()
    page.locator("[data-camera]").wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('[data-camera-video]').videoWidth > 0")
    page.get_by_role("button", name="Take photo").click()
    page.wait_for_function("() => document.querySelector('input[name=photo]').files.length === 1")
    page.get_by_role("button", name="Scan fingerprints and save").click()
    page.wait_for_url(f"{base}/cases/{replacement.reference}/")
    assert page.locator("[data-primary-action]").get_attribute("data-primary-action") == "approve"

    # Approve (issues the new document), then print from the queue.
    page.get_by_role("button", name="Approve and issue the new document").click()
    page.wait_for_url(f"{base}/cases/{replacement.reference}/")
    expect(page.locator("[data-new-document]")).to_be_visible()
    page.goto(f"{base}/print/")
    row = page.locator(f'[data-queue-row="{replacement.reference}"]')
    assert row.is_visible()
    staff_check(page, "en")
    page.screenshot(path=str(artifacts / "backoffice-print-queue-en.png"), full_page=True)
    row.get_by_role("button", name="Mark printed").click()
    assert "is marked printed" in page.locator("main").inner_text()

    # Ready for collection: the holder gets a handover code by SMS.
    page.goto(f"{base}/cases/{replacement.reference}/")
    page.get_by_role("button", name="Mark ready for collection").click()
    page.wait_for_url(f"{base}/cases/{replacement.reference}/")
    page.screenshot(path=str(artifacts / "backoffice-case-en.png"), full_page=True)
    assert Replacement.objects.get(pk=replacement.pk).state == "ready_for_collection"

    # The citizen sees it on their request page, in both languages.
    portal.goto(f"{live_server.url}/ar/requests/{replacement.reference}/")
    tag = portal.locator("[data-state]").first
    assert tag.get_attribute("data-state") == "ready_for_collection"
    portal.screenshot(path=str(artifacts / "backoffice-citizen-ready-ar.png"), full_page=True)
    portal.goto(f"{live_server.url}/en/requests/{replacement.reference}/")
    assert "Ready for collection" in portal.locator("[data-state]").first.inner_text()
    portal.screenshot(path=str(artifacts / "backoffice-citizen-ready-en.png"), full_page=True)

    # The officer's pages in Arabic, and axe on each in both languages at both widths.
    pages = {
        "day": "/staff/day/",
        "case": f"/staff/cases/{replacement.reference}/",
        "print-queue": "/staff/print/",
    }
    for language in ("ar", "en"):
        for width in (1280, 360):
            page.set_viewport_size({"width": width, "height": 740})
            for name, path in pages.items():
                page.goto(f"{live_server.url}/{language}{path}")
                staff_check(page, language)
                if width == 1280:
                    page.screenshot(path=str(artifacts / f"backoffice-{name}-{language}.png"), full_page=True)
    context.close()
    # The camera, the staff pages and axe ran without the Content-Security-Policy blocking anything.
    assert violations == []


def test_the_biometrics_page_passes_axe_with_its_error_state(
    live_server: Any, camera_browser: Browser, artifacts: Path
) -> None:
    from hawiya.casework.tests.factories import actor_of, advance, booked_today

    office = open_office()
    officer = staff_user(office=office)
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="checked_in")
    context = camera_browser.new_context(viewport={"width": 1280, "height": 740})
    sign_in(context, live_server, officer)
    violations = watch_policy(context)
    page = context.new_page()
    for language in ("ar", "en"):
        for width in (1280, 360):
            page.set_viewport_size({"width": width, "height": 740})
            page.goto(f"{live_server.url}/{language}/staff/cases/{visit.replacement.reference}/biometrics/")
            page.locator("[data-camera]").wait_for(state="visible")
            staff_check(page, language)
            if width == 1280:
                page.screenshot(path=str(artifacts / f"backoffice-biometrics-{language}.png"), full_page=True)
    # Saving without a photo: the error summary, focused, and still accessible.
    page.locator("[data-biometrics-form] button[type=submit]").click()
    error_state(page, "en")
    staff_check(page, "en")
    context.close()
    assert violations == []
