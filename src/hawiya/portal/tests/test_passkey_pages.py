"""Passkey pages: add, list, rename, remove; sign in with one; confirm it is you with one."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from hawiya.approvals.models import ApprovalRequest, ApprovalStatus
from hawiya.approvals.tests.helpers import ask, register
from hawiya.core import clock
from hawiya.identity import errors as identity_errors
from hawiya.identity.models import Passkey, User
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, SIGN_IN_METHOD_SESSION_KEY
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.identity.tests.soft_authenticator import SoftAuthenticator

from .test_account_pages import sign_in, url

pytestmark = pytest.mark.django_db

ORIGIN = "http://127.0.0.1:8000"


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture(autouse=True)
def _webauthn(settings: Any) -> None:
    settings.HAWIYA_WEBAUTHN_ORIGINS = [ORIGIN]
    settings.HAWIYA_WEBAUTHN_RP_ID = "127.0.0.1"
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_APPROVALS_RATE_LIMIT = 1000
    cache.clear()


def _options(client: Client, name: str, language: str = "en", **query: str) -> str:
    response = client.post(url(name, language))
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    return json.dumps(response.json()["publicKey"])


def _add(client: Client, device: SoftAuthenticator, name: str = "my phone", language: str = "en") -> Any:
    answer = device.create(_options(client, "account-passkey-options", language))
    return client.post(url("account-passkey-add", language), {"name": name, "credential": json.dumps(answer)})


@pytest.fixture
def user() -> User:
    return make_account()


@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_passkey_is_added_and_listed(client: Client, user: User, language: str) -> None:
    sign_in(client, user)
    page = client.get(url("account-passkey-add", language))
    assert page.status_code == 200
    assert b"portal/passkeys.js" in page.content
    response = _add(client, SoftAuthenticator(), "هاتفي", language)
    assert response.status_code == 302
    assert response["Location"] == url("account-methods", language)
    methods = client.get(url("account-methods", language))
    assert "هاتفي" in text(methods)
    assert ("لم يُستخدم بعد" if language == "ar" else "Not used yet") in text(methods)


def test_adding_a_passkey_needs_a_fresh_code(client: Client, user: User) -> None:
    sign_in(client, user, fresh=False)
    for response in (client.get(url("account-passkey-add")), client.post(url("account-passkey-options"))):
        assert response.status_code == 302
        assert response["Location"].startswith(url("reauthenticate"))
    assert not Passkey.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "Your passkey could not be checked"), ("ar", "تعذّر التحقق من مفتاح المرور")],
)
@pytest.mark.parametrize("garbage", ["{", "[1]", "null", '{"id": "x", "response": null}', "x" * 70000])
def test_garbage_from_the_browser_is_a_clear_error(
    client: Client, user: User, language: str, message: str, garbage: str
) -> None:
    sign_in(client, user)
    _options(client, "account-passkey-options", language)
    response = client.post(url("account-passkey-add", language), {"name": "x", "credential": garbage})
    assert response.status_code == 400
    assert message in text(response)
    assert not Passkey.objects.exists()


def test_a_name_is_required(client: Client, user: User) -> None:
    sign_in(client, user)
    response = _add(client, SoftAuthenticator(), "")
    assert response.status_code == 400
    assert "Enter a name for the passkey." in text(response)


def test_one_citizen_cannot_rename_or_remove_anothers_passkey(client: Client, user: User) -> None:
    sign_in(client, user)
    _add(client, SoftAuthenticator())
    passkey = Passkey.objects.get(user=user)
    other = make_account()
    client.logout()
    sign_in(client, other)
    for name in ("account-passkey-rename", "account-passkey-remove"):
        assert client.get(url(name, "en", passkey.pk)).status_code == 404
        assert client.post(url(name, "en", passkey.pk), {"name": "mine"}).status_code == 404
        assert client.get(url(name, "en", "99999999999999999999")).status_code == 404
        assert client.get(url(name, "en", "abc")).status_code == 404
    passkey.refresh_from_db()
    assert passkey.name == "my phone"


def test_rename_and_remove(client: Client, user: User) -> None:
    sign_in(client, user)
    _add(client, SoftAuthenticator())
    _add(client, SoftAuthenticator(), "laptop")
    passkey = Passkey.objects.get(user=user, name="my phone")
    response = client.post(url("account-passkey-rename", "en", passkey.pk), {"name": "old phone"})
    assert response.status_code == 302
    passkey.refresh_from_db()
    assert passkey.name == "old phone"
    assert client.post(url("account-passkey-rename", "en", passkey.pk), {"name": ""}).status_code == 400
    confirm = client.get(url("account-passkey-remove", "en", passkey.pk))
    assert "Remove this passkey?" in text(confirm)
    assert client.post(url("account-passkey-remove", "en", passkey.pk)).status_code == 302
    assert list(Passkey.objects.filter(user=user).values_list("name", flat=True)) == ["laptop"]


def test_removing_needs_a_fresh_code(client: Client, user: User) -> None:
    sign_in(client, user)
    _add(client, SoftAuthenticator())
    passkey = Passkey.objects.get(user=user)
    session = client.session
    session[RECENT_AUTH_SESSION_KEY] = (clock.now() - dt.timedelta(minutes=30)).timestamp()
    session.save()
    response = client.post(url("account-passkey-remove", "en", passkey.pk))
    assert response["Location"].startswith(url("reauthenticate"))
    assert Passkey.objects.filter(pk=passkey.pk).exists()


def test_sign_in_with_a_passkey_alone(client: Client, user: User) -> None:
    sign_in(client, user)
    device = SoftAuthenticator()
    _add(client, device)
    client.logout()
    page = client.get(url("sign-in"))
    assert 'autocomplete="username webauthn"' in page.content.decode()
    assert "Sign in with fingerprint or face" in text(page)
    answer = device.get(_options(client, "sign-in-passkey-options"))
    response = client.post(url("sign-in-passkey"), {"credential": json.dumps(answer), "next": "/en/account/"})
    assert response.status_code == 302
    assert response["Location"] == "/en/account/"
    assert client.session[SIGN_IN_METHOD_SESSION_KEY] == "passkey"
    assert client.get(url("account")).status_code == 200


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "Your passkey could not be checked"), ("ar", "تعذّر التحقق من مفتاح المرور")],
)
def test_a_refused_passkey_sign_in_shows_the_sign_in_page_with_the_error(
    client: Client, language: str, message: str
) -> None:
    _options(client, "sign-in-passkey-options", language)
    for garbage in ("", "{", '{"id": 1}', "x" * 70000):
        response = client.post(url("sign-in-passkey", language), {"credential": garbage})
        assert response.status_code == 400
        assert message in text(response)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("language", ["ar", "en"])
def test_too_many_passkey_sign_in_starts_from_one_address_are_refused_in_json(
    client: Client, settings: Any, language: str
) -> None:
    settings.HAWIYA_IP_START_LIMIT = 2
    for _ in range(2):
        _options(client, "sign-in-passkey-options", language)
    refused = client.post(url("sign-in-passkey-options", language))
    assert refused.status_code == 429
    assert "no-store" in refused["Cache-Control"]
    with translation.override(language):
        message = str(identity_errors.MESSAGES[identity_errors.IP_THROTTLED])
    assert refused.json() == {"error": identity_errors.IP_THROTTLED, "message": message}
    assert (language == "ar") == any("\u0600" <= letter <= "\u06ff" for letter in message)


def test_a_removed_passkey_does_not_sign_in(client: Client, user: User) -> None:
    sign_in(client, user)
    device = SoftAuthenticator()
    _add(client, device)
    _add(client, SoftAuthenticator(), "laptop")
    client.post(url("account-passkey-remove", "en", Passkey.objects.get(user=user, name="my phone").pk))
    client.logout()
    answer = device.get(_options(client, "sign-in-passkey-options"))
    response = client.post(url("sign-in-passkey"), {"credential": json.dumps(answer)})
    assert response.status_code == 400
    assert "This passkey is not recognised." in text(response)


def test_a_passkey_confirms_it_is_you_before_a_sensitive_change(client: Client, user: User) -> None:
    sign_in(client, user)
    device = SoftAuthenticator()
    _add(client, device)
    session = client.session
    session[RECENT_AUTH_SESSION_KEY] = (clock.now() - dt.timedelta(minutes=30)).timestamp()
    session.save()
    target = url("account-mobile")
    asked = client.get(target)
    assert asked["Location"].startswith(url("reauthenticate"))
    page = client.get(asked["Location"])
    assert "Confirm with fingerprint or face" in text(page)
    answer = device.get(_options(client, "reauthenticate-passkey-options"))
    assert json.loads(json.dumps(answer))["id"] == device.id
    response = client.post(
        f"{url('reauthenticate-passkey')}?next={target}", {"credential": json.dumps(answer)}
    )
    assert response.status_code == 302
    assert response["Location"] == target
    assert client.get(target).status_code == 200


def test_a_refused_confirmation_goes_back_to_the_page_that_asked(client: Client, user: User) -> None:
    sign_in(client, user, fresh=False)
    _options(client, "reauthenticate-passkey-options")
    response = client.post(f"{url('reauthenticate-passkey')}?next=/en/account/mobile/", {"credential": "{"})
    assert response.status_code == 302
    assert response["Location"] == f"{url('reauthenticate')}?next=%2Fen%2Faccount%2Fmobile%2F"


def test_the_confirmation_page_offers_a_passkey_only_to_holders_of_one(client: Client, user: User) -> None:
    sign_in(client, user, fresh=False)
    page = client.get(url("reauthenticate"))
    assert "Confirm with fingerprint or face" not in text(page)


# --- A number-matching approval confirmed with a passkey -------------------------------------------


def test_an_approval_is_confirmed_with_the_holders_passkey(client: Client, user: User) -> None:
    party, _secret = register()
    row = ask(party, person_of(user).id_number)
    sign_in(client, user)
    device = SoftAuthenticator()
    _add(client, device)
    page = client.get(url("account-approvals"))
    assert b"data-passkey-confirm" in page.content
    assert b"portal/passkeys.js" in page.content

    stranger = make_account()
    other = Client()
    sign_in(other, stranger)
    intruder = SoftAuthenticator()
    _add(other, intruder)
    answer = intruder.get(_options(client, "reauthenticate-passkey-options"))
    refused = client.post(
        url("account-approval-answer", "en", row.public_id),
        {"confirmed_number": str(row.number), "credential": json.dumps(answer)},
    )
    assert refused.status_code == 302
    assert ApprovalRequest.objects.get(pk=row.pk).status == ApprovalStatus.WAITING

    answer = device.get(_options(client, "reauthenticate-passkey-options"))
    done = client.post(
        url("account-approval-answer", "en", row.public_id),
        {"confirmed_number": str(row.number), "credential": json.dumps(answer)},
    )
    assert done.status_code == 302
    assert ApprovalRequest.objects.get(pk=row.pk).status == ApprovalStatus.COMPLETED
    assert Passkey.objects.get(user=user).last_used_at is not None


def test_without_a_passkey_the_approvals_page_is_as_before(client: Client, user: User) -> None:
    party, _secret = register()
    ask(party, person_of(user).id_number)
    sign_in(client, user)
    page = client.get(url("account-approvals"))
    assert b"data-passkey-confirm" not in page.content
    assert b"portal/passkeys.js" not in page.content


def test_a_refused_answer_is_not_shown_again_in_the_form(client: Client, user: User) -> None:
    sign_in(client, user)
    device = SoftAuthenticator()
    answer = device.create(_options(client, "account-passkey-options"), origin="https://phish.example")
    refused = client.post(url("account-passkey-add"), {"name": "x", "credential": json.dumps(answer)})
    assert refused.status_code == 400
    assert 'name="credential" value=""' in refused.content.decode()
    # A new ceremony then works.
    assert _add(client, device).status_code == 302


def test_the_security_history_names_the_passkey(client: Client, user: User) -> None:
    sign_in(client, user)
    _add(client, SoftAuthenticator())
    page = text(client.get(url("account-security")))
    assert "Sign-in method added" in page
    assert "Passkey" in page
