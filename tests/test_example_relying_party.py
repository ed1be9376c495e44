"""The example relying party's own pages, without a provider: language, masking, refusals.
(The whole journey through Hawiya is tests/e2e/test_example_relying_party_journey.py.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from relying_party.app import create_app, display_claims, mask_national_id


@pytest.fixture
def client():
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "HAWIYA_URL": "http://127.0.0.1:9"})
    return app.test_client()


def test_home_is_arabic_and_right_to_left_first(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "تسجيل الدخول عبر هوية" in page
    assert 'href="?lang=en"' in page


def test_the_language_switch_is_remembered(client):
    assert '<html lang="en" dir="ltr">' in client.get("/?lang=en").get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    assert "Sign in with Hawiya" in page
    assert 'href="?lang=ar"' in page


def test_pages_forbid_everything_but_their_own_styles(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "form-action 'self' http://127.0.0.1:9" in policy


def test_the_national_id_keeps_only_its_last_four_digits():
    assert mask_national_id("1000000016") == "••••••0016"
    assert mask_national_id("123") == "•••"
    rows = dict(display_claims({"national_id": "1000000016", "nonce": "n", "amr": ["pwd", "sms"]}, "en"))
    assert rows == {"ID number": "••••••0016", "Authentication methods (amr)": "pwd, sms"}


def test_language_tagged_claims_keep_their_tag():
    assert display_claims({"name#en": "Abdullah"}, "ar") == [("الاسم (en)", "Abdullah")]


def test_a_refused_consent_is_explained_not_an_error_page(client):
    response = client.get("/callback?error=access_denied&state=x")
    assert response.status_code == 400
    assert "لم توافق على مشاركة بياناتك" in response.get_data(as_text=True)


def test_a_callback_with_a_state_we_did_not_send_signs_nobody_in(client):
    response = client.get("/callback?code=abc&state=forged")
    assert response.status_code == 400
    assert "لم يكتمل تسجيل الدخول" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302


def test_sign_out_needs_the_sessions_form_token(client):
    assert client.post("/sign-out", data={"form_token": "guess"}).status_code == 400
