"""Details citizens notice, in a real browser: the accessibility tools without JavaScript (text
size and high contrast, checked with axe's AAA contrast rule), the print stylesheet on the
replacement's check-answers and request pages, the photo preview, the password toggle in both
languages and the favicon."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from hawiya.identity.tests.factories import make_account

from .checklist import (
    AAA_CONTRAST,
    LANGUAGES,
    SHELL_TARGETS,
    assert_aaa_contrast,
    assert_accessible,
    assert_no_horizontal_scroll,
    assert_targets,
    at,
    form_check,
    photo_file,
    signed_in,
)
from .test_requests_pages import citizen_with_a_lost_card

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOOLS = {
    "ar": {"large": "كبير", "larger": "أكبر", "contrast": "تباين عالٍ"},
    "en": {"large": "Large", "larger": "Larger", "contrast": "High contrast"},
}


@pytest.fixture
def page_without_js(open_page: Callable[[int], Page]) -> Callable[[int], Page]:
    """A page whose scripts never load (our own static files are the only ones): what a browser
    without JavaScript gets, while the test can still measure the page."""

    def make(width: int) -> Page:
        page = open_page(width)
        page.route("**/*.js", lambda route: route.abort())
        return page

    return make


def tool(page: Page, language: str, name: str) -> None:
    page.locator(".hw-display-tools").get_by_role("button", name=TOOLS[language][name], exact=True).click()
    page.wait_for_load_state()


def root_font_size(page: Page) -> str:
    return str(page.evaluate("() => getComputedStyle(document.documentElement).fontSize"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_text_size_and_contrast_work_without_javascript(live_server, page_without_js, artifacts, language):
    page = page_without_js(360)
    page.goto(f"{live_server.url}/{language}/services/report-lost-document/")
    assert root_font_size(page) == "16px"

    tool(page, language, "large")
    assert at(page, f"/{language}/services/report-lost-document/")
    assert urlsplit(page.url).fragment == "display-tools"
    assert page.evaluate("() => document.documentElement.className") == "hw-text-large"
    assert root_font_size(page) == "19.2px"
    pressed = page.locator(".hw-display-tools [aria-pressed=true]")
    assert pressed.inner_text().strip() == TOOLS[language]["large"]

    tool(page, language, "larger")
    assert root_font_size(page) == "22.4px"
    # The larger text still reflows on a phone, and stays with the person on other pages.
    for path in ["", "services/report-lost-document/", "sign-in/", "contact/"]:
        page.goto(f"{live_server.url}/{language}/{path}")
        assert page.evaluate("() => document.documentElement.className") == "hw-text-larger"
        assert_no_horizontal_scroll(page)
        assert_targets(page, SHELL_TARGETS)
        assert_accessible(page)
    page.screenshot(path=str(artifacts / f"display-larger-{language}-360.png"), full_page=True)

    tool(page, language, "contrast")
    assert page.evaluate("() => document.documentElement.className") == "hw-text-larger hw-contrast-high"
    page.screenshot(path=str(artifacts / f"display-contrast-{language}-360.png"), full_page=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_high_contrast_meets_the_enhanced_contrast_rule(live_server, open_page, language):
    page = open_page(1280)
    page.goto(f"{live_server.url}/{language}/")
    # Without the tool the DGA green fails AAA (4.75:1): the rule does find things to fix.
    assert Axe().run(page, options=AAA_CONTRAST).violations_count > 0
    tool(page, language, "contrast")
    for path in ["", "services/request-replacement/", "sign-in/", "accessibility/"]:
        page.goto(f"{live_server.url}/{language}/{path}")
        assert_aaa_contrast(page)
        assert_accessible(page)
    # An error state: the sign-in form sent empty.
    page.goto(f"{live_server.url}/{language}/sign-in/")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".hw-error-summary")).to_be_visible()
    assert_aaa_contrast(page)


def assert_prints_cleanly(page: Page) -> None:
    page.emulate_media(media="print")
    hidden = page.evaluate(
        """() => ['.hw-nav', '.hw-header__tools', '.hw-footer', '.hw-help', 'main button',
                  '.hw-summary__action']
            .flatMap((selector) => Array.from(document.querySelectorAll(selector)))
            .filter((el) => el.getClientRects().length > 0)
            .map((el) => el.outerHTML.slice(0, 60))"""
    )
    assert hidden == []
    colours = page.evaluate(
        """() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color,
                  getComputedStyle(document.querySelector('h1')).color]"""
    )
    assert colours == ["rgb(255, 255, 255)", "rgb(0, 0, 0)", "rgb(0, 0, 0)"]
    expect(page.locator("main h1")).to_be_visible()
    assert page.pdf(format="A4")[:4] == b"%PDF"
    page.emulate_media(media="screen")


@pytest.mark.parametrize("language", LANGUAGES)
def test_check_answers_shows_the_photo_and_request_pages_print_cleanly(
    live_server, open_page, artifacts, tmp_path, language
):
    user, _card = citizen_with_a_lost_card()
    page = signed_in(open_page, live_server, user)
    base = f"{live_server.url}/{language}/requests/"
    page.goto(f"{base}new/")
    page.locator("input[name=document]").first.check()
    page.locator("main form button[type=submit]").click()
    page.locator("main a.hw-button").click()
    page.locator("#id_address_confirmed").check()
    page.locator("#id_mobile_confirmed").check()
    page.locator("main form button[type=submit]").click()
    page.locator("#method-delivery").check()
    page.locator("main form button[type=submit]").click()
    page.locator("input[type=file]").set_input_files(str(photo_file(tmp_path)))
    page.locator("#id_white_background_declared").check()
    page.locator("main form button[type=submit]").click()
    assert at(page, f"/{language}/requests/new/check-answers/")

    preview = page.locator("img.hw-photo-preview")
    assert preview.is_visible()
    # The photo is fetched after the page: wait (bounded) until it has loaded, then read its width.
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert preview.evaluate("(img) => img.naturalWidth") == 600
    form_check(page, language)
    page.screenshot(path=str(artifacts / f"check-answers-photo-{language}-360.png"), full_page=True)
    assert_prints_cleanly(page)

    page.locator("main form button[type=submit]").click()
    assert "/requests/new/" not in page.url
    form_check(page, language)
    assert_prints_cleanly(page)
    page.emulate_media(media="print")
    page.screenshot(path=str(artifacts / f"request-print-{language}.png"), full_page=True)


@pytest.mark.parametrize(
    ("language", "show", "hide"),
    [("ar", "إظهار كلمة المرور", "إخفاء كلمة المرور"), ("en", "Show password", "Hide password")],
)
def test_the_password_can_be_shown_and_is_sent_hidden(live_server, open_page, language, show, hide):
    page = open_page(360)
    page.goto(f"{live_server.url}/{language}/sign-in/")
    password = page.locator("input[name=password]")
    password.fill("correct horse")
    toggle = page.get_by_role("button", name=show, exact=True)
    assert toggle.get_attribute("aria-controls") == password.get_attribute("id")
    toggle.click()
    assert password.get_attribute("type") == "text"
    expect(page.get_by_role("button", name=hide, exact=True)).to_be_visible()
    assert page.locator(".hw-password [aria-live]").inner_text() != ""
    form_check(page, language)
    # Sent as a password whatever was shown (our listener runs before this one stops the send).
    page.evaluate(
        """() => { const form = document.querySelector('input[name=password]').form;
                   form.addEventListener('submit', (event) => event.preventDefault());
                   form.requestSubmit(); }"""
    )
    assert password.get_attribute("type") == "password"
    expect(page.get_by_role("button", name=show, exact=True)).to_be_visible()


def test_without_javascript_there_is_no_toggle_and_the_field_is_a_password(live_server, page_without_js):
    page = page_without_js(360)
    page.goto(f"{live_server.url}/en/sign-in/")
    assert page.locator("input[name=password]").get_attribute("type") == "password"
    assert page.locator(".hw-password__toggle").count() == 0


def test_the_staff_sign_in_has_the_toggle_too(live_server, open_page):
    page = open_page(1280)
    page.goto(f"{live_server.url}/en/staff/sign-in/")
    expect(page.get_by_role("button", name="Show password", exact=True)).to_be_visible()


def test_the_favicon_is_served(live_server, open_page):
    page = open_page(360)
    response = page.goto(f"{live_server.url}/favicon.ico")
    assert response is not None
    assert response.status == 200
    assert response.header_value("content-type") in ("image/x-icon", "image/vnd.microsoft.icon")
    page.goto(f"{live_server.url}/ar/")
    href = page.locator("link[rel=icon][type='image/svg+xml']").get_attribute("href")
    svg = page.request.get(f"{live_server.url}{href}")
    assert svg.status == 200
    assert b"<svg" in svg.body()


def test_a_signed_in_citizen_keeps_the_tools_choice(live_server, open_page):
    page = signed_in(open_page, live_server, make_account())
    page.goto(f"{live_server.url}/ar/account/")
    tool(page, "ar", "contrast")
    assert at(page, "/ar/account/")
    assert page.evaluate("() => document.documentElement.className") == "hw-contrast-high"
    assert_aaa_contrast(page)
