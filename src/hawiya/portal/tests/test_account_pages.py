"""My account pages: profile, security history and sessions, sign-in methods, change password."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from importlib import import_module
from typing import Any

import pyotp
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.core import clock
from hawiya.core.errors import ApplicationError
from hawiya.identity import services
from hawiya.identity.models import (
    AuthenticatorApp,
    MethodLock,
    RecoveryCode,
    SecurityEvent,
    User,
    UserSession,
)
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_session_value
from hawiya.identity.tests.factories import PASSWORD, last_code, make_account, person_of
from hawiya.registry.models import DocumentKind, DocumentStatus
from hawiya.registry.tests.factories import make_address, make_document, make_lost_document

from .html import find_all, find_one

pytestmark = pytest.mark.django_db

IP = "192.0.2.20"
UA = (
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36"
)
LANGUAGES = ["ar", "en"]


@pytest.fixture(autouse=True)
def _identity_test_settings(settings: Any) -> Iterator[None]:
    """As in the identity tests: fast hashing, codes kept in the demo outbox, no throttle carried
    over from another test (every test activates accounts from the same address)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()
    yield
    cache.clear()


def url(name: str, language: str = "en", *args: Any) -> str:
    with translation.override(language):
        return reverse(f"portal:{name}", args=args)


def sign_in(client: Client, user: User, *, fresh: bool = True) -> str:
    """Signed in as the sign-in pages would leave it: a recorded session, recent auth if `fresh`."""
    client.force_login(user)
    session = client.session
    if fresh:
        session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(clock.now())
    else:
        session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(clock.now() - dt.timedelta(minutes=30))
    session.save()
    key = session.session_key
    assert key
    services.user_session_record(user=user, session_key=key, ip=IP, user_agent=UA)
    return key


def other_session(user: User) -> UserSession:
    """A second signed-in browser of `user`."""
    store = import_module(django_settings.SESSION_ENGINE).SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store.create()
    return services.user_session_record(
        user=user,
        session_key=store.session_key,
        ip="198.51.100.7",
        user_agent="Mozilla/5.0 (iPhone) Safari/604.1",
    )


def session_exists(key: str) -> bool:
    return bool(import_module(django_settings.SESSION_ENGINE).SessionStore().exists(key))


@pytest.fixture
def user() -> User:
    return make_account(date_of_birth=dt.date(1990, 5, 1))


@pytest.fixture
def signed_in(client: Client, user: User) -> str:
    return sign_in(client, user)


def text(response: HttpResponse) -> str:
    return " ".join(response.content.decode().split())


# --- Every page, both languages, owner and anonymous -------------------------------------------

