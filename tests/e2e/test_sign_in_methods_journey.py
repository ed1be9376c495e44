"""In Arabic, in a real browser: sign in on a phone with the authenticator app, sign in on a
second device with a text-message code, then end the second device's session from the first."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from hawiya.core import clock
from hawiya.identity import codes, services
from hawiya.identity.tests.factories import IP, PASSWORD, make_account

from .checklist import CONTINUE
from .test_identity_journey import latest_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _demo(settings):
    settings.DEMO = True


def sign_in_with_password(page: Page, base: str, login: str) -> None:
    page.goto(f"{base}/ar/sign-in/")
    page.fill("#id_login", login)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name=CONTINUE["ar"]).click()
    assert page.url.endswith("/ar/sign-in/code/")


def test_authenticator_sign_in_then_end_another_devices_session(live_server, open_page, artifacts):
    user = make_account()
    enrolment = services.authenticator_enrol(user=user)
    # Confirmed with the previous time step's code, so the current one is still unused for sign-in.
    earlier = clock.now() - dt.timedelta(seconds=codes.TOTP_INTERVAL)
    services.authenticator_confirm(
        user=user, code=codes.totp_code_at(enrolment.secret, earlier), ip=IP, user_agent="setup"
    )
    base = live_server.url

    phone = open_page(360)
    sign_in_with_password(phone, base, user.username)
    # With an authenticator app, the code page asks for its code first (no SMS is sent).
    assert phone.locator("h1").inner_text() == "أدخل الرمز الظاهر في تطبيق المصادقة"
    phone.fill("#id_code", codes.totp_code_at(enrolment.secret, clock.now()))
    phone.screenshot(path=str(artifacts / "identity-8-authenticator-code-ar.png"), full_page=True)
    phone.get_by_role("button", name=CONTINUE["ar"]).click()
    assert phone.url.endswith("/ar/account/")

    laptop = open_page(1280)
    sign_in_with_password(laptop, base, user.person.id_number)
    laptop.locator("details.hw-details summary").click()  # "Problems with the code?"
    laptop.get_by_role("link", name="استلام رمز برسالة نصية").click()
    laptop.wait_for_load_state()  # the click returns as the next page starts
    if laptop.get_by_role("button", name="إرسال الرمز").count():
        laptop.get_by_role("button", name="إرسال الرمز").click()
    laptop.fill("#id_code", latest_code(laptop, base))
    laptop.get_by_role("button", name=CONTINUE["ar"]).click()
    assert laptop.url.endswith("/ar/account/")

    phone.goto(f"{base}/ar/account/security/")
    other_devices = phone.locator(
        "main form[action*='/sessions/'][action$='/sign-out/'] button", has_text="تسجيل الخروج"
    )
    assert other_devices.count() == 1
    phone.screenshot(path=str(artifacts / "identity-9-two-devices-ar.png"), full_page=True)
    other_devices.first.click()
    assert phone.url.endswith("/ar/account/security/")
    # The same address before and after: wait for the new page, not the one the click left.
    expect(
        phone.locator("main form[action*='/sessions/'][action$='/sign-out/'] button", has_text="تسجيل الخروج")
    ).to_have_count(0)

    laptop.goto(f"{base}/ar/account/")
    assert "/ar/sign-in/" in laptop.url, "the revoked device must sign in again"
    phone.goto(f"{base}/ar/account/")
    assert phone.url.endswith("/ar/account/"), "the device that revoked stays signed in"
