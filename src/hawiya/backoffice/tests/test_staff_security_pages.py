"""The administrators' staff sign-in page (/staff/security/roles/) and its rule at every sign-in
with a code: the back-office code page and the citizen portal's, which a staff account with the
authenticator app can also reach."""

from __future__ import annotations

import json
from typing import Any

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from hawiya.audit.models import AuditEvent
from hawiya.backoffice.tests.test_staff_passkeys import SECRET, add_passkey, officer, signed_in
from hawiya.casework.tests.factories import STAFF_PASSWORD, open_office, staff_user
from hawiya.core import clock
from hawiya.identity.models import SignInGuard, StaffRole, StaffRolePolicy, User
from hawiya.identity.tests.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db

ROLES = "/en/staff/security/roles/"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_WEBAUTHN_ORIGINS = ["http://127.0.0.1:8000"]
    settings.HAWIYA_WEBAUTHN_RP_ID = "127.0.0.1"
    settings.HAWIYA_STAFF_PASSKEY_ROLES = []


def require(role: str = "officer") -> None:
    StaffRolePolicy.objects.update_or_create(role=role, defaults={"passkey_required": True})


# --- The page ----------------------------------------------------------------------------------


def test_an_administrator_sees_the_roles_and_requires_a_passkey_after_confirming(admin: Client) -> None:
    user = officer()
    add_passkey(signed_in(user), SoftAuthenticator())
    staff_user(office=open_office())  # an officer without a passkey
    page = admin.get(ROLES)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-role="officer"' in html
    assert "Not required" in html
    officer_row = html.split('data-role="officer"', 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td>" in officer_row
    assert "<td>2</td>" not in officer_row
    assert 'href="/en/staff/security/roles/"' in html  # in the navigation

    confirm = admin.get(f"{ROLES}officer/?choice=require")
    assert confirm.status_code == 200
    assert "Require a passkey?" in confirm.content.decode()
    assert not StaffRolePolicy.objects.exists()  # a GET changes nothing

    done = admin.post(f"{ROLES}officer/", {"choice": "require"}, follow=True)
    assert done.redirect_chain[-1][0] == ROLES
    assert "Officer: members with a passkey must now sign in with it." in done.content.decode()
    assert StaffRolePolicy.objects.get(role="officer").passkey_required
    assert AuditEvent.objects.filter(action="staff_policy.changed").count() == 1
    assert "Stop requiring a passkey" in done.content.decode()

    released = admin.post(f"{ROLES}officer/", {"choice": "release"}, follow=True)
    assert "may again sign in with the authenticator app" in released.content.decode()
    assert not StaffRolePolicy.objects.get(role="officer").passkey_required


def test_the_page_speaks_arabic_first(admin: Client) -> None:
    page = admin.get("/ar/staff/security/roles/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'dir="rtl"' in html
    assert "تسجيل دخول الموظفين" in html
    done = admin.post("/ar/staff/security/roles/officer/", {"choice": "require"}, follow=True)
    assert "يجب على الأعضاء الذين لديهم مفتاح مرور" in done.content.decode()


def test_the_self_lockout_is_refused_with_a_clear_message_in_both_languages(admin: Client) -> None:
    refused = admin.post(f"{ROLES}administrator/", {"choice": "require"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "Add a passkey to your own account first." in html
    assert "data-error-summary" in html
    arabic = admin.post("/ar/staff/security/roles/administrator/", {"choice": "require"})
    assert arabic.status_code == 400
    assert "أضف مفتاح مرور إلى حسابك أولًا" in arabic.content.decode()
    assert not StaffRolePolicy.objects.exists()


def test_a_role_the_server_requires_shows_so_without_a_form(admin: Client, settings: Any) -> None:
    settings.HAWIYA_STAFF_PASSKEY_ROLES = ["supervisor"]
    html = admin.get(ROLES).content.decode()
    supervisor_row = html.split('data-role="supervisor"', 1)[1].split("</tr>", 1)[0]
    assert "data-required-by-settings" in supervisor_row
    assert "Only the server" in supervisor_row
    assert "/roles/supervisor/" not in supervisor_row


def test_bad_input_is_a_clear_400_or_404_never_a_500(admin: Client) -> None:
    assert admin.post(f"{ROLES}officer/", {}).status_code == 400
    bad = admin.post(f"{ROLES}officer/", {"choice": "maybe"})
    assert bad.status_code == 400
    assert "Choose whether the role must sign in with a passkey." in bad.content.decode()
    assert admin.get(f"{ROLES}officer/?choice=%00").status_code == 400
    assert admin.get(f"{ROLES}janitor/").status_code == 404
    assert admin.post(f"{ROLES}janitor/", {"choice": "require"}).status_code == 404
    assert not StaffRolePolicy.objects.exists()


@pytest.mark.parametrize("role", [StaffRole.OFFICER, StaffRole.SUPERVISOR])
def test_other_roles_are_refused_as_on_the_parties_pages(role: str) -> None:
    client = signed_in(staff_user(role=role, office=open_office()))
    assert client.get(ROLES).status_code == 403
    assert client.get(reverse("backoffice:parties")).status_code == 403
    assert client.post(f"{ROLES}officer/", {"choice": "require"}).status_code == 403
    assert 'href="/en/staff/security/roles/"' not in client.get("/en/staff/passkeys/").content.decode()
    assert Client().get(ROLES).status_code == 302
    assert not StaffRolePolicy.objects.exists()


def test_a_post_without_the_csrf_token_is_refused() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user(role=StaffRole.ADMINISTRATOR, office=None))
    assert client.post(f"{ROLES}officer/", {"choice": "require"}).status_code == 403
    assert not StaffRolePolicy.objects.exists()


# --- The rule at sign-in -------------------------------------------------------------------------


def password_step(client: Client, user: User) -> None:
    response = client.post("/en/staff/sign-in/", {"username": user.username, "password": STAFF_PASSWORD})
    assert response.status_code == 302


def test_back_office_a_required_role_with_a_passkey_must_use_it() -> None:
    user = officer()
    device = SoftAuthenticator()
    add_passkey(signed_in(user), device)
    require("officer")
    browser = Client()
    password_step(browser, user)
    refused = browser.post("/en/staff/sign-in/code/", {"code": pyotp.TOTP(SECRET).at(clock.now())})
    assert refused.status_code == 400
    assert "Your role signs in with a passkey" in refused.content.decode()
    assert "_auth_user_id" not in browser.session
    assert not SignInGuard.objects.filter(user=user, failures__gt=0).exists()
    # The passkey satisfies it.
    options = browser.post("/en/staff/sign-in/passkey/options/")
    answer = device.get(json.dumps(options.json()["publicKey"]))
    assert browser.post("/en/staff/sign-in/passkey/", {"credential": json.dumps(answer)}).status_code == 302
    assert "_auth_user_id" in browser.session


def test_back_office_a_required_role_without_a_passkey_still_signs_in_with_the_code() -> None:
    user = officer()
    require("officer")
    browser = Client()
    password_step(browser, user)
    assert browser.post("/en/staff/sign-in/code/", {"code": pyotp.TOTP(SECRET).now()}).status_code == 302
    assert "_auth_user_id" in browser.session


def test_back_office_a_role_not_required_keeps_the_code() -> None:
    user = officer()
    add_passkey(signed_in(user), SoftAuthenticator())
    require("supervisor")
    browser = Client()
    password_step(browser, user)
    assert browser.post("/en/staff/sign-in/code/", {"code": pyotp.TOTP(SECRET).now()}).status_code == 302


def portal_code(client: Client, user: User) -> Any:
    started = client.post("/en/sign-in/", {"login": user.username, "password": STAFF_PASSWORD})
    assert started.status_code == 302, started.content.decode()[:2000]
    return client.post("/en/sign-in/code/", {"code": pyotp.TOTP(SECRET).at(clock.now()), "method": "totp"})


def test_portal_a_required_role_with_a_passkey_is_refused_the_code_too() -> None:
    user = officer()
    add_passkey(signed_in(user), SoftAuthenticator())
    require("officer")
    browser = Client()
    refused = portal_code(browser, user)
    assert refused.status_code == 200  # the portal's code page shows its errors with a 200
    assert "Your role signs in with a passkey, not with a code." in refused.content.decode()
    assert "_auth_user_id" not in browser.session
    assert not SignInGuard.objects.filter(user=user, failures__gt=0).exists()


def test_portal_without_a_passkey_or_a_role_not_required_the_code_still_works() -> None:
    require("officer")
    without = officer()
    assert portal_code(Client(), without).status_code == 302
    require("officer")
    other = staff_user(role=StaffRole.SUPERVISOR, office=open_office())
    from hawiya.identity.models import AuthenticatorApp

    AuthenticatorApp.objects.create(user=other, secret=SECRET, confirmed_at=clock.now())
    add_passkey(signed_in(other), SoftAuthenticator())
    assert portal_code(Client(), other).status_code == 302
