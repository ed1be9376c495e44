"""Staff sign-in: password then the authenticator code; only staff get in, refused alike;
the demo code shown in demo mode only; sign-out; the home page by role."""

from __future__ import annotations

import pyotp
import pytest
from django.test import Client

from hawiya.casework.tests.factories import STAFF_PASSWORD, open_office, signed_in, staff_user
from hawiya.core import clock
from hawiya.identity.models import AuthenticatorApp, StaffRole, User, UserSession
from hawiya.identity.tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXPTESTSTAF"
WRONG_CREDENTIALS = "do not match our records"


def with_authenticator(user: User, secret: str = SECRET) -> User:
    AuthenticatorApp.objects.create(user=user, secret=secret, confirmed_at=clock.now())
    return user


def start(client: Client, username: str, password: str = STAFF_PASSWORD, next_url: str = "") -> object:
    return client.post("/en/staff/sign-in/", {"username": username, "password": password, "next": next_url})


def test_an_officer_signs_in_with_password_and_authenticator_code() -> None:
    user = with_authenticator(staff_user(office=open_office()))
    client = Client()

    first = start(client, user.username)
    page = client.get("/en/staff/sign-in/code/")
    done = client.post("/en/staff/sign-in/code/", {"code": pyotp.TOTP(SECRET).now()})

    assert first.status_code == 302  # type: ignore[attr-defined]
    assert first["Location"] == "/en/staff/sign-in/code/"  # type: ignore[index]
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()
    assert done.status_code == 302
    assert done["Location"] == "/en/staff/"
    assert client.get("/en/staff/")["Location"] == "/en/staff/day/"
    assert UserSession.objects.filter(user=user).count() == 1


def test_sign_in_goes_back_to_the_page_asked_for() -> None:
    user = with_authenticator(staff_user(office=open_office()))
    client = Client()
    start(client, user.username, next_url="/en/staff/print/")

    done = client.post("/en/staff/sign-in/code/", {"code": pyotp.TOTP(SECRET).now()})

    assert done["Location"] == "/en/staff/print/"


def test_a_foreign_next_is_ignored() -> None:
    user = with_authenticator(staff_user(office=open_office()))
    client = Client()
    start(client, user.username, next_url="//evil.example/staff/")

    done = client.post("/en/staff/sign-in/code/", {"code": pyotp.TOTP(SECRET).now()})

    assert done["Location"] == "/en/staff/"


def test_a_citizen_with_the_right_password_is_refused_like_a_wrong_password() -> None:
    citizen = make_account()
    staff = with_authenticator(staff_user(office=open_office()))

    as_citizen = start(Client(), citizen.username, password=PASSWORD)
    wrong = start(Client(), staff.username, password="not-the-password")

    assert as_citizen.status_code == 400  # type: ignore[attr-defined]
    assert WRONG_CREDENTIALS in as_citizen.content.decode()  # type: ignore[attr-defined]
    assert WRONG_CREDENTIALS in wrong.content.decode()  # type: ignore[attr-defined]


def test_empty_fields_and_a_wrong_code_are_explained() -> None:
    user = with_authenticator(staff_user(office=open_office()))
    client = Client()

    empty = client.post("/en/staff/sign-in/", {})
    start(client, user.username)
    wrong = client.post(
        "/en/staff/sign-in/code/", {"code": "000000" if pyotp.TOTP(SECRET).now() != "000000" else "111111"}
    )

    assert "Enter your username." in empty.content.decode()
    assert "There is a problem" in wrong.content.decode()
    assert not wrong.wsgi_request.user.is_authenticated


def test_the_code_page_without_a_journey_starts_again() -> None:
    response = Client().get("/en/staff/sign-in/code/")

    assert response.status_code == 302
    assert response["Location"] == "/en/staff/sign-in/"


@pytest.mark.parametrize("demo", [True, False])
def test_the_demo_code_is_shown_in_demo_mode_only(settings, demo: bool) -> None:
    from hawiya.identity.demo_staff import demo_staff_secret
    from hawiya.identity.staff import staff_member_create

    settings.DEMO = demo
    user = staff_member_create(
        username="officer.riyadh", password=STAFF_PASSWORD, role=StaffRole.OFFICER, office=open_office()
    )
    secret = demo_staff_secret("officer.riyadh")
    assert secret is not None
    with_authenticator(user, secret)
    client = Client()
    start(client, "officer.riyadh")

    page = client.get("/en/staff/sign-in/code/").content.decode()

    assert ("data-demo-code" in page) is demo
    if demo:
        assert pyotp.TOTP(secret).now() in page


def test_sign_out_ends_the_session() -> None:
    user = staff_user(office=open_office())
    client = signed_in(user)

    response = client.post("/en/staff/sign-out/")

    assert response.status_code == 302
    assert response["Location"] == "/en/staff/sign-in/"
    assert client.get("/en/staff/day/")["Location"].startswith("/en/staff/sign-in/")


def test_home_sends_each_role_to_its_first_page() -> None:
    office = open_office()
    officer = signed_in(staff_user(office=office)).get("/en/staff/")
    supervisor = signed_in(staff_user(role=StaffRole.SUPERVISOR, office=office)).get("/en/staff/")
    administrator = signed_in(staff_user(role=StaffRole.ADMINISTRATOR, office=None)).get("/en/staff/")

    assert officer["Location"] == "/en/staff/day/"
    assert supervisor["Location"] == "/en/staff/day/"
    assert administrator["Location"] == "/en/staff/supervisor/"


def test_a_signed_in_officer_skips_the_sign_in_page() -> None:
    response = signed_in(staff_user(office=open_office())).get("/en/staff/sign-in/")

    assert response.status_code == 302
    assert response["Location"] == "/en/staff/"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("ar", "يسجّل كثيرون الدخول الآن. انتظر لحظة ثم حاول مرة أخرى."),
        ("en", "Many people are signing in right now. Wait a moment and try again."),
    ],
)
def test_every_hashing_slot_taken_is_the_form_again_as_a_503(settings, language: str, message: str) -> None:
    """Hawiya busy is not a refusal of the staff member: the form keeps the username, with
    Retry-After, like the portal's sign-in."""
    from hawiya.identity.hashers import hashing_slot

    settings.PASSWORD_HASHERS = ["hawiya.identity.hashers.Argon2idHasher"]
    settings.HAWIYA_PASSWORD_HASH_CONCURRENCY = 1
    settings.HAWIYA_PASSWORD_HASH_WAIT_SECONDS = 0.05
    user = with_authenticator(staff_user(office=open_office()))
    client = Client()
    url = f"/{language}/staff/sign-in/"

    with hashing_slot():
        busy = client.post(url, {"username": user.username, "password": STAFF_PASSWORD})

    assert busy.status_code == 503
    assert busy["Retry-After"] == "2"
    html = busy.content.decode()
    assert message in html
    assert f'value="{user.username}"' in html
    # Once a slot is free the same form goes on to the code step.
    assert client.post(url, {"username": user.username, "password": STAFF_PASSWORD}).status_code == 302
