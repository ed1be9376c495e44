"""App approval by number matching in a real browser: a party asks over the API, the citizen on a
360-px phone in Arabic sees the request appear on the open page (the poll), taps the number the
party shows, and the API then answers COMPLETED."""

from __future__ import annotations

import base64

import httpx
import pytest
from playwright.sync_api import expect

from hawiya.approvals.tests.helpers import register
from hawiya.identity.tests.factories import person_of

from .checklist import check, citizen_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _party_token(base: str) -> tuple[str, str]:
    party, secret = register()
    basic = base64.b64encode(f"{party.application.client_id}:{secret}".encode()).decode()
    answer = httpx.post(
        f"{base}/oidc/token/",
        data={"grant_type": "client_credentials", "scope": "approvals"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return party.name_ar, str(answer.json()["access_token"])


def test_a_citizen_approves_on_a_phone_in_arabic(live_server, open_page, artifacts, settings):
    settings.HAWIYA_APPROVALS_RATE_LIMIT = 100
    # The party's client secret keeps its own hasher beside the citizens' fast one.
    settings.PASSWORD_HASHERS = [
        *settings.PASSWORD_HASHERS,
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    page, user = citizen_page(open_page, live_server, 360)
    party_name, token = _party_token(live_server.url)
    bearer = {"Authorization": f"Bearer {token}"}

    page.goto(f"{live_server.url}/ar/account/approvals/")
    assert page.locator("h1").inner_text() == "طلبات الموافقة"
    expect(page.locator("[data-empty]")).to_be_visible()
    check(page)

    # The party asks while the page is open; the page shows it without a reload.
    created = httpx.post(
        f"{live_server.url}/api/v1/approvals",
        json={
            "id_number": person_of(user).id_number,
            "purpose_ar": "تسجيل الدخول إلى تطبيق البنك",
            "purpose_en": "Sign in to the bank's app",
        },
        headers=bearer,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    approval = created.json()
    card = page.locator(f"[data-approval='{approval['id']}']")
    card.wait_for(state="visible", timeout=15_000)
    assert party_name in card.inner_text()
    assert "تسجيل الدخول إلى تطبيق البنك" in card.inner_text()
    numbers = card.locator("button[data-number]")
    assert numbers.count() == 3
    for index in range(3):
        box = numbers.nth(index).bounding_box()
        assert box is not None
        assert box["width"] >= 44
        assert box["height"] >= 44
    check(page)
    page.screenshot(path=str(artifacts / "approvals-ar-360.png"), full_page=True)

    numbers.filter(has_text=str(approval["number"])).click()
    page.wait_for_url(f"{live_server.url}/ar/account/approvals/")
    assert "وافقت على طلب" in page.locator("main").inner_text()
    expect(page.locator("[data-empty]")).to_be_visible()
    status = httpx.get(f"{live_server.url}/api/v1/approvals/{approval['id']}", headers=bearer, timeout=10)
    assert status.status_code == 200
    assert status.json()["status"] == "COMPLETED"
