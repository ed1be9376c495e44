"""The example relying party's own pages, without a provider: language, masking, refusals; and its
"check a card" page against a live Hawiya (the document-status API, the bank's own token).
(The whole sign-in journey through Hawiya is tests/e2e/test_example_relying_party_journey.py.)"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from oauth2_provider.models import AccessToken

from hawiya.audit.actors import Actor
from hawiya.document_checks.models import DocumentCheck
from hawiya.identity.tests.factories import make_account
from hawiya.losses.tests.factories import make_report
from hawiya.registry.models import Document
from hawiya.registry.tests.factories import make_document, make_person

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


# --- "Check a card": the bank's calls to Hawiya's document-status API, against a live Hawiya ------

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


@pytest.fixture
def hawiya(settings, live_server):
    """Hawiya on a live server, the example bank registered as `make run` registers it."""
    settings.DEMO = True
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 1000
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    settings.HAWIYA_OIDC_ISSUER = live_server.url  # discovery names the live server's endpoints
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    cache.clear()
    call_command("seed_demo_relying_party", verbosity=0)
    return live_server


@pytest.fixture
def bank(hawiya):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "HAWIYA_URL": hawiya.url})
    return app.test_client()


def check_card(bank, lang: str = "en", **fields: str):
    page = bank.get(f"/check-card?lang={lang}").get_data(as_text=True)
    token = FORM_TOKEN.search(page)
    assert token is not None
    return bank.post("/check-card", data={"form_token": token.group(1), **fields})


def about(card: Document) -> dict[str, str]:
    return {"id_number": card.holder.id_number, "kind": card.kind, "serial_number": card.serial_number}


def bank_tokens() -> int:
    return AccessToken.objects.filter(application__client_id="example-bank").count()


@pytest.mark.django_db(transaction=True)
def test_a_card_checked_then_reported_lost_in_hawiya_is_reported_lost_at_the_bank(bank):
    user = make_account()
    card = make_document(holder=user.person)
    first = check_card(bank, **about(card))
    assert first.status_code == 200
    assert "The card is valid: it can be accepted." in first.get_data(as_text=True)

    make_report(user.person, [card], actor=Actor.citizen(user.pk))  # the citizen reports it lost
    # The serial as a customer might type it, in lower case.
    again = check_card(bank, lang="ar", **{**about(card), "serial_number": card.serial_number.lower()})
    page = again.get_data(as_text=True)
    assert 'data-status="reported_lost"' in page
    assert "أبلغ صاحب هذه البطاقة عن فقدها: لا تقبلها." in page
    # One token for both checks: the bank keeps it until it expires.
    assert bank_tokens() == 1
    # Both checks are on the holder's record, as the bank's.
    answers = list(
        DocumentCheck.objects.filter(document=card).order_by("id").values_list("answer", flat=True)
    )
    assert answers == ["valid", "reported_lost"]
    assert {check.party.application.client_id for check in DocumentCheck.objects.all()} == {"example-bank"}


@pytest.mark.django_db(transaction=True)
def test_a_serial_of_nobodys_card_is_not_found_in_plain_words(bank):
    card = make_document(holder=make_person())
    response = check_card(bank, **{**about(card), "serial_number": "Z000000001"})
    assert response.status_code == 200
    assert "Hawiya has no document with this serial number for this ID number" in response.get_data(
        as_text=True
    )


@pytest.mark.django_db(transaction=True)
def test_a_token_hawiya_no_longer_honours_is_fetched_again(bank):
    card = make_document(holder=make_person())
    assert 'data-status="valid"' in check_card(bank, **about(card)).get_data(as_text=True)
    AccessToken.objects.filter(application__client_id="example-bank").delete()  # revoked in Hawiya
    assert 'data-status="valid"' in check_card(bank, **about(card)).get_data(as_text=True)
    assert bank_tokens() == 1


def test_a_malformed_card_is_refused_before_asking_hawiya(client):
    # Hawiya is unreachable here (port 9): a request to it would answer "could not check".
    response = check_card(client, id_number="12345", kind="national_id_card", serial_number="N482913306")
    assert response.status_code == 400
    assert "Check the ID number (ten digits)" in response.get_data(as_text=True)


def test_hawiya_unreachable_is_said_not_shown_as_an_answer(client):
    response = check_card(client, id_number="1012345678", kind="national_id_card", serial_number="N482913306")
    assert response.status_code == 502
    page = response.get_data(as_text=True)
    assert "The card could not be checked just now." in page
    assert "data-status" not in page


def test_the_check_form_is_arabic_first_and_needs_the_sessions_form_token(client):
    page = client.get("/check-card").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "الرقم التسلسلي للوثيقة" in page
    assert 'href="/check-card"' in client.get("/").get_data(as_text=True)
    forged = {"form_token": "guess", "id_number": "1012345678", "kind": "national_id_card"}
    assert client.post("/check-card", data={**forged, "serial_number": "N482913306"}).status_code == 400
