"""Passkeys in a real browser, in Arabic, with Chromium's virtual authenticator (DevTools protocol,
internal transport, resident keys and user verification): add a passkey on "Sign-in methods",
sign out, sign in with it alone, then confirm a loss report with it instead of a password and a
code; a number-matching approval confirmed with it. Screenshots go to test-artifacts/ (the
README's copies are in docs/screenshots/)."""

from __future__ import annotations

import datetime as dt
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Page, expect

from hawiya.approvals.models import ApprovalRequest, ApprovalStatus
from hawiya.approvals.tests.helpers import ask, register
from hawiya.core import clock
from hawiya.identity.models import Passkey, SecurityEvent
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, SIGN_IN_METHOD_SESSION_KEY
from hawiya.identity.tests.factories import person_of
from hawiya.losses.models import LossReport
from hawiya.registry.models import DocumentStatus

from .checklist import demo_citizen, form_check, signed_in
from .test_losses_journey import answer_questions

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _passkey_settings(settings: Any, live_server: Any) -> None:
    settings.DEMO = True
    # The live server's own origin and host: a passkey is bound to them.
    settings.HAWIYA_WEBAUTHN_ORIGINS = [live_server.url]
    settings.HAWIYA_WEBAUTHN_RP_ID = urlsplit(live_server.url).hostname


