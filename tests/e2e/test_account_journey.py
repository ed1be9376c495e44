"""My account in a real browser, in Arabic: profile → sign-in methods → authenticator app (TOTP
from the key under "I can't scan the code") → recovery codes → security; axe on every page."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from hawiya.identity.models import AuthenticatorApp, RecoveryCode
from hawiya.identity.tests.factories import person_of

from .checklist import PORTAL_VARIANTS, check, citizen_page, error_state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_account_journey_in_arabic(live_server, open_page, artifacts):
    page, user = citizen_page(open_page, live_server, 1280, with_documents=True)
    base = f"{live_server.url}/ar/account/"

    page.goto(base)
    assert page.locator("h1").inner_text() == "حسابي"
    assert "مرحبًا، محمد" in page.locator("main").inner_text()
    assert "RRRD2929" in page.locator("[data-national-address]").inner_text()
    check(page)
    page.screenshot(path=str(artifacts / "account-ar.png"), full_page=True)

    page.get_by_role("link", name="إظهار").click()
    assert person_of(user).id_number in page.locator("[data-id-number]").inner_text()

    page.get_by_role("link", name="طرق تسجيل الدخول").click()
    assert page.url.endswith("/ar/account/methods/")
    check(page)
    page.screenshot(path=str(artifacts / "account-methods-ar.png"), full_page=True)

    page.locator("[data-method=totp] a.hw-button").click()
    page.get_by_role("button", name="متابعة").click()
    assert page.url.endswith("/ar/account/methods/authenticator/set-up/")
    page.get_by_text("لا أستطيع مسح الرمز").click()
    secret = re.sub(r"\s", "", page.locator("[data-secret]").inner_text())
    check(page)
    page.screenshot(path=str(artifacts / "account-authenticator-ar.png"), full_page=True)

    # A wrong code first: the error summary and the inline error, then the right one.
    page.locator("#id_code").fill("000000")
    page.get_by_role("button", name="تفعيل تطبيق المصادقة").click()
    error_state(page, "ar")
    expect(page.locator(".hw-error-summary")).to_be_visible()
    assert page.locator("#id_code").get_attribute("aria-invalid") == "true"
    check(page)
    page.screenshot(path=str(artifacts / "account-authenticator-error-ar.png"), full_page=True)

    page.locator("#id_code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="تفعيل تطبيق المصادقة").click()
    assert page.url.endswith("/ar/account/methods/")
    assert "تم إعداد تطبيق المصادقة" in page.locator("main").inner_text()
    assert AuthenticatorApp.objects.get(user=user).confirmed_at is not None

    page.locator("[data-method=recovery] a.hw-button").click()
    page.get_by_role("button", name="إنشاء رموز الاسترداد").click()
    assert page.url.endswith("/ar/account/methods/recovery-codes/new/")
    expect(page.locator("[data-recovery-codes] li")).to_have_count(10)
    check(page)
    page.screenshot(path=str(artifacts / "account-recovery-codes-ar.png"), full_page=True)
    assert RecoveryCode.objects.filter(user=user).count() == 10
    page.reload()
    assert page.url.endswith("/ar/account/methods/")

    page.goto(f"{base}security/")
    assert page.locator("[data-event]").count() >= 3
    assert page.locator(".hw-account-card--current").count() == 1
    check(page)
    page.screenshot(path=str(artifacts / "account-security-ar.png"), full_page=True)


def test_account_page_in_english(live_server, open_page, artifacts):
    page, _user = citizen_page(open_page, live_server, 1280, with_documents=True)
    page.goto(f"{live_server.url}/en/account/")

    assert page.locator("h1").inner_text() == "My account"
    check(page, "en")
    page.screenshot(path=str(artifacts / "account-en.png"), full_page=True)


@pytest.mark.parametrize(("language", "width"), PORTAL_VARIANTS)
def test_account_pages_pass_axe(live_server, open_page, artifacts, language, width):
    page, _user = citizen_page(open_page, live_server, width, with_documents=True)
    for path in (
        "",
        "security/",
        "methods/",
        "methods/authenticator/",
        "methods/recovery-codes/",
        "mobile/",
        "password/",
    ):
        page.goto(f"{live_server.url}/{language}/account/{path}")
        check(page, language)
    # An error state: the empty form of the password page.
    page.get_by_role("button", name="متابعة" if language == "ar" else "Continue").click()
    expect(page.locator(".hw-error-summary")).to_be_visible()
    check(page, language)
    # Changing the mobile number: the code page (after step 1) and the office route.
    page.goto(f"{live_server.url}/{language}/account/mobile/")
    page.locator("#id_new_mobile").fill("0551234567")
    page.get_by_role("button", name="متابعة" if language == "ar" else "Continue").click()
    assert page.url.endswith(f"/{language}/account/mobile/current-code/")
    check(page, language)
    page.goto(f"{live_server.url}/{language}/account/mobile/at-an-office/")
    check(page, language)
    if width == 360 and language == "ar":
        page.goto(f"{live_server.url}/ar/account/")
        page.screenshot(path=str(artifacts / "account-ar-360.png"), full_page=True)
