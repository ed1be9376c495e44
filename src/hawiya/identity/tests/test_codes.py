"""One-time codes: hashed, 5 minutes, single use, superseded by a resend, limited sends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hawiya.core.errors import ApplicationError
from hawiya.identity import codes, selectors, services
from hawiya.identity.models import OneTimeCode, Purpose, SecurityEvent, User
from hawiya.notifications.models import SmsMessage
from hawiya.notifications.templates import CODE_PURPOSES

from .factories import IP, PASSWORD, UA, last_code, make_account, person_of

pytestmark = pytest.mark.django_db


def _challenge(user: User) -> str:
    return services.sign_in_start(login=user.username, password=PASSWORD, ip=IP, user_agent=UA).challenge


def _verify(challenge: str, code: str, method: str = "sms") -> User:
    return services.sign_in_verify(challenge=challenge, code=code, method=method, ip=IP, user_agent=UA)


def _error(call: Callable[..., object], *args: Any, **kwargs: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as failure:
        call(*args, **kwargs)
    return failure.value


def test_codes_are_six_random_digits() -> None:
    drawn = {codes.new_code() for _index in range(200)}
    assert all(len(code) == 6 and code.isascii() and code.isdigit() for code in drawn)
    assert len(drawn) > 150


def test_the_code_is_stored_only_as_a_keyed_hash_and_sent_to_the_number_on_record() -> None:
    user = make_account()
    challenge = _challenge(user)
    sent = services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    code = last_code(person_of(user).mobile)
    row = OneTimeCode.objects.get(challenge=challenge)
    assert row.code_hash == codes.code_hash(challenge, code) != code
    assert code not in str([getattr(row, field.attname) for field in OneTimeCode._meta.concrete_fields])
    assert row.sms is not None
    assert row.sms.reference == sent.sms_reference
    message = SmsMessage.objects.get(pk=row.sms.pk)
    assert (message.to, message.template, message.is_secret) == (
        person_of(user).mobile,
        "one_time_code",
        True,
    )
    assert sent.masked_mobile.endswith(person_of(user).mobile[-2:])
    assert "•" in sent.masked_mobile
    # The page can show the delivery status of that message.
    status = selectors.one_time_code_delivery_status(challenge=challenge)
    assert status is not None
    assert status.reference == sent.sms_reference
    assert SecurityEvent.objects.filter(user=user, kind="code_sent").count() == 1


def test_every_purpose_of_a_code_has_words_in_its_text_message() -> None:
    assert set(CODE_PURPOSES) == {purpose.value for purpose in Purpose}


@pytest.mark.parametrize(("language", "words"), [("ar", "رمز تسجيل الدخول"), ("en", "code to sign in")])
def test_the_sign_in_code_message_says_it_is_for_signing_in(language: str, words: str) -> None:
    user = make_account()
    user.preferred_language = language
    user.save(update_fields=["preferred_language"])
    challenge = _challenge(user)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)

    message = OneTimeCode.objects.get(challenge=challenge).sms
    assert message is not None
    assert words in message.body


def test_the_same_code_does_not_verify_another_challenge() -> None:
    user = make_account()
    first, second = _challenge(user), _challenge(user)
    services.sign_in_send_sms_code(challenge=first, ip=IP)
    code = last_code(person_of(user).mobile)
    assert _error(_verify, second, code).code == "code_invalid"


def test_a_code_is_valid_for_five_minutes(clock) -> None:
    user = make_account()
    challenge = _challenge(user)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    code = last_code(person_of(user).mobile)
    clock.advance(minutes=5, seconds=1)
    assert _error(_verify, challenge, code).code == "code_invalid"


def test_a_code_still_works_just_before_five_minutes(clock) -> None:
    user = make_account()
    challenge = _challenge(user)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    clock.advance(minutes=4, seconds=59)
    assert _verify(challenge, last_code(person_of(user).mobile)) == user


def test_a_code_works_once() -> None:
    user = make_account()
    challenge = _challenge(user)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    code = last_code(person_of(user).mobile)
    _verify(challenge, code)
    assert _error(_verify, challenge, code).code == "challenge_expired"


def test_a_resend_supersedes_the_previous_code(clock) -> None:
    user = make_account()
    challenge = _challenge(user)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    old = last_code(person_of(user).mobile)
    clock.advance(seconds=61)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    new = last_code(person_of(user).mobile)
    if new == old:  # one chance in a million
        pytest.skip("the two random codes happened to be equal")
    assert _error(_verify, challenge, old).code == "code_invalid"
    assert _verify(challenge, new) == user


def test_a_resend_within_60_seconds_is_refused_with_the_wait(clock) -> None:
    user = make_account()
    challenge = _challenge(user)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    clock.advance(seconds=45)
    failure = _error(services.sign_in_send_sms_code, challenge=challenge, ip=IP)
    assert failure.code == "resend_too_soon"
    assert failure.extra["seconds"] == 15
    clock.advance(seconds=15)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)


def test_at_most_five_codes_an_hour_per_account(clock) -> None:
    user = make_account()
    lefts = []
    for _index in range(5):
        sent = services.sign_in_send_sms_code(challenge=_challenge(user), ip=IP)
        lefts.append(sent.sends_left)
        clock.advance(minutes=2)
    assert lefts == [4, 3, 2, 1, 0]
    failure = _error(services.sign_in_send_sms_code, challenge=_challenge(user), ip=IP)
    assert failure.code == "too_many_codes"
    assert failure.extra["seconds"] == 60 * 60 - 10 * 60 + 1
    clock.advance(minutes=50, seconds=1)
    services.sign_in_send_sms_code(challenge=_challenge(user), ip=IP)


def test_five_wrong_entries_kill_the_code() -> None:
    user = make_account()
    challenge = _challenge(user)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    code = last_code(person_of(user).mobile)
    wrong = "000000" if code != "000000" else "111111"
    for _index in range(5):
        assert _error(_verify, challenge, wrong).code == "code_invalid"
    assert _error(_verify, challenge, code).code == "code_attempts_exceeded"


def test_eastern_digits_and_spaces_in_a_code_are_accepted() -> None:
    user = make_account()
    challenge = _challenge(user)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    code = last_code(person_of(user).mobile)
    typed = " ".join(chr(ord("٠") + int(digit)) for digit in code)
    assert _verify(challenge, typed) == user


def test_an_empty_code_is_a_field_error_and_not_counted() -> None:
    user = make_account()
    challenge = _challenge(user)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    failure = _error(_verify, challenge, "  ")
    assert (failure.code, failure.field) == ("code_required", "code")
    assert not SecurityEvent.objects.filter(user=user, kind="sign_in_failed").exists()


def test_activation_code_limits_count_per_id_number(clock) -> None:
    from .factories import make_citizen

    person = make_citizen()
    for _index in range(5):
        services.activation_start(
            id_number=person.id_number, date_of_birth=person.date_of_birth, mobile=person.mobile, ip=IP
        )
    failure = _error(
        services.activation_start,
        id_number=person.id_number,
        date_of_birth=person.date_of_birth,
        mobile=person.mobile,
        ip=IP,
    )
    assert failure.code == "too_many_codes"
