"""Staff passkeys: added beside the authenticator app within five minutes of signing in, then used
instead of the app's code after the password; another account's passkey does not stand in."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyotp
import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.casework.tests.factories import STAFF_PASSWORD, open_office, staff_user
from hawiya.core import clock
from hawiya.identity.models import AuthenticatorApp, Passkey, SecurityEvent, SignInGuard, User
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, SIGN_IN_METHOD_SESSION_KEY
from hawiya.identity.tests.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXPTESTSTAF"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_WEBAUTHN_ORIGINS = ["http://127.0.0.1:8000"]
    settings.HAWIYA_WEBAUTHN_RP_ID = "127.0.0.1"
    cache.clear()


def officer() -> User:
    user = staff_user(office=open_office())
    AuthenticatorApp.objects.create(user=user, secret=SECRET, confirmed_at=clock.now())
    return user


def signed_in(user: User, *, minutes_ago: int = 0) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[RECENT_AUTH_SESSION_KEY] = (clock.now() - dt.timedelta(minutes=minutes_ago)).timestamp()
    session.save()
    return client


def add_passkey(client: Client, device: SoftAuthenticator, name: str = "office key") -> Any:
    options = client.post("/en/staff/passkeys/options/")
    assert options.status_code == 200
    answer = device.create(json.dumps(options.json()["publicKey"]))
    return client.post("/en/staff/passkeys/", {"name": name, "credential": json.dumps(answer)})


def test_a_passkey_is_added_and_then_stands_in_for_the_apps_code() -> None:
    user = officer()
    device = SoftAuthenticator()
    client = signed_in(user)
    assert client.get("/en/staff/passkeys/").status_code == 200
    added = add_passkey(client, device)
    assert added.status_code == 302
    assert Passkey.objects.get(user=user).name == "office key"

    browser = Client()
    browser.post("/en/staff/sign-in/", {"username": user.username, "password": STAFF_PASSWORD})
    page = browser.get("/en/staff/sign-in/code/")
    assert "Use my passkey instead" in page.content.decode()
    options = browser.post("/en/staff/sign-in/passkey/options/")
    answer = device.get(json.dumps(options.json()["publicKey"]))
    done = browser.post("/en/staff/sign-in/passkey/", {"credential": json.dumps(answer)})
    assert done.status_code == 302
    assert done["Location"] == "/en/staff/"
    assert browser.session[SIGN_IN_METHOD_SESSION_KEY] == "passkey"
    assert SecurityEvent.objects.filter(user=user, kind="sign_in", detail="passkey").count() == 1


def test_the_passkey_needs_the_password_first() -> None:
    user = officer()
    device = SoftAuthenticator()
    add_passkey(signed_in(user), device)
    browser = Client()
    assert browser.post("/en/staff/sign-in/passkey/options/").status_code == 400
    refused = browser.post("/en/staff/sign-in/passkey/", {"credential": "{}"})
    assert refused["Location"] == "/en/staff/sign-in/"
    assert "_auth_user_id" not in browser.session


def test_another_staff_members_passkey_does_not_stand_in() -> None:
    user, other = officer(), officer()
    intruder = SoftAuthenticator()
    add_passkey(signed_in(user), SoftAuthenticator())
    add_passkey(signed_in(other), intruder)
    browser = Client()
    browser.post("/en/staff/sign-in/", {"username": user.username, "password": STAFF_PASSWORD})
    options = browser.post("/en/staff/sign-in/passkey/options/")
    answer = intruder.get(json.dumps(options.json()["publicKey"]))
    refused = browser.post("/en/staff/sign-in/passkey/", {"credential": json.dumps(answer)})
    assert refused["Location"] == "/en/staff/sign-in/code/"
    assert "_auth_user_id" not in browser.session


def test_adding_needs_a_recent_sign_in_and_garbage_is_a_clear_error() -> None:
    user = officer()
    stale = signed_in(user, minutes_ago=30)
    assert stale.post("/en/staff/passkeys/options/").status_code == 403
    assert "sign out and sign in again" in stale.get("/en/staff/passkeys/").content.decode()
    fresh = signed_in(user)
    fresh.post("/en/staff/passkeys/options/")
    response = fresh.post("/en/staff/passkeys/", {"name": "key", "credential": "{"})
    assert response.status_code == 400
    assert "Your passkey could not be checked" in response.content.decode()
    assert not Passkey.objects.exists()


def test_a_staff_member_cannot_remove_anothers_passkey() -> None:
    user, other = officer(), officer()
    add_passkey(signed_in(user), SoftAuthenticator())
    passkey = Passkey.objects.get(user=user)
    assert signed_in(other).post(f"/en/staff/passkeys/{passkey.pk}/remove/").status_code == 404
    assert signed_in(user).post(f"/en/staff/passkeys/{passkey.pk}/remove/").status_code == 302
    assert not Passkey.objects.exists()


def test_a_role_that_requires_passkeys_refuses_the_apps_code_once_there_is_one(settings: Any) -> None:
    settings.HAWIYA_STAFF_PASSKEY_ROLES = ["officer"]
    user = officer()
    code = pyotp.TOTP(SECRET)
    # Without a passkey yet, the app's code still lets the officer in (to add one).
    first = Client()
    first.post("/en/staff/sign-in/", {"username": user.username, "password": STAFF_PASSWORD})
    assert first.post("/en/staff/sign-in/code/", {"code": code.now()}).status_code == 302
    device = SoftAuthenticator()
    add_passkey(signed_in(user), device)

    browser = Client()
    browser.post("/en/staff/sign-in/", {"username": user.username, "password": STAFF_PASSWORD})
    page = browser.get("/en/staff/sign-in/code/")
    assert "Your role signs in with a passkey" in page.content.decode()
    refused = browser.post("/en/staff/sign-in/code/", {"code": code.at(clock.now())})
    assert refused.status_code == 400
    assert "Use your passkey below." in refused.content.decode()  # not checked, so not counted
    assert not SignInGuard.objects.filter(user=user, failures__gt=0).exists()
    assert "_auth_user_id" not in browser.session
    options = browser.post("/en/staff/sign-in/passkey/options/")
    answer = device.get(json.dumps(options.json()["publicKey"]))
    assert browser.post("/en/staff/sign-in/passkey/", {"credential": json.dumps(answer)}).status_code == 302
    assert "_auth_user_id" in browser.session


def test_other_roles_keep_the_apps_code(settings: Any) -> None:
    settings.HAWIYA_STAFF_PASSKEY_ROLES = ["administrator"]
    user = officer()
    add_passkey(signed_in(user), SoftAuthenticator())
    browser = Client()
    browser.post("/en/staff/sign-in/", {"username": user.username, "password": STAFF_PASSWORD})
    assert browser.post("/en/staff/sign-in/code/", {"code": pyotp.TOTP(SECRET).now()}).status_code == 302
