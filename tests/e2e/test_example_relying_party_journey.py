"""The example bank (examples/relying_party, Authlib on Flask) signs a citizen in through Hawiya in
Arabic: the bank's page, Hawiya's sign-in (password, then the code from the demo inbox), the
consent screen naming the bank and what it will receive, the bank's page of claims (the ID number
masked), then the bank's sign-out through Hawiya's end-session endpoint and back; and, signed in
the same way, the citizen removing the bank's access from Hawiya's Connected services page.
"Approve with Hawiya app": the bank asks, shows the number, the citizen taps it on Hawiya's
approvals page on a 360-px phone in Arabic, and the bank's page (its script polling) shows
"approved". And a card reported lost in Hawiya reaches the bank's security-event receiver, pushed
by Hawiya's task worker.

The example bank registers no back-channel logout URI, so it is not told of the removal (nor of
a sign-out elsewhere): its page cannot show it, and these tests do not look for it."""

from __future__ import annotations

import re
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.core.management import call_command
from oauth2_provider.models import Application
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from hawiya.identity.models import RelyingParty, User
from hawiya.identity.security_signals import DOCUMENT_REPORTED_LOST
from hawiya.identity.tests.factories import PASSWORD, make_account, person_of
from hawiya.registry.tests.factories import make_address, make_document

from .checklist import check, citizen_page
from .test_identity_journey import CONTINUE, latest_code
from .test_lost_documents_journeys import Shots, report_the_loss

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from relying_party.app import create_app

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _demo(settings, live_server):
    settings.DEMO = True
    settings.HAWIYA_SMS_CLIENT = "demo"
    # Accounts' passwords with a fast hasher; client secrets keep theirs (CLIENT_SECRET_HASHER).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    # The issuer is wherever the live server listens (discovery, ID tokens' iss).
    settings.HAWIYA_OIDC_ISSUER = live_server.url
    # The bank calls back to a loopback http address, which Hawiya allows in demo mode only.
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_ISS_ENDPOINT": live_server.url,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    }
    cache.clear()