GET_PAGES = [
    "account",
    "account-security",
    "account-methods",
    "account-sms-lock",
    "account-authenticator-start",
    "account-recovery-codes",
    "account-password",
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", GET_PAGES)
def test_each_page_is_shown_to_the_owner(client, signed_in, name, language):
    response = client.get(url(name, language))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in html
    assert len(find_all(html, "h1")) == 1


@pytest.mark.parametrize("name", [*GET_PAGES, "account-authenticator-set-up", "account-password-code"])
def test_anonymous_people_are_sent_to_sign_in(client, name):
    response = client.get(url(name, "ar"))

    assert response.status_code == 302
    assert "next=" in response["Location"]


def test_the_report_confirmation_and_the_after_page_render_in_both_languages(client, user, signed_in):
    event = SecurityEvent.objects.filter(user=user).first()
    assert event is not None
    for language in LANGUAGES:
        page = client.get(url("account-report", language, event.pk))
        assert page.status_code == 200
        assert "<form" in page.content.decode()
        assert client.get(url("account-reported", language)).status_code == 200


# --- My account ---------------------------------------------------------------------------------


def test_account_greets_by_first_name_and_shows_the_register_record(client, user, signed_in):
    ar = text(client.get(url("account", "ar")))
    en = text(client.get(url("account", "en")))

    assert "مرحبًا، محمد" in ar
    assert "حسابي" in ar
    assert "بياناتك في السجل المدني" in ar
    assert "محمد عبدالله سعد العتيبي" in ar
    assert "Hello, Mohammed" in en
    assert "Mohammed Abdullah Saad Alotaibi" in en


def test_id_number_is_masked_until_the_person_asks_to_see_it(client, user, signed_in):
    number = person_of(user).id_number
    masked = f"{number[0]}•••••••{number[-2:]}"

    page = client.get(url("account", "en")).content.decode()
    assert number not in page
    assert f'<bdi dir="ltr">{masked}</bdi>' in page
    assert "?reveal=id" in page

    revealed = client.get(url("account", "en") + "?reveal=id").content.decode()
    assert f'<bdi dir="ltr">{number}</bdi>' in revealed


def test_date_of_birth_shows_both_calendars_with_the_registers_first(client, user, signed_in):
    person = person_of(user)
    value = find_all(client.get(url("account", "en")).content, "dd", "hw-summary__value")[2].text

    assert "1990" in value
    assert "1410" in value  # 1 May 1990 = 6 Shawwal 1410
    first_calendar_hijri = person.date_of_birth_calendar == "hijri"
    assert (value.index("1410") < value.index("1990")) == first_calendar_hijri


def test_a_year_only_date_of_birth_shows_only_the_year(client):
    owner = make_account(date_of_birth=dt.date(1960, 1, 1), date_of_birth_precision="year")
    sign_in(client, owner)

    value = find_all(client.get(url("account", "en")).content, "dd", "hw-summary__value")[2].text

    assert "1960" in value
    assert "January" not in value
    assert re.search(r"\b1\b", value) is None


def test_national_address_is_shown_with_ltr_numbers(client, user, signed_in):
    make_address(person_of(user))

    page = client.get(url("account", "en")).content.decode()
    ar = client.get(url("account", "ar")).content.decode()

    assert "Al Takhassusi Street" in page
    assert "Al Maather" in page
    assert '<bdi dir="ltr">12345-8538</bdi>' in page
    assert '<bdi dir="ltr">RRRD2929</bdi>' in page
    assert "شارع التخصصي" in ar
    assert "المعذر" in ar


def test_without_a_national_address_the_page_says_what_to_do(client, user, signed_in):
    page = text(client.get(url("account", "en")))

    assert "No National Address is registered." in page
    assert "Saudi Post" in page


def test_mobile_shows_only_the_last_two_digits_and_how_to_change_it(client, user, signed_in):
    mobile = person_of(user).mobile
    page = client.get(url("account", "en")).content.decode()

    assert mobile not in page
    assert mobile[-9:] not in page
    assert f'<bdi dir="ltr">{mobile[-2:]}</bdi>' in page
    assert "civil affairs office" in page


@pytest.mark.parametrize(
    ("language", "card", "certificate", "valid", "lost", "expiry", "never"),
    [
        (
            "ar",
            "بطاقة الهوية الوطنية",
            "شهادة الميلاد",
            "سارية",
            "مُبلَّغ عن فقدانها",
            "5 يناير 2030م",
            "لا تنتهي",
        ),
        (
            "en",
            "National ID card",
            "Birth certificate",
            "Valid",
            "Reported lost",
            "5 January 2030",
            "Does not expire",
        ),
    ],
)
def test_account_lists_the_persons_documents_with_status_and_expiry_in_both_calendars(
    client, user, signed_in, language, card, certificate, valid, lost, expiry, never
):
    person = person_of(user)
    make_document(holder=person, kind=DocumentKind.BIRTH_CERTIFICATE, issue_date=dt.date(1990, 5, 3))
    make_lost_document(holder=person, issue_date=dt.date(2020, 1, 5))
    with translation.override(language):
        expected_status = {
            "national_id_card": str(DocumentStatus.REPORTED_LOST.label),
            "birth_certificate": str(DocumentStatus.VALID.label),
        }
    assert expected_status == {"national_id_card": lost, "birth_certificate": valid}

    html = client.get(url("account", language)).content.decode()
    cards = find_all(html, "li", "hw-account-card")
    assert [card_.attrs.get("data-document") for card_ in cards] == ["national_id_card", "birth_certificate"]
    id_card, birth = (" ".join(item.text.split()) for item in cards)
    assert card in id_card
    assert lost in id_card
    # 5 January 2030 is 2 Ramadan 1451: both calendars.
    assert expiry in id_card
    assert "1451" in id_card
    assert certificate in birth
    assert valid in birth
    assert never in birth


def test_a_valid_card_past_its_expiry_date_is_shown_expired(client, user, signed_in):
    make_document(holder=person_of(user), issue_date=dt.date(2010, 1, 5), expiry_date=dt.date(2020, 1, 5))

    html = client.get(url("account", "en")).content.decode()

    assert 'data-document-status="expired"' in html


def test_a_person_with_no_document_is_told_so(client, user, signed_in):
    assert "No document is recorded in your name" in text(client.get(url("account", "en")))


# --- Security: activity, "this wasn't me", sessions -------------------------------------------


def test_activity_is_listed_newest_first_with_translated_names(client, user, signed_in):
    services.recovery_codes_generate(user=user, ip=IP, user_agent=UA)
    en = client.get(url("account-security", "en")).content.decode()
    ar = client.get(url("account-security", "ar")).content.decode()

    assert en.index("Sign-in method added") < en.index("Account activated")
    assert "تفعيل" in ar or "الحساب" in ar
    assert "Chrome on Android" in re.sub(r"<[^>]+>", "", en)
    assert '<bdi dir="ltr">Chrome</bdi>' in ar
    assert "This wasn&#x27;t me" in en or "This wasn't me" in en


@pytest.mark.parametrize(("language", "hijri"), [("ar", "هـ)"), ("en", " AH)")])
def test_activity_and_sessions_show_their_times_in_both_calendars(client, user, signed_in, language, hijri):
    html = client.get(url("account-security", language)).content.decode()

    facts = [" ".join(item.text.split()) for item in find_all(html, "dl", "hw-account-facts")]
    assert facts
    assert all(hijri in fact for fact in facts)


def test_this_wasnt_me_blocks_the_account_ends_every_session_and_signs_out(client, user, signed_in):
    other = other_session(user)
    event = SecurityEvent.objects.filter(user=user).first()
    assert event is not None

    response = client.post(url("account-report", "en", event.pk))

    assert response.status_code == 302
    assert response["Location"] == url("account-reported", "en")
    assert not UserSession.objects.filter(user=user).exists()
    assert not session_exists(signed_in)
    assert not session_exists(other.session_key)
    assert "_auth_user_id" not in client.session
    after = client.get(response["Location"])
    assert after.status_code == 200
    assert "reset your password" in text(after).lower()
    with pytest.raises(ApplicationError) as refused:
        services.sign_in_start(login=user.username, password=PASSWORD, ip=IP, user_agent=UA)
    assert refused.value.code == "account_blocked"


@pytest.mark.parametrize("event_id", ["999999", "abc", "0", "-1", "99999999999999999999999", "1e3"])
def test_reporting_an_unknown_or_malformed_event_is_a_404(client, signed_in, event_id):
    assert client.get(f"/en/account/security/activity/{event_id}/not-me/").status_code == 404
    assert client.post(f"/en/account/security/activity/{event_id}/not-me/").status_code == 404


def test_another_persons_event_cannot_be_reported(client, signed_in):
    stranger = make_account()
    event = SecurityEvent.objects.filter(user=stranger).first()
    assert event is not None

    assert client.get(url("account-report", "en", event.pk)).status_code == 404
    assert client.post(url("account-report", "en", event.pk)).status_code == 404
    event.refresh_from_db()
    assert event.reported_at is None


def test_sessions_are_listed_with_this_device_marked(client, user, signed_in):
    other_session(user)
    page = client.get(url("account-security", "en")).content.decode()
    cards = find_all(page, "li", "hw-account-card--current")

    assert len(cards) == 1
    assert "This device" in cards[0].text
    assert "Safari on iOS" in re.sub(r"<[^>]+>", "", page)
    assert len(re.findall(r'action="/en/account/security/sessions/[0-9]+/sign-out/"', page)) == 1
    assert "Sign out everywhere else" in page


def test_signing_out_another_session(client, user, signed_in):
    other = other_session(user)

    response = client.post(url("account-session-revoke", "en", other.pk))

    assert response.status_code == 302
    assert not UserSession.objects.filter(pk=other.pk).exists()
    assert not session_exists(other.session_key)
    assert session_exists(signed_in)
    assert "The other device has been signed out." in text(client.get(response["Location"]))


def test_revoking_another_users_session_is_a_404_and_changes_nothing(client, signed_in):
    stranger = make_account()
    theirs = other_session(stranger)

    response = client.post(url("account-session-revoke", "en", theirs.pk))

    assert response.status_code == 404
    assert UserSession.objects.filter(pk=theirs.pk).exists()
    assert session_exists(theirs.session_key)


@pytest.mark.parametrize("session_id", ["abc", "0", "99999999999999999999999", "12a"])
def test_revoking_a_malformed_session_id_is_a_404(client, signed_in, session_id):
    assert client.post(f"/en/account/security/sessions/{session_id}/sign-out/").status_code == 404


def test_revoke_by_get_is_not_allowed(client, user, signed_in):
    other = other_session(user)
    assert client.get(url("account-session-revoke", "en", other.pk)).status_code == 405
    assert UserSession.objects.filter(pk=other.pk).exists()


def test_sign_out_everywhere_else_keeps_this_session(client, user, signed_in):
    first, second = other_session(user), other_session(user)

    response = client.post(url("account-sessions-revoke-all", "en"))

    assert response.status_code == 302
    assert list(UserSession.objects.filter(user=user).values_list("session_key", flat=True)) == [signed_in]
    assert not session_exists(first.session_key)
    assert not session_exists(second.session_key)
    assert client.get(url("account-security", "en")).status_code == 200


def test_stale_sessions_must_confirm_it_is_them_first(client, user):
    sign_in(client, user, fresh=False)
    other = other_session(user)

    for response in (
        client.post(url("account-sessions-revoke-all", "en")),
        client.post(url("account-session-revoke", "en", other.pk)),
        client.get(url("account-authenticator-start", "en")),
        client.get(url("account-recovery-codes", "en")),
        client.get(url("account-sms-lock", "en")),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(url("reauthenticate", "en") + "?next=")
    assert UserSession.objects.filter(pk=other.pk).exists()


# --- Sign-in methods -----------------------------------------------------------------------------


def _enrol(client: Client) -> str:
    start = client.post(url("account-authenticator-start", "en"))
    assert start.status_code == 302
    assert start["Location"] == url("account-authenticator-set-up", "en")
    page = client.get(start["Location"]).content.decode()
    key = find_one(page, "p", "hw-account-key").text
    assert re.fullmatch(r"([A-Z2-7]{4} )*[A-Z2-7]{1,4}", key)
    return key.replace(" ", "")


def test_authenticator_set_up_in_three_steps_confirmed_with_a_totp_code(client, user, signed_in):
    secret = _enrol(client)
    # The session store never holds the secret: the page reads it back from its encrypted column.
    assert secret not in repr(dict(client.session.items()))
    page = client.get(url("account-authenticator-set-up", "en")).content.decode()
    assert len(find_all(page, "h2", "hw-account-step__title")) == 3
    qr = find_one(page, "div", "hw-account-qr")
    assert qr.attrs["role"] == "img"
    assert qr.attrs["aria-label"]
    assert "<svg" in page
    assert '<details class="hw-account-details">' in page
    assert find_one(page, "input", "hw-input").attrs["autocomplete"] == "one-time-code"

    response = client.post(url("account-authenticator-set-up", "en"), {"code": pyotp.TOTP(secret).now()})

    assert response.status_code == 302
    assert response["Location"] == url("account-methods", "en")
    app = AuthenticatorApp.objects.get(user=user)
    assert app.confirmed_at is not None
    assert app.secret == secret
    assert "Your authenticator app is set up." in text(client.get(response["Location"]))
    # The secret leaves the session once confirmed.
    assert client.get(url("account-authenticator-set-up", "en"))["Location"] == url(
        "account-authenticator-start", "en"
    )


@pytest.mark.parametrize("code", ["", "000000", "abcdef", "1" * 39, "١٢٣"])
def test_a_wrong_or_missing_authenticator_code_is_refused_with_the_error(client, user, signed_in, code):
    _enrol(client)

    response = client.post(url("account-authenticator-set-up", "en"), {"code": code})

    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page
    assert find_one(page, "input", "hw-input").attrs["aria-invalid"] == "true"
    assert find_one(page, "title").text.startswith("Error:")
    assert AuthenticatorApp.objects.get(user=user).confirmed_at is None


def test_authenticator_remove_goes_through_a_confirmation_page(client, user, signed_in):
    secret = _enrol(client)
    client.post(url("account-authenticator-set-up", "en"), {"code": pyotp.TOTP(secret).now()})

    confirm = client.get(url("account-authenticator-remove", "en"))
    assert confirm.status_code == 200
    assert "Remove the authenticator app?" in text(confirm)
    assert AuthenticatorApp.objects.filter(user=user).exists()

    response = client.post(url("account-authenticator-remove", "en"))
    assert response.status_code == 302
    assert not AuthenticatorApp.objects.filter(user=user).exists()


def test_recovery_codes_are_shown_once(client, user, signed_in):
    start = client.get(url("account-recovery-codes", "en"))
    assert start.status_code == 200

    response = client.post(url("account-recovery-codes", "en"))
    assert response["Location"] == url("account-recovery-codes-show", "en")
    first = client.get(response["Location"])
    codes = [item.text for item in find_all(first.content, "li") if item.text and "-" in item.text]
    assert find_one(first.content, "ol", "hw-account-codes")

    assert first.status_code == 200
    assert len(codes) == 10
    assert "We will not show them again." in text(first)
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() == 10

    second = client.get(url("account-recovery-codes-show", "en"), follow=True)
    assert all(code not in second.content.decode() for code in codes)
    assert "shown only once" in text(second)
    assert "hawiya_account_recovery_codes" not in client.session


def test_lock_sms_after_a_confirmation_page_then_unlock(client, user, signed_in):
    confirm = client.get(url("account-sms-lock", "en"))
    assert confirm.status_code == 200
    assert "Lock sign-in codes by text message?" in text(confirm)
    assert not MethodLock.objects.filter(user=user).exists()

    locked = client.post(url("account-sms-lock", "en"))
    assert locked.status_code == 302
    assert MethodLock.objects.filter(user=user, method="sms").exists()
    assert "Locked" in text(client.get(url("account-methods", "en")))

    unlocked = client.post(url("account-sms-unlock", "en"))
    assert unlocked.status_code == 302
    assert not MethodLock.objects.filter(user=user).exists()
    assert client.get(url("account-sms-unlock", "en")).status_code == 405


# --- Change password -----------------------------------------------------------------------------


def test_change_password_in_three_steps(client, user, signed_in):
    other = other_session(user)
    mobile = person_of(user).mobile

    one = client.post(url("account-password", "en"), {"password": PASSWORD})
    assert one["Location"] == url("account-password-code", "en")
    page = client.get(one["Location"]).content.decode()
    assert find_one(page, "input", "hw-input").attrs["autocomplete"] == "one-time-code"

    two = client.post(one["Location"], {"code": last_code(mobile), "action": "verify"})
    assert two["Location"] == url("account-password-new", "en")
    page = client.get(two["Location"]).content.decode()
    assert find_one(page, "input", "hw-input").attrs["autocomplete"] == "new-password"

    three = client.post(two["Location"], {"new_password": "a brand new long passphrase"})
    assert three["Location"] == url("account", "en")

    user.refresh_from_db()
    assert user.check_password("a brand new long passphrase")
    assert "Your password has been changed." in text(client.get(three["Location"]))
    # This session carries on under its new key; the other device is signed out.
    key = client.session.session_key
    assert key != signed_in
    assert list(UserSession.objects.filter(user=user).values_list("session_key", flat=True)) == [key]
    assert not session_exists(other.session_key)


def test_change_password_wrong_current_password_and_empty_posts(client, user, signed_in):
    empty = client.post(url("account-password", "en"), {})
    assert empty.status_code == 200
    assert "Enter your current password." in text(empty)

    wrong = client.post(url("account-password", "en"), {"password": "not it"})
    assert wrong.status_code == 200
    assert "Your current password is not right." in text(wrong)

    # Later steps without the earlier ones go back to the start, never a 500.
    assert client.post(url("account-password-code", "en"), {"code": "x"})["Location"] == url(
        "account-password", "en"
    )
    assert client.post(url("account-password-new", "en"), {})["Location"] == url("account-password", "en")


def test_change_password_wrong_code_and_weak_password_are_explained(client, user, signed_in):
    client.post(url("account-password", "en"), {"password": PASSWORD})

    wrong = client.post(url("account-password-code", "en"), {"code": "000000"})
    assert wrong.status_code == 200
    assert "The code is wrong" in text(wrong)
    empty = client.post(url("account-password-code", "en"), {"code": ""})
    assert empty.status_code == 200
    assert "Enter the code." in text(empty)
    garbage = client.post(url("account-password-code", "en"), {"action": "use-nothing", "code": "x" * 500})
    assert garbage.status_code == 200

    code = last_code(person_of(user).mobile)
    client.post(url("account-password-code", "en"), {"code": code})
    weak = client.post(url("account-password-new", "en"), {"new_password": "password"})
    assert weak.status_code == 200
    assert "There is a problem" in text(weak)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_staff_accounts_have_no_account_pages(client):
    staff = User.objects.create_user(username="officer.one", password=PASSWORD)
    client.force_login(staff)

    assert client.get(url("account", "en")).status_code == 302
