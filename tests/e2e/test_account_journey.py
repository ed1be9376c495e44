"""My account in a real browser, in Arabic: profile → sign-in methods → authenticator app (TOTP
from the key under "I can't scan the code") → recovery codes → security; axe on every page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from playwright.sync_api import Page

from hawiya.core import clock
from hawiya.identity import services
from hawiya.identity.models import AuthenticatorApp, RecoveryCode, User
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_session_value
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.registry.models import DocumentKind
from hawiya.registry.tests.factories import make_address, make_document, make_lost_document

from .targets import LINK_TARGETS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
WIDTHS = [360, 1280]
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
TARGETS = ", ".join(
    ["main .hw-button", "main button", "main summary", ".hw-back-link", "main input", *LINK_TARGETS]
)


@pytest.fixture(autouse=True)
def _account_settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


def signed_in_page(
    open_page: Callable[[int], Page], live_server: Any, width: int, *, with_documents: bool = False
) -> tuple[Page, User]:
    """A browser signed in as a new citizen (with a National Address), recently authenticated;
    `with_documents` gives the citizen an ID card reported lost and a birth certificate (the
    account page's documents list), which other journeys make for themselves."""
    user = make_account()
    make_address(person_of(user))
    if with_documents:
        make_lost_document(holder=person_of(user))
        make_document(holder=person_of(user), kind=DocumentKind.BIRTH_CERTIFICATE)
    client = Client()
    client.force_login(user)
    session = client.session
    session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(clock.now())
    session.save()
    assert session.session_key
    services.user_session_record(user=user, session_key=session.session_key, ip="127.0.0.1", user_agent=UA)
    page = open_page(width)
    page.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}]
    )
    return page, user


def assert_accessible(page: Page) -> None:
    result = Axe().run(page, options=AXE_OPTIONS)
    assert result.violations_count == 0, result.generate_report()


def assert_no_horizontal_scroll(page: Page) -> None:
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"page is {scroll}px wide in a {inner}px viewport"


def assert_targets_at_least_44px(page: Page) -> None:
    small = page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector))
            .filter((el) => el.getClientRects().length > 0)
            .map((el) => [el.textContent.trim().slice(0, 40), Math.round(el.getBoundingClientRect().height)])
            .filter(([, height]) => height < 44)""",
        TARGETS,
    )
    assert small == [], f"targets under 44px: {small}"


def check(page: Page, language: str = "ar") -> None:
    dir_ = "rtl" if language == "ar" else "ltr"
    assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == [
        language,
        dir_,
    ]
    assert page.locator("h1").count() == 1
    assert_no_horizontal_scroll(page)
    assert_targets_at_least_44px(page)
    assert_accessible(page)


def test_account_journey_in_arabic(live_server, open_page, artifacts):
    page, user = signed_in_page(open_page, live_server, 1280, with_documents=True)
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
    assert page.title().startswith("خطأ:")
    assert page.locator(".hw-error-summary").is_visible()
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
    assert page.locator("[data-recovery-codes] li").count() == 10
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
    page, _user = signed_in_page(open_page, live_server, 1280, with_documents=True)
    page.goto(f"{live_server.url}/en/account/")

    assert page.locator("h1").inner_text() == "My account"
    check(page, "en")
    page.screenshot(path=str(artifacts / "account-en.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_account_pages_pass_axe(live_server, open_page, artifacts, language, width):
    page, _user = signed_in_page(open_page, live_server, width, with_documents=True)
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
    assert page.locator(".hw-error-summary").is_visible()
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
