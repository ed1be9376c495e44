"""Activation and sign-in in a real browser, in Arabic, with codes read from the demo inbox;
axe-core on the sign-in, code and activation pages (both languages, with their error states)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from hawiya.identity.tests.factories import make_citizen

from .checklist import (
    CONTINUE,
    ERROR_TITLE,
    PORTAL_VARIANTS,
    assert_accessible,
    assert_language,
    assert_no_horizontal_scroll,
    error_summary_focused,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough demo passphrase"
CODE = re.compile(r"\b([0-9]{6})\b")


@pytest.fixture(autouse=True)
def _demo(settings):
    settings.DEMO = True


def latest_code(page: Page, base: str, language: str = "ar") -> str:
    """Read the newest one-time code from the demo inbox, then come back."""
    back = page.url
    page.goto(f"{base}/{language}/dev/sms/")
    for message in page.locator(".hw-sms").all():
        if "one_time_code" in message.inner_text():
            match = CODE.search(message.locator("pre").inner_text())
            assert match is not None
            page.goto(back)
            return match.group(1)
    raise AssertionError("no code in the demo inbox")


def fill_activation(page: Page, person, calendar_label: str) -> None:
    born = person.date_of_birth
    page.fill("#id_id_number", person.id_number)
    page.get_by_label(calendar_label, exact=True).check()
    page.fill("#id_dob_day", str(born.day))
    page.fill("#id_dob_month", str(born.month))
    page.fill("#id_dob_year", str(born.year))
    page.fill("#id_mobile", "0" + person.mobile[4:])


def test_activate_sign_out_and_sign_in_in_arabic(live_server, open_page, artifacts):
    person = make_citizen()
    base = live_server.url
    page = open_page(360)

    page.goto(f"{base}/ar/activate/")
    assert page.evaluate("() => document.documentElement.dir") == "rtl"
    fill_activation(page, person, "ميلادي")
    page.screenshot(path=str(artifacts / "identity-1-activate-ar.png"), full_page=True)
    page.get_by_role("button", name=CONTINUE["ar"]).click()
    assert page.url.endswith("/ar/activate/code/")
    assert page.locator("h1").inner_text() == "تحقّق من هاتفك"
    page.screenshot(path=str(artifacts / "identity-2-activate-code-ar.png"), full_page=True)

    page.fill("#id_code", latest_code(page, base))
    page.get_by_role("button", name=CONTINUE["ar"]).click()
    assert page.url.endswith("/ar/activate/create/")
    page.fill("#id_username", "noura.demo")
    page.fill("#id_password", PASSWORD)
    page.check("#id_accepted_terms")
    page.screenshot(path=str(artifacts / "identity-3-create-account-ar.png"), full_page=True)
    page.get_by_role("button", name="إنشاء الحساب").click()
    assert page.url.endswith("/ar/activate/done/")
    assert "تم تفعيل حسابك" in page.locator("h1").inner_text()
    page.screenshot(path=str(artifacts / "identity-4-activated-ar.png"), full_page=True)

    # On a phone the greeting and sign-out are in the header's menu.
    page.locator("header summary", has_text="القائمة").click()
    assert "مرحبًا، محمد" in page.locator("header").inner_text()
    page.get_by_role("button", name="تسجيل الخروج").click()
    assert page.url.endswith("/ar/")
    expect(page.locator("header").get_by_role("link", name="تسجيل الدخول")).to_be_visible()

    page.goto(f"{base}/ar/sign-in/")
    page.fill("#id_login", person.id_number)
    page.fill("#id_password", PASSWORD)
    page.screenshot(path=str(artifacts / "identity-5-sign-in-ar.png"), full_page=True)
    page.get_by_role("button", name=CONTINUE["ar"]).click()
    assert page.url.endswith("/ar/sign-in/code/")
    page.locator("details.hw-details summary").click()
    page.screenshot(path=str(artifacts / "identity-6-sign-in-code-ar.png"), full_page=True)
    page.fill("#id_code", latest_code(page, base))
    page.get_by_role("button", name=CONTINUE["ar"]).click()
    assert page.url.endswith("/ar/account/")
    assert "مرحبًا، محمد" in page.locator("header .hw-menu__greeting").text_content()
    page.screenshot(path=str(artifacts / "identity-7-signed-in-ar.png"), full_page=True)


@pytest.mark.parametrize("path", ["sign-in/", "activate/", "password-reset/"])
@pytest.mark.parametrize(("language", "width"), PORTAL_VARIANTS)
def test_identity_pages_pass_axe_with_and_without_errors(
    live_server, open_page, artifacts, language, path, width
):
    page = open_page(width)
    page.goto(f"{live_server.url}/{language}/{path}")
    assert_language(page, language)
    assert_accessible(page)
    page.get_by_role("button", name=CONTINUE[language]).click()
    summary = page.locator("[data-error-summary]")
    # The answer is a new page: wait for it (a busy machine may not have it drawn at once).
    expect(summary).to_be_visible()
    error_summary_focused(page)
    expect(page).to_have_title(ERROR_TITLE[language])
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    name = path.strip("/")
    page.screenshot(path=str(artifacts / f"identity-{name}-error-{language}-{width}.png"), full_page=True)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_code_page_passes_axe_with_and_without_errors(live_server, open_page, artifacts, language):
    person = make_citizen()
    page = open_page(360)
    page.goto(f"{live_server.url}/{language}/activate/")
    fill_activation(page, person, "ميلادي" if language == "ar" else "Gregorian")
    page.get_by_role("button", name=CONTINUE[language]).click()
    assert page.url.endswith(f"/{language}/activate/code/")
    assert_accessible(page)
    page.screenshot(path=str(artifacts / f"identity-code-{language}-360.png"), full_page=True)
    page.get_by_role("button", name=CONTINUE[language]).click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    error_summary_focused(page)
    assert_accessible(page)
    page.screenshot(path=str(artifacts / f"identity-code-error-{language}-360.png"), full_page=True)


def test_sign_in_code_page_passes_axe(live_server, open_page, artifacts):
    from hawiya.identity.tests.factories import activate

    user = activate(make_citizen(), password=PASSWORD)
    page = open_page(1280)
    page.goto(f"{live_server.url}/ar/sign-in/")
    page.fill("#id_login", user.username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name=CONTINUE["ar"]).click()
    assert page.url.endswith("/ar/sign-in/code/")
    page.locator("details.hw-details summary").click()
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "identity-sign-in-code-ar-1280.png"), full_page=True)


def test_dev_sms_page_passes_axe(live_server, open_page, artifacts):
    person = make_citizen()
    page = open_page(360)
    page.goto(f"{live_server.url}/ar/activate/")
    fill_activation(page, person, "ميلادي")
    page.get_by_role("button", name=CONTINUE["ar"]).click()
    page.goto(f"{live_server.url}/ar/dev/sms/")
    assert page.locator(".hw-sms").count() == 1
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "identity-dev-sms-ar-360.png"), full_page=True)
