"""The signed-in header on a 360 × 640 phone: compact, its menu usable with and without JavaScript.

The header (digital stamp strip included) must leave the page's question — its h1 and first field —
above the fold, and its menu must hold "My account", the notifications and sign-out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from .checklist import (
    assert_accessible,
    assert_no_horizontal_scroll,
    demo_citizen,
    demo_citizen_page,
    fonts_ready,
    sign_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 640}
# The stamp strip plus the header at 360 px; it was 260 px before the compact header.
HEADER_MAX = 170

MENU = {"ar": "القائمة", "en": "Menu"}
MY_ACCOUNT = {"ar": "حسابي", "en": "My account"}
SIGN_OUT = {"ar": "تسجيل الخروج", "en": "Sign out"}


def on_phone(open_page: Callable[[int], Page], live_server: Any) -> Page:
    page, _user, _card = demo_citizen_page(open_page, live_server, PHONE["width"])
    page.set_viewport_size(PHONE)
    return page


def header_bottom(page: Page) -> float:
    # Measured once the web font has loaded (font-display: swap draws a fallback first, whose
    # wider letters wrap the header: a flaky 194 px on a busy machine).
    return float(
        page.evaluate(
            """async () => {
                await document.fonts.ready;
                return document.querySelector('header.hw-header').getBoundingClientRect().bottom;
            }"""
        )
    )


def question_bottom(page: Page) -> float:
    """Where the h1 and the first field (with its label) end, from the top of the page."""
    return float(
        page.evaluate(
            """async () => {
                await document.fonts.ready;
                const field = document.querySelector(
                    'main input:not([type=hidden]), main select, main textarea');
                const boxes = [document.querySelector('main h1'), field, ...(field.labels || [])]
                    .map((el) => el.getBoundingClientRect().bottom + window.scrollY);
                return Math.max(...boxes);
            }"""
        )
    )


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_signed_in_header_is_compact_and_the_question_is_above_the_fold(
    live_server, open_page, artifacts, language
):
    page = on_phone(open_page, live_server)
    page.goto(f"{live_server.url}/{language}/lost-documents/")
    fonts_ready(page)

    height = header_bottom(page)
    print(f"header height at 360 px ({language}): {height:.0f} px")
    page.screenshot(path=str(artifacts / f"header-compact-{language}-360.png"))
    assert height <= HEADER_MAX, f"the header ends at {height:.0f} px"
    assert question_bottom(page) <= PHONE["height"], "the question is below the fold"
    assert_no_horizontal_scroll(page)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_menu_opens_and_holds_my_account_notifications_and_sign_out(live_server, open_page, language):
    page = on_phone(open_page, live_server)
    page.goto(f"{live_server.url}/{language}/")
    menu = page.locator("header details.hw-menu")
    summary = menu.locator("summary")

    assert page.get_by_role("link", name=MY_ACCOUNT[language]).is_hidden()
    assert summary.inner_text().strip() == MENU[language]
    assert menu.evaluate("(el) => el.open") is False
    summary.click()

    assert menu.evaluate("(el) => el.open") is True
    assert page.locator("header").get_by_role("link", name=MY_ACCOUNT[language]).is_visible()
    expect(page.locator("header [data-inbox-link]")).to_be_visible()
    assert page.locator("header").get_by_role("button", name=SIGN_OUT[language]).is_visible()
    assert_no_horizontal_scroll(page)
    assert_accessible(page)

    # Escape closes it and gives focus back to the summary (a keyboard user is not lost).
    page.keyboard.press("Escape")
    assert menu.evaluate("(el) => el.open") is False
    assert page.evaluate("() => document.activeElement.tagName") == "SUMMARY"

    summary.click()
    page.locator("header").get_by_role("link", name=MY_ACCOUNT[language]).click()
    assert page.url.endswith(f"/{language}/account/")


def test_the_menu_works_without_javascript(live_server, browser: Callable[..., Browser], artifacts):
    user, _card = demo_citizen()
    context = browser().new_context(viewport=PHONE, java_script_enabled=False, locale="ar-SA")
    try:
        sign_in(context, live_server, user)
        page = context.new_page()
        page.goto(f"{live_server.url}/ar/")
        assert header_bottom(page) <= HEADER_MAX
        page.locator("header summary", has_text=MENU["ar"]).click()
        page.screenshot(path=str(artifacts / "header-menu-open-ar-360-nojs.png"))
        page.locator("header").get_by_role("button", name=SIGN_OUT["ar"]).click()
        assert page.url.endswith("/ar/")
        expect(page.locator("header").get_by_role("link", name="تسجيل الدخول")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("language", ["ar", "en"])
def test_track_my_requests_goes_to_the_list_when_signed_in(live_server, open_page, language):
    name = {"ar": "متابعة طلباتي", "en": "Track my requests"}[language]
    page = on_phone(open_page, live_server)
    page.goto(f"{live_server.url}/{language}/")

    # On a phone the main menu is in the header's menu; on a desktop it is the row under the bar.
    page.locator("header details.hw-menu summary").click()
    page.locator("header details.hw-menu").get_by_role("link", name=name).click()
    assert page.url.endswith(f"/{language}/requests/")

    page.set_viewport_size({"width": 1280, "height": 740})
    page.goto(f"{live_server.url}/{language}/")
    assert page.locator("header details.hw-menu nav").is_hidden()
    page.locator("nav.hw-nav").get_by_role("link", name=name).click()
    assert page.url.endswith(f"/{language}/requests/")

    # The home page's card goes there too.
    page.goto(f"{live_server.url}/{language}/")
    page.locator("#service-track-requests-cta").click()
    assert page.url.endswith(f"/{language}/requests/")
