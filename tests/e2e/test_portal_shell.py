"""The portal shell in a real browser: direction, language toggle, reflow, targets and axe-core."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from .checklist import (
    SHELL_TARGETS,
    WIDTHS,
    assert_accessible,
    assert_language,
    assert_no_horizontal_scroll,
    assert_targets,
    html_attrs,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Every portal page (docs/ui.md §4: axe on every page, both languages, both widths).
PAGES = {
    "home": "",
    "start": "services/request-replacement/",
    "start-report-lost-document": "services/report-lost-document/",
    "start-appointments": "services/appointments/",
    "start-track-requests": "services/track-requests/",
    "privacy": "privacy/",
    "cookies": "cookies/",
    "accessibility": "accessibility/",
    "terms": "terms/",
    "contact": "contact/",
    "not-found": "services/no-such-service/",
    # An error page of the staff area keeps the staff shell (the shared error templates).
    "staff-not-found": "staff/no-such-page/",
}


def body_type(page: Page) -> list[object]:
    """Body size, line height, and whether the vendored IBM Plex Sans Arabic actually loaded."""
    return page.evaluate(
        """async () => {
            await document.fonts.ready;
            const style = getComputedStyle(document.body);
            const loaded = Array.from(document.fonts).some(
                (face) => face.family.includes("IBM Plex Sans Arabic") && face.status === "loaded"
            );
            return [style.fontSize, style.lineHeight, loaded];
        }"""
    )


def test_home_in_arabic_toggles_to_the_same_page_in_english(live_server, open_page, artifacts):
    page = open_page(360)
    page.goto(f"{live_server.url}/ar/")

    assert html_attrs(page) == ["ar", "rtl"]
    assert page.locator("html[dir=rtl]").count() == 1
    assert_no_horizontal_scroll(page)
    assert body_type(page) == ["18px", "30.6px", True]
    page.screenshot(path=str(artifacts / "home-ar-360.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 740})
    page.screenshot(path=str(artifacts / "home-ar-1280.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()

    assert html_attrs(page) == ["en", "ltr"]
    assert urlsplit(page.url).path == "/en/"
    assert page.locator("h1").inner_text() == "Civil affairs services online"
    assert_no_horizontal_scroll(page)
    assert body_type(page) == ["16px", "24px", True]
    page.screenshot(path=str(artifacts / "home-en-360.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 740})
    # Four cards in one row, all the same height, each with its CTA inside.
    boxes = page.locator(".hw-card").evaluate_all(
        "(cards) => cards.map((card) => [Math.round(card.getBoundingClientRect().top),"
        " Math.round(card.getBoundingClientRect().height)])"
    )
    assert len(boxes) == 4
    assert len({top for top, _ in boxes}) == 1
    assert len({height for _, height in boxes}) == 1
    page.screenshot(path=str(artifacts / "home-en-1280.png"), full_page=True)

    # The toggle remembered English: the bare address now opens the English home page.
    page.goto(f"{live_server.url}/")
    assert urlsplit(page.url).path == "/en/"


def test_toggle_on_a_start_page_keeps_the_page_and_query(live_server, open_page):
    page = open_page(1280)
    page.goto(f"{live_server.url}/en/services/appointments/?from=home")

    page.get_by_role("link", name="العربية").click()
    page.wait_for_load_state()

    parts = urlsplit(page.url)
    assert (parts.path, parts.query) == ("/ar/services/appointments/", "from=home")
    assert html_attrs(page) == ["ar", "rtl"]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("name", list(PAGES))
def test_pages_pass_axe_reflow_and_target_checks(live_server, open_page, artifacts, name, language, width):
    page = open_page(width)
    response = page.goto(f"{live_server.url}/{language}/{PAGES[name]}")

    assert response is not None
    assert response.status == (404 if name.endswith("not-found") else 200)
    expect(page.locator(".hw-staff-marker")).to_have_count(1 if name.startswith("staff") else 0)
    assert_language(page, language)
    assert_no_horizontal_scroll(page)
    assert_targets(page, SHELL_TARGETS)
    assert_accessible(page)
    if name != "home":
        page.screenshot(path=str(artifacts / f"{name}-{language}-{width}.png"), full_page=True)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_no_horizontal_scroll_at_320(live_server, open_page, language):
    page = open_page(320)
    for path in ["", "services/report-lost-document/", "cookies/", "contact/"]:
        page.goto(f"{live_server.url}/{language}/{path}")
        assert_no_horizontal_scroll(page)


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(live_server, open_page):
    page = open_page(360)
    page.goto(f"{live_server.url}/ar/")

    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.getAttribute('href')")
    assert focused == "#main-content"
    assert page.evaluate("() => document.activeElement.getBoundingClientRect().height") >= 44
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main-content"


@pytest.mark.parametrize(
    ("language", "wording"),
    [
        ("ar", "خدمة تجريبية — ليست موقعًا حكوميًا رسميًا"),
        ("en", "Demo service — not an official government website"),
    ],
)
def test_demo_mode_strip(live_server, open_page, artifacts, settings, language, wording):
    settings.DEMO = True
    page = open_page(360)
    page.goto(f"{live_server.url}/{language}/")

    assert page.locator(".hw-stamp").inner_text().strip() == wording
    assert page.locator(".hw-stamp details").count() == 0
    assert_accessible(page)
    page.screenshot(path=str(artifacts / f"home-{language}-360-demo.png"), full_page=True)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_official_strip_expands_how_do_you_know(live_server, open_page, artifacts, settings, language):
    settings.DEMO = False
    page = open_page(360)
    page.goto(f"{live_server.url}/{language}/")

    page.locator(".hw-stamp summary").click()

    assert page.locator(".hw-stamp details").evaluate("(el) => el.open")
    expect(page.locator(".hw-stamp__body")).to_be_visible()
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    page.screenshot(path=str(artifacts / f"stamp-open-{language}-360.png"))


def test_a_missing_chromium_fails_with_the_install_hint(browser):
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install chromium"):
        browser(Path("/nonexistent/chromium"))
