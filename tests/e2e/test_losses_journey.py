"""Report a lost document in a real browser, in Arabic: the service page → sign in (password and
SMS code) → the questions (with an error state) → check answers → "Yes" → the confirmation → the
notification count in the header → the notification centre. axe-core on every page, in Arabic
and English, at 360 and 1280 px."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from hawiya.core import clock
from hawiya.identity.tests.factories import PASSWORD, last_code, make_account, person_of
from hawiya.losses.models import LossReport
from hawiya.registry.models import DocumentStatus

from .checklist import (
    CONTINUE,
    PORTAL_VARIANTS,
    demo_citizen,
    demo_citizen_page,
    error_state,
    error_summary_focused,
    form_check,
    signed_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _demo(settings: Any) -> None:
    settings.DEMO = True


def answer_questions(page: Page, language: str, *, screenshots: Any = None) -> None:
    """From the first question to the check page (the first page's error state on the way)."""
    go = CONTINUE[language]
    page.get_by_role("button", name=go).click()
    error_state(page, language)
    error_summary_focused(page)
    form_check(page, language)
    if screenshots:
        page.screenshot(path=str(screenshots / f"losses-1-error-{language}.png"), full_page=True)
    page.locator("input[name=documents]").first.check()
    page.get_by_role("button", name=go).click()

    day = clock.today() - dt.timedelta(days=3)
    form_check(page, language)
    page.fill("#id_day", str(day.day))
    page.fill("#id_month", str(day.month))
    page.fill("#id_year", str(day.year))
    if screenshots:
        page.screenshot(path=str(screenshots / f"losses-2-when-{language}.png"), full_page=True)
    page.get_by_role("button", name=go).click()

    form_check(page, language)
    page.locator("#id_place").check()
    page.fill("#id_city", "الرياض" if language == "ar" else "Riyadh")
    page.get_by_role("button", name=go).click()

    form_check(page, language)
    page.fill(
        "#id_circumstances",
        "فقدتها في سوق المدينة مساء أمس." if language == "ar" else "Lost it at the market.",
    )
    page.get_by_role("button", name=go).click()

    form_check(page, language)
    page.locator("#id_declaration").check()
    if screenshots:
        page.screenshot(path=str(screenshots / f"losses-3-declaration-{language}.png"), full_page=True)
    page.get_by_role("button", name=go).click()
    # Waits for the check page's load too: a reload issued while it was still committing failed in
    # CI with "Not attached to an active page".
    page.wait_for_url(f"**/{language}/lost-documents/check/")


def test_report_a_lost_id_card_in_arabic(live_server, open_page, artifacts):
    user, card = demo_citizen()
    person = person_of(user)
    page = open_page(1280)
    base = live_server.url

    page.goto(f"{base}/ar/services/report-lost-document/")
    page.get_by_role("button", name="ابدأ الآن").click()
    # Signing in first, with the password and a code by text message.
    assert "/ar/sign-in/" in page.url
    page.fill("#id_login", person.id_number)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name=CONTINUE["ar"]).click()
    assert page.url.endswith("/ar/sign-in/code/")
    page.fill("#id_code", last_code(person.mobile))
    page.get_by_role("button", name=CONTINUE["ar"]).click()
    assert page.url.endswith("/ar/lost-documents/")
    assert page.locator("h1").inner_text() == "ما الوثائق التي فقدتها؟"
    form_check(page)
    page.screenshot(path=str(artifacts / "losses-0-documents-ar.png"), full_page=True)

    answer_questions(page, "ar", screenshots=artifacts)

    assert page.locator("h1").inner_text() == "هل تريد تسجيل فقدان هذه الوثيقة؟"
    assert person.id_number in page.locator("[data-id-number]").inner_text()
    assert person.full_name_ar in page.locator("main").inner_text()
    assert card.serial_number in page.locator("main").inner_text()
    assert "بشكل نهائي" in page.locator("[data-warning]").inner_text()
    form_check(page)
    page.screenshot(path=str(artifacts / "losses-4-check-ar.png"), full_page=True)

    page.get_by_role("button", name="نعم، سجّل الفقدان").click()

    report = LossReport.objects.get()
    assert page.url.endswith(f"/ar/lost-documents/{report.reference}/")
    assert report.reference in page.locator(".hw-panel").inner_text()
    card.refresh_from_db()
    assert card.status == DocumentStatus.REPORTED_LOST
    assert page.locator("[data-inbox-count]").text_content() == "1"
    form_check(page)
    page.screenshot(path=str(artifacts / "losses-5-confirmation-ar.png"), full_page=True)

    page.locator("header summary").click()  # the notifications are in the header's menu
    page.locator("[data-inbox-link]").click()
    assert page.url.endswith("/ar/notifications/")
    assert report.reference in page.locator(".hw-inbox").inner_text()
    form_check(page)
    page.screenshot(path=str(artifacts / "losses-6-notifications-ar.png"), full_page=True)
    page.get_by_role("button", name="تعليم الكل كمقروء").click()
    expect(page.locator("[data-inbox-count]")).to_have_count(0)

    # The link in the notification leads back to the report; the receipt downloads as a PDF.
    page.get_by_role("link", name="عرض التفاصيل").click()
    assert page.url.endswith(f"/ar/lost-documents/{report.reference}/")
    receipt = page.request.get(f"{base}/ar/lost-documents/{report.reference}/receipt.pdf")
    assert receipt.status == 200
    assert receipt.headers["content-type"] == "application/pdf"


@pytest.mark.parametrize(("language", "width"), PORTAL_VARIANTS)
def test_losses_pages_pass_axe(live_server, open_page, artifacts, language, width):
    page, _user, _card = demo_citizen_page(open_page, live_server, width)
    base = f"{live_server.url}/{language}"

    page.goto(f"{base}/lost-documents/")
    form_check(page, language)
    answer_questions(page, language)
    form_check(page, language)
    if width == 360:
        page.screenshot(path=str(artifacts / f"losses-check-{language}-360.png"), full_page=True)
    # An error state on a later page: the date page sent empty.
    page.goto(f"{base}/lost-documents/when/?change=1")
    page.fill("#id_day", "")
    page.fill("#id_month", "")
    page.fill("#id_year", "")
    page.get_by_role("button", name=CONTINUE[language]).click()
    expect(page.locator(".hw-error-summary")).to_be_visible()
    form_check(page, language)

    page.goto(f"{base}/lost-documents/check/")
    page.locator("form button[type=submit]").filter(has_text="نعم" if language == "ar" else "Yes").click()
    assert "/lost-documents/LR" in page.url
    form_check(page, language)
    if width == 360:
        page.screenshot(path=str(artifacts / f"losses-confirmation-{language}-360.png"), full_page=True)
    page.goto(f"{base}/notifications/")
    form_check(page, language)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_empty_states_pass_axe(live_server, open_page, language):
    page = signed_in(open_page, live_server, make_account(), recently=False, record=False)
    for path in ("lost-documents/", "notifications/"):
        page.goto(f"{live_server.url}/{language}/{path}")
        form_check(page, language)
