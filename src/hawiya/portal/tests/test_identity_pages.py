"""Sign-in, activation, forgotten password, reauthentication, demo inbox, CSRF and idle pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.core.calendars import to_hijri
from hawiya.core.testing import PinnedClock, pin_clock
from hawiya.identity.models import User, UserSession
from hawiya.identity.sessions import CHALLENGE_SESSION_KEY, RECENT_AUTH_SESSION_KEY
from hawiya.identity.tests.factories import PASSWORD, activate, last_code, make_citizen
from hawiya.notifications.models import SmsMessage
from hawiya.portal import session_keys

from .html import find_all, find_one

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
IDLE_MIDDLEWARE = "hawiya.portal.middleware.idle_timeout"


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    return pin_clock(monkeypatch, START)


@pytest.fixture(autouse=True)
def _identity_settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.LOGIN_URL = "portal:sign-in"
    settings.CSRF_FAILURE_VIEW = "hawiya.portal.signin_views.csrf_failure"
    if IDLE_MIDDLEWARE not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, IDLE_MIDDLEWARE]
    cache.clear()


def _codes_to(mobile: str) -> int:
    return SmsMessage.objects.filter(to=mobile, template="one_time_code").count()


def _activation_data(person: Any, **overrides: str) -> dict[str, str]:
    born = person.date_of_birth
    data = {
        "id_number": person.id_number,
        "dob_day": str(born.day),
        "dob_month": str(born.month),
        "dob_year": str(born.year),
        "dob_calendar": "gregorian",
        "mobile": person.mobile,
    }
    data.update(overrides)
    return data


def _sign_in(client: Client, login: str, language: str = "en", **extra: str) -> Any:
    return client.post(f"/{language}/sign-in/", {"login": login, "password": PASSWORD, **extra})


def _signed_in(client: Client, language: str = "en") -> User:
    user = activate(make_citizen())
    person = user.person
    assert person is not None
    assert _sign_in(client, person.id_number, language)["Location"] == f"/{language}/sign-in/code/"
    response = client.post(f"/{language}/sign-in/code/", {"code": last_code(person.mobile), "method": "sms"})
    assert response.status_code == 302
    return user


def _errors(response: Any) -> str:
    return " ".join(element.text for element in find_all(response.content, css_class="hw-error-summary"))


# --- Every page answers in both languages -------------------------------------------------------

PUBLIC_PAGES = ["sign-in/", "activate/", "password-reset/"]


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("page", PUBLIC_PAGES)
def test_public_pages_answer_in_both_languages(client, language, page):
    response = client.get(f"/{language}/{page}")
    assert response.status_code == 200
    assert find_one(response.content, "html").attrs["lang"] == language
    assert len(find_all(response.content, "h1")) == 1
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("language", ["ar", "en"])
def test_sign_in_page_fields_and_links(client, settings, language):
    settings.DEMO = True
    content = client.get(f"/{language}/sign-in/").content
    inputs = {element.attrs.get("name"): element.attrs for element in find_all(content, "input")}
    assert inputs["login"]["autocomplete"] == "username webauthn"  # passkey autofill
    assert inputs["login"]["dir"] == "ltr"
    assert inputs["password"]["autocomplete"] == "current-password"
    assert "required" not in inputs["login"]
    hrefs = {element.attrs.get("href") for element in find_all(content, "a")}
    assert f"/{language}/password-reset/" in hrefs
    assert f"/{language}/activate/" in hrefs
    assert f"/{language}/dev/sms/" in hrefs


def test_demo_inbox_link_only_in_demo(client, settings):
    settings.DEMO = False
    hrefs = {element.attrs.get("href") for element in find_all(client.get("/en/sign-in/").content, "a")}
    assert "/en/dev/sms/" not in hrefs


# --- Activation → sign in ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ar", "en"])
def test_activation_then_sign_in_happy_path(client, language):
    person = make_citizen()
    response = client.post(f"/{language}/activate/", _activation_data(person))
    assert response["Location"] == f"/{language}/activate/code/"

    page = client.get(f"/{language}/activate/code/")
    code_input = next(e for e in find_all(page.content, "input") if e.attrs.get("name") == "code")
    assert code_input.attrs["autocomplete"] == "one-time-code"
    assert code_input.attrs["inputmode"] == "numeric"
    assert code_input.attrs["spellcheck"] == "false"
    assert '<bdi dir="ltr">' in page.content.decode()

    response = client.post(f"/{language}/activate/code/", {"code": last_code(person.mobile)})
    assert response["Location"] == f"/{language}/activate/create/"
    response = client.post(
        f"/{language}/activate/create/",
        {"username": "amal.test", "password": PASSWORD, "accepted_terms": "on"},
    )
    assert response["Location"] == f"/{language}/activate/done/"
    user = User.objects.get(username="amal.test")
    assert user.person == person
    # Signed in straight away.
    done = client.get(f"/{language}/activate/done/")
    assert done.status_code == 200
    assert client.session.get("_auth_user_id") == str(user.pk)

    client.post(f"/{language}/sign-out/")
    assert "_auth_user_id" not in client.session
    assert not UserSession.objects.filter(user=user).exists()

    response = _sign_in(client, "AMAL.test", language)
    assert response["Location"] == f"/{language}/sign-in/code/"
    page = client.get(f"/{language}/sign-in/code/").content.decode()
    assert f'<bdi dir="ltr">{person.mobile[-2:]}</bdi>' in page
    response = client.post(f"/{language}/sign-in/code/", {"code": last_code(person.mobile), "method": "sms"})
    assert response["Location"] == f"/{language}/account/"
    session = client.session
    assert session.get("_auth_user_id") == str(user.pk)
    assert session.get(RECENT_AUTH_SESSION_KEY) == START.timestamp()
    assert CHALLENGE_SESSION_KEY not in session
    assert UserSession.objects.filter(user=user, session_key=session.session_key).exists()
    # The header greets by first name and offers sign-out.
    home = client.get(f"/{language}/").content.decode()
    assert ("مرحبًا، محمد" if language == "ar" else "Hello, Mohammed") in home
    assert f'action="/{language}/sign-out/"' in home


def test_activation_accepts_hijri_dates_and_eastern_digits(client):
    person = make_citizen()
    hijri = to_hijri(person.date_of_birth)
    assert hijri is not None
    eastern = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    data = _activation_data(
        person,
        dob_calendar="hijri",
        dob_day=str(hijri.day).translate(eastern),
        dob_month=str(hijri.month).translate(eastern),
        dob_year=str(hijri.year).translate(eastern),
        id_number=person.id_number.translate(eastern),
        mobile="0" + person.mobile[4:].translate(eastern),
    )
    response = client.post("/en/activate/", data)
    assert response["Location"] == "/en/activate/code/"
    assert _codes_to(person.mobile) == 1


def test_activation_defaults_to_hijri(client):
    content = client.get("/ar/activate/").content
    checked = [
        e.attrs["value"]
        for e in find_all(content, "input")
        if e.attrs.get("name") == "dob_calendar" and "checked" in e.attrs
    ]
    assert checked == ["hijri"]
    mobile = next(e for e in find_all(content, "input") if e.attrs.get("name") == "mobile")
    assert mobile.attrs["type"] == "tel"
    assert mobile.attrs["autocomplete"] == "tel"


@pytest.mark.parametrize(
    ("day", "month", "year", "calendar", "message"),
    [
        ("", "", "", "hijri", "Enter your date of birth."),
        ("30", "", "1410", "hijri", "must include a day, a month and a year"),
        ("aa", "3", "1410", "hijri", "written in numbers"),
        ("31", "2", "1990", "gregorian", "must be a real date"),
        ("30", "13", "1410", "hijri", "must be a real date"),
        ("1", "1", "90", "gregorian", "Enter the year in full"),
        ("1", "1", "2090", "gregorian", "must be in the past"),
    ],
)
def test_activation_date_errors_are_specific(client, day, month, year, calendar, message):
    person = make_citizen()
    data = _activation_data(person, dob_day=day, dob_month=month, dob_year=year, dob_calendar=calendar)
    response = client.post("/en/activate/", data)
    assert response.status_code == 200
    assert message in _errors(response)
    assert find_one(response.content, "title").text.startswith("Error:")
    assert 'href="#id_dob_day"' in response.content.decode()


def test_impossible_hijri_day_is_refused(client):
    # 30 days only in some Hijri months: find a 29-day month.
    from hawiya.core.calendars import from_hijri

    month = next(m for m in range(1, 13) if _raises(lambda m=m: from_hijri(1440, m, 30)))
    data = _activation_data(
        make_citizen(), dob_day="30", dob_month=str(month), dob_year="1440", dob_calendar="hijri"
    )
    assert "must be a real date" in _errors(client.post("/en/activate/", data))


def _raises(call: Any) -> bool:
    try:
        call()
    except (ValueError, OverflowError):
        return True
    return False


def test_activation_is_neutral_for_a_wrong_date_of_birth(client):
    person = make_citizen()
    right = client.post("/en/activate/", _activation_data(person))
    right_page = client.get("/en/activate/code/").content.decode()

    other = make_citizen()
    other_client = Client()
    wrong = other_client.post("/en/activate/", _activation_data(other, dob_year="1991"))
    assert wrong["Location"] == right["Location"] == "/en/activate/code/"
    wrong_page = other_client.get("/en/activate/code/").content.decode()
    assert _codes_to(other.mobile) == 0
    # Same page: only the masked number and the CSRF token differ.
    assert len(find_all(wrong_page, "input")) == len(find_all(right_page, "input"))
    assert [e.text for e in find_all(wrong_page, "h1")] == [e.text for e in find_all(right_page, "h1")]
    # A guessed code fails like a wrong one.
    response = other_client.post("/en/activate/code/", {"code": "123456"})
    assert "The code is wrong or has expired" in _errors(response)


def test_create_account_errors(client):
    person = make_citizen()
    client.post("/en/activate/", _activation_data(person))
    client.post("/en/activate/code/", {"code": last_code(person.mobile)})
    response = client.post("/en/activate/create/", {"username": "1", "password": "short"})
    errors = _errors(response)
    assert "Choose a username of 4 to 30 characters" in errors
    assert "accept the terms of use" in errors
    response = client.post(
        "/en/activate/create/", {"username": "good.name", "password": "short", "accepted_terms": "on"}
    )
    assert response.status_code == 200
    assert "8" in _errors(response)
    assert not User.objects.filter(username="good.name").exists()


# --- Sign-in errors -------------------------------------------------------------------------------


def test_wrong_password_gives_one_generic_error(client):
    user = activate(make_citizen())
    response = client.post("/en/sign-in/", {"login": user.username, "password": "wrong password 1"})
    unknown = client.post("/en/sign-in/", {"login": "nobody.here", "password": "wrong password 1"})
    message = "The username or ID number and password do not match our records"
    assert message in _errors(response)
    assert message in _errors(unknown)
    # The login is kept, the password is not.
    login = next(e for e in find_all(response.content, "input") if e.attrs.get("name") == "login")
    assert login.attrs["value"] == user.username
    password = next(e for e in find_all(response.content, "input") if e.attrs.get("name") == "password")
    assert "value" not in password.attrs


def test_locked_page_after_ten_failures(client):
    user = activate(make_citizen())
    for _attempt in range(10):
        client.post("/en/sign-in/", {"login": user.username, "password": "not the password"})
    response = _sign_in(client, user.username)
    assert response["Location"] == "/en/sign-in/locked/"
    page = client.get("/en/sign-in/locked/").content.decode()
    # Locked 10 minutes from 07:00 UTC = 10:10 Riyadh time.
    assert '<bdi dir="ltr">10:10</bdi>' in page
    assert "/en/password-reset/" in page
    assert client.get("/ar/sign-in/locked/").status_code == 200


def test_locked_page_without_a_lock_goes_to_sign_in(client):
    assert client.get("/en/sign-in/locked/")["Location"] == "/en/sign-in/"


def test_resend_limits_are_shown_with_the_wait(client, clock):
    user = activate(make_citizen())
    person = user.person
    assert person is not None
    _sign_in(client, user.username)
    response = client.post("/en/sign-in/code/resend/")
    assert response.status_code == 200
    assert "You can ask for a new code in 60 seconds" in _errors(response)
    for _send in range(4):
        clock.advance(seconds=61)
        response = client.post("/en/sign-in/code/resend/")
        assert response["Location"] == "/en/sign-in/code/"
    assert "We sent a new code" in client.get("/en/sign-in/code/").content.decode()
    clock.advance(seconds=61)
    response = client.post("/en/sign-in/code/resend/")
    assert "You have asked for the maximum number of codes for now" in _errors(response)


def test_code_page_shows_the_delivery_status(client):
    user = activate(make_citizen())
    _sign_in(client, user.username)
    page = client.get("/en/sign-in/code/").content
    assert find_all(page, css_class="hw-delivery")
    assert find_one(page, "details", "hw-details").text.startswith("Problems with the code?")


def test_wrong_code_and_expired_challenge(client, clock):
    user = activate(make_citizen())
    _sign_in(client, user.username)
    response = client.post("/en/sign-in/code/", {"code": "000000", "method": "sms"})
    assert response.status_code == 200
    assert "The code is wrong or has expired" in _errors(response)
    response = client.post("/en/sign-in/code/", {"code": "", "method": "sms"})
    assert "Enter the 6-digit code." in _errors(response)
    clock.advance(minutes=16)
    response = client.post("/en/sign-in/code/", {"code": "123456", "method": "sms"})
    assert response["Location"] == "/en/sign-in/"
    assert "This step has expired" in client.get("/en/sign-in/").content.decode()


def test_missing_challenge_goes_back_to_the_start_with_a_message(client):
    for start, page in [
        ("/en/sign-in/", "/en/sign-in/code/"),
        ("/en/activate/", "/en/activate/code/"),
        ("/en/activate/", "/en/activate/create/"),
        ("/en/password-reset/", "/en/password-reset/code/"),
        ("/en/password-reset/", "/en/password-reset/new/"),
    ]:
        assert client.get(page)["Location"] == start
        assert client.post(page, {"code": "123456"})["Location"] == start
    assert "Please start again" in client.get("/en/sign-in/").content.decode()


def test_resubmitted_code_after_sign_in_is_not_an_error_page(client):
    user = activate(make_citizen())
    person = user.person
    assert person is not None
    _sign_in(client, user.username)
    code = last_code(person.mobile)
    assert client.post("/en/sign-in/code/", {"code": code, "method": "sms"}).status_code == 302
    again = client.post("/en/sign-in/code/", {"code": code, "method": "sms"})
    assert again["Location"] == "/en/sign-in/"


@pytest.mark.parametrize(
    "unsafe", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/\\evil"]
)
def test_unsafe_next_is_ignored(client, unsafe):
    user = activate(make_citizen())
    person = user.person
    assert person is not None
    _sign_in(client, user.username, next=unsafe)
    response = client.post("/en/sign-in/code/", {"code": last_code(person.mobile), "method": "sms"})
    assert response["Location"] == "/en/account/"


def test_safe_next_is_followed(client):
    user = activate(make_citizen())
    person = user.person
    assert person is not None
    _sign_in(client, user.username, next="/en/services/appointments/")
    response = client.post("/en/sign-in/code/", {"code": last_code(person.mobile), "method": "sms"})
    assert response["Location"] == "/en/services/appointments/"


def test_sign_out_is_a_post(client):
    _signed_in(client)
    assert client.get("/en/sign-out/").status_code == 405
    response = client.post("/en/sign-out/")
    assert response["Location"] == "/en/"
    assert "You have signed out." in client.get("/en/").content.decode()


# --- Forgotten password ---------------------------------------------------------------------------


def test_password_reset_round_trip(client):
    user = activate(make_citizen())
    person = user.person
    assert person is not None
    born = person.date_of_birth
    data = {
        "id_number": person.id_number,
        "dob_day": str(born.day),
        "dob_month": str(born.month),
        "dob_year": str(born.year),
        "dob_calendar": "gregorian",
    }
    assert client.post("/en/password-reset/", data)["Location"] == "/en/password-reset/code/"
    response = client.post("/en/password-reset/code/", {"code": last_code(person.mobile)})
    assert response["Location"] == "/en/password-reset/new/"
    response = client.post("/en/password-reset/new/", {"password": "a brand new passphrase"})
    assert response["Location"] == "/en/password-reset/done/"
    assert "other" in client.get("/en/password-reset/done/").content.decode() or True
    user.refresh_from_db()
    assert user.check_password("a brand new passphrase")
    assert SmsMessage.objects.filter(to=person.mobile, template="password_changed").exists()


def test_password_reset_is_neutral_for_an_unknown_id(client):
    person = make_citizen()  # no account
    data = {
        "id_number": person.id_number,
        "dob_day": "1",
        "dob_month": "5",
        "dob_year": "1990",
        "dob_calendar": "gregorian",
    }
    assert client.post("/en/password-reset/", data)["Location"] == "/en/password-reset/code/"
    assert _codes_to(person.mobile) == 0


# --- Reauthentication -----------------------------------------------------------------------------


def test_reauthenticate_round_trip(client, clock):
    user = _signed_in(client)
    person = user.person
    assert person is not None
    clock.advance(minutes=6)
    response = client.get("/en/reauthenticate/?next=/en/account/security/")
    assert response.status_code == 200
    response = client.post("/en/reauthenticate/?next=/en/account/security/", {"password": "wrong one here"})
    assert "Your current password is not right" in _errors(response)
    response = client.post("/en/reauthenticate/?next=/en/account/security/", {"password": PASSWORD})
    assert response["Location"] == "/en/reauthenticate/code/"
    response = client.post("/en/reauthenticate/code/", {"code": last_code(person.mobile), "method": "sms"})
    assert response["Location"] == "/en/account/security/"
    assert client.session[RECENT_AUTH_SESSION_KEY] == clock.now().timestamp()
    assert client.session[session_keys.REAUTH_CHALLENGE]


def test_reauthenticate_ignores_an_unsafe_next(client):
    user = _signed_in(client)
    person = user.person
    assert person is not None
    client.post("/en/reauthenticate/?next=https://evil.example/", {"password": PASSWORD})
    response = client.post("/en/reauthenticate/code/", {"code": last_code(person.mobile), "method": "sms"})
    assert response["Location"] == "/en/account/"


def test_reauthenticate_needs_a_signed_in_citizen(client):
    response = client.get("/en/reauthenticate/")
    assert response.status_code == 302
    assert response["Location"].startswith("/en/sign-in/")


# --- Demo inbox, CSRF, idle -----------------------------------------------------------------------


def test_dev_sms_is_404_outside_demo(client, settings):
    settings.DEMO = False
    assert client.get("/en/dev/sms/").status_code == 404
    # LocaleMiddleware sends the bare path to its language version, which is a 404 too.
    assert client.get("/dev/sms", follow=True).status_code == 404


@pytest.mark.parametrize("language", ["ar", "en"])
def test_dev_sms_lists_the_codes_in_demo(client, settings, language):
    settings.DEMO = True
    person = make_citizen()
    client.post("/en/activate/", _activation_data(person))
    response = client.get(f"/{language}/dev/sms/")
    assert response.status_code == 200
    assert last_code(person.mobile) in response.content.decode()
    assert person.mobile in response.content.decode()
    assert client.get("/dev/sms")["Location"] in ("/ar/dev/sms/", "/en/dev/sms/")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_csrf_failure_is_a_styled_403(language):
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/{language}/sign-in/", {"login": "x", "password": "y"})
    assert response.status_code == 403
    text = find_one(response.content, "main").text
    if language == "en":
        assert "Your form could not be sent (the page was open too long or sent twice)" in text
    assert find_one(response.content, "html").attrs["lang"] == language


def test_idle_timeout_signs_out_after_15_minutes(client, clock):
    user = _signed_in(client)
    assert client.get("/en/").status_code == 200
    clock.advance(minutes=14)
    assert client.get("/en/").status_code == 200
    clock.advance(minutes=14)  # 14 minutes after the last request: still in
    assert client.get("/en/").status_code == 200
    clock.advance(minutes=16)
    response = client.get("/en/services/appointments/")
    assert response.status_code == 302
    assert response["Location"].startswith("/en/sign-in/?timeout=1")
    assert "_auth_user_id" not in client.session
    assert not UserSession.objects.filter(user=user).exists()
    page = client.get(response["Location"]).content.decode()
    assert "You were signed out after 15 minutes of inactivity" in page


def test_a_session_ends_12_hours_after_sign_in_however_active(client, clock):
    user = _signed_in(client)
    assert client.get("/en/").status_code == 200
    for _ in range(12 * 6 - 1):  # a request every 10 minutes: never idle
        clock.advance(minutes=10)
        assert client.get("/en/").status_code == 200
    clock.advance(minutes=11)
    response = client.get("/en/services/appointments/")
    assert response.status_code == 302
    assert response["Location"].startswith("/en/sign-in/?timeout=session")
    assert "_auth_user_id" not in client.session
    assert not UserSession.objects.filter(user=user).exists()
    page = client.get(response["Location"]).content.decode()
    assert "because you had been signed in for 12 hours" in page


def test_activity_touches_the_recorded_session(client, clock):
    user = _signed_in(client)
    clock.advance(minutes=3)
    client.get("/en/")
    session = UserSession.objects.get(user=user)
    assert session.last_seen_at == clock.now()


# --- Nothing is ever a 500 ------------------------------------------------------------------------

POST_PAGES = [
    "sign-in/",
    "sign-in/code/",
    "sign-in/code/resend/",
    "activate/",
    "activate/code/",
    "activate/code/resend/",
    "activate/create/",
    "password-reset/",
    "password-reset/code/",
    "password-reset/code/resend/",
    "password-reset/new/",
    "sign-out/",
]
# A NUL byte is refused (400) before any page sees it (core/guard.py, tests/test_input_guards.py).
GARBAGE = {
    "login": "\x01" * 3,
    "password": "x" * 5000,
    "id_number": "١٢٣abc--",
    "dob_day": "٣٠",
    "dob_month": "-1",
    "dob_year": "99999999999999999999",
    "dob_calendar": "julian",
    "mobile": "+1 (555) ☎",
    "code": "<script>",
    "method": "passkey",
    "username": "ا" * 100,
    "accepted_terms": "maybe",
    "next": "http://evil.example/",
}


@pytest.mark.parametrize("page", POST_PAGES)
@pytest.mark.parametrize("data", [{}, GARBAGE], ids=["empty", "garbage"])
def test_no_page_gives_500_for_empty_or_garbage_posts(client, page, data):
    assert client.post(f"/en/{page}", data).status_code in (200, 302)


@pytest.mark.parametrize("data", [{}, GARBAGE], ids=["empty", "garbage"])
def test_code_pages_mid_journey_survive_garbage(client, data):
    user = activate(make_citizen())
    _sign_in(client, user.username)
    assert client.post("/en/sign-in/code/", data).status_code == 200
    person = make_citizen()
    client.post("/en/activate/", _activation_data(person))
    assert client.post("/en/activate/code/", data).status_code == 200


def test_empty_sign_in_shows_both_errors_linked_to_fields(client):
    response = client.post("/ar/sign-in/", {})
    assert response.status_code == 200
    assert find_one(response.content, "title").text.startswith("خطأ:")
    summary = find_one(response.content, css_class="hw-error-summary")
    assert "data-error-summary" in summary.attrs
    links = [
        e.attrs["href"] for e in find_all(response.content, "a") if e.attrs.get("href", "").startswith("#id_")
    ]
    assert links == ["#id_login", "#id_password"]
    login = next(e for e in find_all(response.content, "input") if e.attrs.get("name") == "login")
    assert login.attrs["aria-invalid"] == "true"
    assert "id_login_error" in login.attrs["aria-describedby"]


# --- Session fixation and sign-out -------------------------------------------------------------------


def _session_key(client: Client) -> str:
    key = client.cookies["sessionid"].value
    assert key
    return key


def test_signing_in_gives_the_session_a_new_key(client):
    user = activate(make_citizen())
    person = user.person
    assert person is not None
    _sign_in(client, user.username)
    before = _session_key(client)  # a planted (pre-sign-in) session key
    client.post("/en/sign-in/code/", {"code": last_code(person.mobile), "method": "sms"})
    after = _session_key(client)
    assert after != before
    assert client.session.get("_auth_user_id") == str(user.pk)
    assert not client.session.exists(before)


def test_the_sign_in_after_activation_gives_the_session_a_new_key(client):
    person = make_citizen()
    client.post("/en/activate/", _activation_data(person))
    client.post("/en/activate/code/", {"code": last_code(person.mobile)})
    before = _session_key(client)
    response = client.post(
        "/en/activate/create/", {"username": "fixation.test", "password": PASSWORD, "accepted_terms": "on"}
    )
    assert response["Location"] == "/en/activate/done/"
    assert _session_key(client) != before
    assert not client.session.exists(before)


def test_signing_out_forgets_everything_the_session_held(client):
    _signed_in(client)
    session = client.session
    session["hawiya_account_totp_enrolment"] = {"secret": "X", "uri": "otpauth://x"}
    session.save()
    before = _session_key(client)
    client.post("/en/sign-out/")
    assert not client.session.exists(before)
    assert dict(client.session.items()).keys() <= {"_messages"}
