"""My account: change the mobile number (a code to the current number, then one to the new number;
the office route when the current phone is lost or no number is on record)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from hawiya.core import clock
from hawiya.identity import services
from hawiya.identity.models import User
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_session_value
from hawiya.identity.tests.factories import last_code, make_account, next_mobile, person_of
from hawiya.notifications.models import SmsMessage
from hawiya.portal import session_keys
from hawiya.registry.models import Person

from .html import find_all, find_one

pytestmark = pytest.mark.django_db

IP = "192.0.2.21"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
LANGUAGES = ["ar", "en"]
EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture(autouse=True)
def _identity_test_settings(settings: Any) -> Iterator[None]:
    """As in test_account_pages: fast hashing, codes in the demo outbox, no throttle carried over."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()
    yield
    cache.clear()


class Later:
    """Moves hawiya.core.clock forward (resend intervals, expired journeys)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = dt.timedelta()
        monkeypatch.setattr(clock, "now", lambda: timezone.now() + self.offset)

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Later:
    return Later(monkeypatch)


def url(name: str, language: str = "en") -> str:
    with translation.override(language):
        return reverse(f"portal:{name}")


def sign_in(client: Client, user: User, *, fresh: bool = True) -> str:
    """Signed in as the sign-in pages would leave it: a recorded session, recent auth if `fresh`."""
    client.force_login(user)
    session = client.session
    stamp = clock.now() if fresh else clock.now() - dt.timedelta(minutes=30)
    session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(stamp)
    session.save()
    key = session.session_key
    assert key
    services.user_session_record(user=user, session_key=key, ip=IP, user_agent=UA)
    return key


@pytest.fixture
def user() -> User:
    return make_account(date_of_birth=dt.date(1990, 5, 1))


@pytest.fixture
def signed_in(client: Client, user: User) -> str:
    return sign_in(client, user)


def text(response: HttpResponse) -> str:
    return " ".join(response.content.decode().split())


def local(e164: str) -> str:
    """+9665XXXXXXXX as a person types it: 05X XXX XXXX."""
    digits = "0" + e164[4:]
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def start(client: Client, new_mobile: str, language: str = "en") -> Any:
    return client.post(url("account-mobile", language), {"new_mobile": new_mobile})


def in_person(response: HttpResponse) -> bool:
    return response.status_code == 200 and "data-mobile-in-person" in response.content.decode()


# --- The journey ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_change_mobile_number_with_codes_to_both_numbers(client, user, signed_in, language):
    old = person_of(user).mobile
    new = next_mobile()
    typed = local(new).translate(EASTERN) if language == "ar" else local(new)

    page = client.get(url("account-mobile", language))
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in html
    assert len(find_all(html, "h1")) == 1
    field = find_one(html, "input", "hw-input")
    assert field.attrs["type"] == "tel"
    assert field.attrs["autocomplete"] == "tel"
    assert field.attrs["dir"] == "ltr"
    assert f'<bdi dir="ltr">{old[-2:]}</bdi>' in html
    assert find_one(html, "div", "hw-inset")  # the office route, before the form

    one = start(client, typed, language)
    assert one.status_code == 302
    assert one["Location"] == url("account-mobile-current-code", language)
    two_page = client.get(one["Location"])
    assert two_page.status_code == 200
    assert f'<bdi dir="ltr">{old[-2:]}</bdi>' in two_page.content.decode()
    assert find_one(two_page.content, "input", "hw-input").attrs["autocomplete"] == "one-time-code"
    assert len(find_all(two_page.content, "h1")) == 1
    assert SmsMessage.objects.filter(to=new).count() == 0  # nothing to the new number yet

    two = client.post(one["Location"], {"code": last_code(old), "action": "verify"})
    assert two.status_code == 302
    assert two["Location"] == url("account-mobile-new-code", language)
    three_page = client.get(two["Location"])
    assert f'<bdi dir="ltr">{new[-2:]}</bdi>' in three_page.content.decode()
    assert len(find_all(three_page.content, "h1")) == 1

    three = client.post(two["Location"], {"code": last_code(new), "action": "verify"})
    assert three.status_code == 302
    assert three["Location"] == url("account", language)

    assert Person.objects.get(pk=person_of(user).pk).mobile == new
    assert SmsMessage.objects.filter(to=old, template="mobile_changed").count() == 1
    banner = text(client.get(three["Location"]))
    if language == "en":
        assert "Your mobile number was changed. We told your previous number." in banner
    else:
        assert "تم تغيير رقم جوالك" in banner
    assert session_keys.MOBILE_CHANGE not in client.session
    # The journey is over: the code pages send the person back to the start.
    assert client.get(url("account-mobile-new-code", language))["Location"] == url("account-mobile", language)


def test_account_page_links_to_the_change_with_the_row_named(client, user, signed_in):
    page = client.get(url("account", "en")).content.decode()
    links = [a for a in find_all(page, "a", "hw-account-inline-action") if "Change" in a.text]
    assert len(links) == 1
    assert links[0].attrs["href"] == url("account-mobile", "en")
    assert links[0].text.split() == ["Change", "Mobile", "number"]
    assert '<span class="hw-visually-hidden"> Mobile number</span></a>' in page
    assert url("account-mobile", "en") in client.get(url("account-methods", "en")).content.decode()


def test_stale_recent_auth_is_sent_to_reauthenticate(client, user):
    sign_in(client, user, fresh=False)

    for response in (client.get(url("account-mobile", "en")), start(client, local(next_mobile()))):
        assert response.status_code == 302
        assert response["Location"].startswith(url("reauthenticate", "en"))
        assert "next=" in response["Location"]


@pytest.mark.parametrize(
    "name",
    ["account-mobile", "account-mobile-current-code", "account-mobile-new-code", "account-mobile-in-person"],
)
def test_anonymous_people_are_sent_to_sign_in(client, name):
    for response in (client.get(url(name, "ar")), client.post(url(name, "ar"), {"code": "1"})):
        assert response.status_code in (302, 405)
    response = client.get(url(name, "ar"))
    assert response.status_code == 302
    assert "next=" in response["Location"]


# --- Errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["current", "new"])
def test_a_wrong_code_shows_the_error_summary(client, user, signed_in, step):
    old = person_of(user).mobile
    new = next_mobile()
    start(client, local(new))
    page = url("account-mobile-current-code", "en")
    if step == "new":
        client.post(page, {"code": last_code(old)})
        page = url("account-mobile-new-code", "en")

    response = client.post(page, {"code": "000000"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert "The code is wrong" in text(response)
    assert find_one(html, "input", "hw-input").attrs["aria-invalid"] == "true"
    assert find_one(html, "title").text.startswith("Error:")
    assert Person.objects.get(pk=person_of(user).pk).mobile == old


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter your new mobile number."),
        ("12345", "Enter a Saudi mobile number"),
        ("0512", "Enter a Saudi mobile number"),
        ("x" * 500, "Enter a Saudi mobile number"),
    ],
)
def test_an_invalid_number_is_a_field_error_kept_as_typed(client, user, signed_in, typed, message):
    response = start(client, typed)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in text(response)
    field = find_one(html, "input", "hw-input")
    assert field.attrs["aria-invalid"] == "true"
    assert "id_new_mobile-error" in field.attrs["aria-describedby"]
    assert find_one(html, "title").text.startswith("Error:")
    assert session_keys.MOBILE_CHANGE not in client.session


def test_the_current_number_is_refused_as_unchanged_and_not_reformatted(client, user, signed_in):
    typed = local(person_of(user).mobile).replace(" ", "-")

    response = start(client, typed)

    assert response.status_code == 200
    assert "This is already your mobile number on record." in text(response)
    assert find_one(response.content, "input", "hw-input").attrs["value"] == typed
    assert SmsMessage.objects.filter(template="one_time_code", to=person_of(user).mobile).count() == 1


def test_locked_text_messages_lead_to_the_office_route(client, user, signed_in):
    services.sign_in_method_lock(user=user, method="sms", ip=IP, user_agent=UA)

    assert in_person(client.get(url("account-mobile", "en")))
    response = start(client, local(next_mobile()))
    assert in_person(response)
    assert "There is a problem" not in response.content.decode()
    assert "fingerprint" in text(response)


def test_text_messages_locked_during_the_journey_lead_to_the_office_route(client, user, signed_in):
    start(client, local(next_mobile()))
    code = last_code(person_of(user).mobile)
    services.sign_in_method_lock(user=user, method="sms", ip=IP, user_agent=UA)

    resend = client.post(url("account-mobile-current-code", "en"), {"action": "resend"})
    assert in_person(resend)
    start(client, local(next_mobile()))  # refused as well
    assert session_keys.MOBILE_CHANGE not in client.session

    services.sign_in_method_unlock(user=user, method="sms", ip=IP, user_agent=UA)
    start(client, local(next_mobile()))
    services.sign_in_method_lock(user=user, method="sms", ip=IP, user_agent=UA)
    response = client.post(url("account-mobile-current-code", "en"), {"code": code})
    assert in_person(response)
    assert session_keys.MOBILE_CHANGE not in client.session


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_mobile_on_record_leads_to_the_office_route(client, user, signed_in, language):
    Person.objects.filter(pk=person_of(user).pk).update(mobile="")

    page = client.get(url("account-mobile", language))
    assert in_person(page)
    assert len(find_all(page.content, "h1")) == 1
    assert in_person(start(client, local(next_mobile()), language))
    if language == "en":
        assert "No mobile number is registered" in text(page)


def test_the_office_route_page_is_linked_from_the_current_code_page(client, user, signed_in):
    start(client, local(next_mobile()))
    page = client.get(url("account-mobile-current-code", "en")).content.decode()
    assert url("account-mobile-in-person", "en") in page
    for language in LANGUAGES:
        assert in_person(client.get(url("account-mobile-in-person", language)))


@pytest.mark.parametrize("name", ["account-mobile-current-code", "account-mobile-new-code"])
def test_without_a_journey_the_code_pages_go_back_to_step_one(client, user, signed_in, name):
    for response in (client.get(url(name, "en")), client.post(url(name, "en"), {"code": "123456"})):
        assert response.status_code == 302
        assert response["Location"] == url("account-mobile", "en")
    assert "has not started or has expired" in text(client.get(url("account-mobile", "en")))


def test_the_new_code_page_needs_the_current_code_first(client, user, signed_in):
    start(client, local(next_mobile()))

    response = client.get(url("account-mobile-new-code", "en"))

    assert response["Location"] == url("account-mobile", "en")


def test_an_expired_journey_goes_back_to_step_one_with_a_message(client, user, signed_in, later):
    start(client, local(next_mobile()))
    code = last_code(person_of(user).mobile)
    # Active all along (the idle sign-out does not strike), but past the journey's 15 minutes.
    for _ in range(4):
        later.advance(minutes=4)
        client.get(url("account-mobile-current-code", "en"))

    response = client.post(url("account-mobile-current-code", "en"), {"code": code})

    assert response.status_code == 302
    assert response["Location"] == url("account-mobile", "en")
    assert session_keys.MOBILE_CHANGE not in client.session
    sign_in(client, user)  # the recent authentication has aged with the clock
    assert "This step has expired or was already completed." in text(client.get(response["Location"]))


def test_a_tampered_challenge_goes_back_to_step_one(client, user, signed_in):
    start(client, local(next_mobile()))
    session = client.session
    session[session_keys.MOBILE_CHANGE]["challenge"] = "not-a-challenge"
    session.save()

    for data in ({"code": "123456"}, {"action": "resend"}):
        start(client, local(next_mobile()))
        session = client.session
        session[session_keys.MOBILE_CHANGE]["challenge"] = "not-a-challenge"
        session.save()
        response = client.post(url("account-mobile-current-code", "en"), data)
        assert response["Location"] == url("account-mobile", "en")


def test_resend_waits_then_sends_a_new_code(client, user, signed_in, later):
    old = person_of(user).mobile
    new = next_mobile()
    start(client, local(new))
    page = url("account-mobile-current-code", "en")

    too_soon = client.post(page, {"action": "resend"}, follow=True)
    assert "You can ask for a new code in" in text(too_soon)

    first = last_code(old)
    later.advance(seconds=61)
    sent = client.post(page, {"action": "resend"}, follow=True)
    assert "We have sent a new code." in text(sent)
    second = last_code(old)
    assert SmsMessage.objects.filter(to=old, template="one_time_code").count() == 3  # activation + 2

    # The new code works (and, if it differs, the old one no longer does).
    if first != second:
        assert client.post(page, {"code": first}).status_code == 200
    assert client.post(page, {"code": second})["Location"] == url("account-mobile-new-code", "en")

    # Resend on the new-number step goes to the new number.
    later.advance(seconds=61)
    client.post(url("account-mobile-new-code", "en"), {"action": "resend"})
    assert SmsMessage.objects.filter(to=new, template="one_time_code").count() == 2


def test_too_many_codes_shows_the_wait(client, user, signed_in, later):
    start(client, local(next_mobile()))
    page = url("account-mobile-current-code", "en")
    messages_seen = []
    for _ in range(6):
        later.advance(seconds=61)
        messages_seen.append(text(client.post(page, {"action": "resend"}, follow=True)))
    assert any("maximum number of codes" in message for message in messages_seen)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"action": "nonsense"},
        {"code": ""},
        {"code": "x" * 5000},
        {"code": "١٢٣"},
        {"action": "resend", "code": "1"},
    ],
)
def test_empty_and_garbage_posts_never_fail(client, user, signed_in, data):
    assert client.post(url("account-mobile", "en"), data).status_code in (200, 302)
    start(client, local(next_mobile()))
    for name in ("account-mobile-current-code", "account-mobile-new-code"):
        response = client.post(url(name, "en"), data)
        assert response.status_code in (200, 302)
    assert client.post(url("account-mobile-in-person", "en"), data).status_code == 405