@pytest.fixture
def bank(live_server) -> Iterator[str]:
    """The example bank on a free port, registered by `make run`'s command, its URIs moved there."""
    app = create_app({"HAWIYA_URL": live_server.url, "SECRET_KEY": "e2e-bank-session-key"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    call_command("seed_demo_relying_party", verbosity=0)
    Application.objects.filter(client_id="example-bank").update(
        redirect_uris=f"{base}/callback", post_logout_redirect_uris=f"{base}/"
    )
    RelyingParty.objects.filter(application__client_id="example-bank").update(
        signals_endpoint=f"{base}/security-events"
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join(timeout=10)


def sign_in_at_the_bank(
    page: Page, live_server: Any, bank: str, user: User, artifacts: Path | None = None
) -> None:
    """From the bank's page through Hawiya's sign-in and consent screen, in Arabic, back to the
    bank's page of claims (a screenshot of each step into `artifacts` if given)."""
    person = person_of(user)

    def screenshot(name: str) -> None:
        if artifacts is not None:
            page.screenshot(path=str(artifacts / name), full_page=True)

    page.goto(f"{bank}/")
    assert page.evaluate("() => document.documentElement.dir") == "rtl"
    screenshot("example-bank-1-home-ar.png")
    page.get_by_role("button", name="تسجيل الدخول عبر هوية").click()

    # Hawiya's own sign-in, in the language the bank asked for (ui_locales=ar).
    page.wait_for_url(f"{live_server.url}/ar/sign-in/**")
    page.fill("#id_login", person.id_number)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name=CONTINUE["ar"]).click()
    page.wait_for_url(f"{live_server.url}/ar/sign-in/code/**")
    page.fill("#id_code", latest_code(page, live_server.url))
    page.get_by_role("button", name=CONTINUE["ar"]).click()

    # The consent screen names the bank and lists exactly what it will receive.
    page.wait_for_url(f"{live_server.url}/oidc/authorize/**")
    assert page.evaluate("() => document.documentElement.dir") == "rtl"
    assert "بنك المثال" in page.locator("h1").inner_text()
    assert (
        page.get_by_test_id("shared-claims").locator("li").count() == 4
    )  # openid profile national_id birthdate
    screenshot("example-bank-2-consent-ar.png")
    page.locator("button[name=allow]").click()

    # Back at the bank: Authlib exchanged the code (PKCE), checked the ID token and its nonce.
    page.wait_for_url(f"{bank}/account")
    claims = page.locator(".bank-claims").inner_text()
    assert person.first_name_ar in page.locator("h1").inner_text()
    assert "••••••" + person.id_number[-4:] in claims
    assert person.id_number not in page.content()
    assert person.date_of_birth.isoformat() in claims
    screenshot("example-bank-3-claims-ar.png")


def test_the_example_bank_signs_a_citizen_in_through_the_consent_screen_in_arabic(
    live_server, bank, open_page, artifacts
):
    user = make_account()
    page = open_page(390)
    sign_in_at_the_bank(page, live_server, bank, user, artifacts)

    # Signing out of the bank goes on to Hawiya's end-session endpoint with the ID token as hint
    # and where to come back to (a state Authlib checks on the way back).
    page.get_by_role("button", name="تسجيل الخروج").click()
    page.wait_for_url("**/oidc/logout/?*")
    query = parse_qs(urlsplit(page.url).query)
    assert query["post_logout_redirect_uri"] == [f"{bank}/"]
    assert query["client_id"] == ["example-bank"]
    assert query["id_token_hint"][0].count(".") == 2
    # Hawiya asks, in Arabic, whether to sign out of Hawiya too; yes, and back to the bank.
    page.screenshot(path=str(artifacts / "example-bank-4-sign-out-ar.png"), full_page=True)
    page.locator("main button[name=allow]").click()
    page.wait_for_url(f"{bank}/?state=*")
    assert page.get_by_role("status").inner_text() == "سجّلت خروجك من بنك المثال."
    page.goto(f"{bank}/account")
    assert page.url == f"{bank}/"  # the bank's own session is gone
    page.goto(f"{live_server.url}/ar/account/")
    assert "/ar/sign-in/" in page.url  # and so is Hawiya's


def test_the_citizen_removes_the_banks_access_from_connected_services(
    live_server, bank, open_page, artifacts
):
    user = make_account()
    page = open_page(390)
    sign_in_at_the_bank(page, live_server, bank, user)

    # Still signed in to Hawiya: its Connected services page lists the bank and what it receives.
    page.goto(f"{live_server.url}/ar/account/connected-services/")
    card = page.locator("li[data-connection]")
    assert card.count() == 1
    assert "بنك المثال" in card.locator("h3").inner_text()
    check(page)
    page.screenshot(path=str(artifacts / "example-bank-5-connected-services-ar.png"), full_page=True)

    # "Remove access" asks first, stating the consequence; the citizen confirms.
    card.get_by_role("link", name="إزالة الوصول").click()
    page.wait_for_url(f"{live_server.url}/ar/account/connected-services/*/revoke/")
    assert "بنك المثال" in page.locator("h1").inner_text()
    check(page)
    page.locator("main form button[type=submit]").click()

    # Back on the list, which says so and no longer shows the bank: the empty state.
    page.wait_for_url(f"{live_server.url}/ar/account/connected-services/")
    assert "بنك المثال" in page.get_by_role("status").inner_text()
    assert page.locator("li[data-connection]").count() == 0
    expect(page.locator("[data-no-connections]")).to_be_visible()
    check(page)
    page.screenshot(path=str(artifacts / "example-bank-6-access-removed-ar.png"), full_page=True)


def test_the_citizen_approves_the_banks_request_on_a_phone_in_arabic(
    live_server, bank, open_page, artifacts, settings
):
    settings.HAWIYA_APPROVALS_RATE_LIMIT = 100
    settings.HAWIYA_APPROVALS_LOOPBACK_CALLBACKS = True
    phone, user = citizen_page(open_page, live_server, 360)
    phone.goto(f"{live_server.url}/ar/account/approvals/")
    assert phone.locator("[data-empty]").is_visible()

    # At the bank (a computer, in Arabic): the customer asks to approve a transfer.
    teller = open_page(1280)
    teller.goto(f"{bank}/")
    teller.get_by_role("link", name="الموافقة عبر تطبيق هوية").click()
    teller.fill("#id_number", person_of(user).id_number)
    teller.fill("#amount", "5000")
    teller.get_by_role("button", name="الموافقة عبر تطبيق هوية").click()
    teller.wait_for_url(re.compile(re.escape(bank) + r"/approve/[A-Za-z0-9_-]{16,64}$"))
    approval_id = teller.url.rsplit("/", 1)[-1]
    number = teller.locator(".bank-number__value").inner_text().strip()
    assert re.fullmatch(r"[1-9][0-9]", number)
    assert "افتح تطبيق هوية واضغط هذا الرقم" in teller.locator("[data-approval-number]").inner_text()
    status = teller.locator("[data-approval-status]")
    assert status.get_attribute("data-approval-status") == "WAITING"
    assert status.inner_text().strip() == "بانتظار موافقتك في هوية…"
    teller.screenshot(path=str(artifacts / "example-bank-7-approval-number-ar.png"), full_page=True)

    # On the phone, the request appears on the open page (Hawiya's poll): who asks, for what.
    card = phone.locator(f"[data-approval='{approval_id}']")
    card.wait_for(state="visible", timeout=15_000)
    assert "بنك المثال" in card.inner_text()
    assert "الموافقة على تحويل 5,000 ريال" in card.inner_text()
    check(phone)
    phone.screenshot(path=str(artifacts / "example-bank-8-approval-phone-ar.png"), full_page=True)
    card.locator("button[data-number]").filter(has_text=number).click()
    phone.wait_for_url(f"{live_server.url}/ar/account/approvals/")
    assert "وافقت على طلب" in phone.locator("main").inner_text()

    # The bank's page sees it without a reload (its script polls the bank, the bank asks Hawiya).
    expect(teller.locator("[data-approval-status='COMPLETED']")).to_be_visible(timeout=15_000)
    assert status.inner_text().strip() == "تمّت الموافقة في هوية."
    teller.screenshot(path=str(artifacts / "example-bank-9-approved-ar.png"), full_page=True)


def run_worker() -> None:
    """Hawiya's task worker (`db_worker`, as `make run` starts it) in batch mode: every task due."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_a_card_reported_lost_in_hawiya_reaches_the_banks_security_event_receiver(
    live_server, bank, open_page, artifacts
):
    user = make_account()
    make_address(person_of(user))
    make_document(holder=person_of(user))  # a valid national ID card
    page = open_page(360)
    sign_in_at_the_bank(page, live_server, bank, user)  # the citizen is now connected to the bank
    page.goto(f"{bank}/security-events")
    expect(page.locator("[data-no-events]")).to_be_visible()
    # Still signed in to Hawiya: the citizen reports the card lost there.
    report_the_loss(page, f"{live_server.url}/ar", "بطاقة الهوية الوطنية", Shots(artifacts, "bank-signals"))
    run_worker()  # pushes the Security Event Token to the bank's receiver

    page.goto(f"{bank}/security-events")
    assert page.evaluate("() => document.documentElement.dir") == "rtl"
    rows = page.locator("[data-event-type]")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-event-type") == DOCUMENT_REPORTED_LOST
    text = rows.first.inner_text()
    assert "أُبلغ عن فقد وثيقة (بطاقة الهوية الوطنية)" in text
    assert "(أنت)" in text  # the event names the signed-in customer by the bank's own sub
    page.screenshot(path=str(artifacts / "example-bank-10-security-events-ar.png"), full_page=True)