def virtual_authenticator(page: Page) -> tuple[Any, str]:
    """A platform authenticator that holds discoverable passkeys and verifies the person."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def _session_of(page: Page) -> Any:
    cookie = next(c for c in page.context.cookies() if c["name"] == django_settings.SESSION_COOKIE_NAME)
    return import_module(django_settings.SESSION_ENGINE).SessionStore(session_key=cookie["value"])


def sign_out(page: Page) -> None:
    page.locator("header summary").click()
    page.get_by_role("button", name="تسجيل الخروج").click()
    page.wait_for_url("**/ar/")


def test_add_a_passkey_sign_in_with_it_and_confirm_a_loss_report(live_server, open_page, artifacts):
    user, card = demo_citizen()
    page = signed_in(open_page, live_server, user, 1280, record=False)
    cdp, authenticator = virtual_authenticator(page)
    base = f"{live_server.url}/ar"

    # 1. Add a passkey from "Sign-in methods" (the sign-in just now is the fresh code it needs).
    page.goto(f"{base}/account/methods/")
    page.get_by_role("link", name="إضافة مفتاح مرور").click()
    assert page.url.endswith("/ar/account/methods/passkeys/add/")
    page.locator("form[data-passkey-create]").wait_for(state="visible", timeout=5000)  # passkeys.js ran
    assert page.locator("[data-passkey-unsupported]").is_hidden()  # Chromium has WebAuthn
    form_check(page)
    page.screenshot(path=str(artifacts / "passkeys-1-add-ar.png"), full_page=True)
    page.fill("#id_name", "هاتفي")
    page.get_by_role("button", name="إضافة مفتاح مرور").click()
    page.wait_for_url(f"{base}/account/methods/")
    passkey = Passkey.objects.get(user=user)
    assert passkey.name == "هاتفي"
    assert "هاتفي" in page.locator("[data-passkeys]").inner_text()
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
    page.screenshot(path=str(artifacts / "passkeys-2-methods-ar.png"), full_page=True)

    # 2. Sign out, then in again with the passkey alone: no password, no code. First through the
    # username field's autofill (conditional mediation: the virtual authenticator answers it at
    # once, as a person picking their passkey from the list would)...
    sign_out(page)
    page.goto(f"{base}/sign-in/")
    page.wait_for_url(f"{base}/account/")
    assert SecurityEvent.objects.filter(user=user, kind="sign_in", detail="passkey").count() == 1
    # ...then with the button, in a browser without the autofill.
    sign_out(page)
    page.add_init_script("delete PublicKeyCredential.isConditionalMediationAvailable;")
    page.goto(f"{base}/sign-in/")
    assert page.locator("#id_login").get_attribute("autocomplete") == "username webauthn"
    page.locator("[data-passkey-start]").wait_for(state="visible", timeout=5000)
    form_check(page)
    page.screenshot(path=str(artifacts / "passkeys-3-sign-in-ar.png"), full_page=True)
    page.get_by_role("button", name="الدخول بالبصمة أو الوجه").click()
    page.wait_for_url(f"{base}/account/")
    assert SecurityEvent.objects.filter(user=user, kind="sign_in", detail="passkey").count() == 2
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None
    session = _session_of(page)
    assert session[SIGN_IN_METHOD_SESSION_KEY] == "passkey"

    # 3. Report a loss; the sign-in is no longer recent, so the check page asks to confirm it is
    # you, and the passkey does it instead of a password and a code.
    page.goto(f"{base}/lost-documents/")
    page.get_by_role("button", name="متابعة").wait_for()
    answer_questions(page, "ar")
    session = _session_of(page)
    session[RECENT_AUTH_SESSION_KEY] = (clock.now() - dt.timedelta(minutes=30)).timestamp()
    session.save()
    page.reload()
    assert urlsplit(page.url).path == "/ar/reauthenticate/"
    form_check(page)
    page.screenshot(path=str(artifacts / "passkeys-4-confirm-ar.png"), full_page=True)
    page.get_by_role("button", name="التأكيد بالبصمة أو الوجه").click()
    page.wait_for_url(f"{base}/lost-documents/check/")
    page.get_by_role("button", name="نعم، سجّل الفقدان").click()
    report = LossReport.objects.get()
    page.wait_for_url(f"{base}/lost-documents/{report.reference}/")
    card.refresh_from_db()
    assert card.status == DocumentStatus.REPORTED_LOST
    page.screenshot(path=str(artifacts / "passkeys-5-reported-ar.png"), full_page=True)


def test_without_webauthn_the_pages_say_so_and_offer_no_button(live_server, open_page):
    user, _card = demo_citizen()
    page = signed_in(open_page, live_server, user, 360, record=False)
    page.add_init_script("delete window.PublicKeyCredential;")
    page.goto(f"{live_server.url}/ar/account/methods/passkeys/add/")
    page.wait_for_load_state("load")  # passkeys.js (deferred) has run
    expect(page.locator("[data-passkey-unsupported]")).to_be_visible()
    assert page.locator("form[data-passkey-create]").is_hidden()
    page.goto(f"{live_server.url}/en/sign-in/")
    page.wait_for_load_state("load")
    assert page.locator("[data-passkey-start]").is_hidden()


def test_a_number_matching_approval_is_confirmed_with_the_passkey(live_server, open_page, settings):
    settings.HAWIYA_APPROVALS_RATE_LIMIT = 1000
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",  # the party's secret
    ]
    user, _card = demo_citizen()
    page = signed_in(open_page, live_server, user, 360, record=False)
    virtual_authenticator(page)
    base = f"{live_server.url}/ar"
    page.goto(f"{base}/account/methods/passkeys/add/")
    page.locator("form[data-passkey-create]").wait_for(state="visible", timeout=5000)
    page.fill("#id_name", "هاتفي")
    page.get_by_role("button", name="إضافة مفتاح مرور").click()
    page.wait_for_url(f"{base}/account/methods/")

    party, _secret = register()
    row = ask(party, person_of(user).id_number)
    page.goto(f"{base}/account/approvals/")
    page.wait_for_load_state("load")
    page.locator(f"[data-approval='{row.public_id}'] [data-number='{row.number}']").click()
    page.wait_for_url(f"{base}/account/approvals/")
    page.locator(".hw-banner, [role=status]").first.wait_for(timeout=5000)
    assert ApprovalRequest.objects.get(pk=row.pk).status == ApprovalStatus.COMPLETED
    assert Passkey.objects.get(user=user).last_used_at is not None
