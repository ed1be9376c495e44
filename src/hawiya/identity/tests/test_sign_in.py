"""Sign-in: one generic error, the hasher once, failures counted atomically, the lock, 2FA."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection

from hawiya.core.errors import ApplicationError
from hawiya.core.testing import outcome, race
from hawiya.identity import codes, services, throttles
from hawiya.identity.models import OneTimeCode, SecurityEvent, SignInGuard, User
from hawiya.identity.services import sign_in as sign_in_service
from hawiya.notifications.models import SmsMessage

from .factories import IP, PASSWORD, UA, last_code, make_account, person_of, sign_in

pytestmark = pytest.mark.django_db


def _start(login: str, password: str = PASSWORD, ip: str = IP) -> services.SignInChallenge:
    return services.sign_in_start(login=login, password=password, ip=ip, user_agent=UA)


def _error(call: Callable[..., object], *args: Any, **kwargs: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as failure:
        call(*args, **kwargs)
    return failure.value


def _outcome(login: str, password: str) -> str:
    try:
        _start(login, password)
    except ApplicationError as exc:
        return exc.code
    return "challenge"


def _failures(user: User) -> int:
    return SignInGuard.objects.get(user=user).failures


@pytest.mark.parametrize("case", ["unknown user", "wrong password", "right password"])
def test_the_password_hasher_runs_exactly_once(case: str, real_hashers) -> None:
    user = make_account()
    login = "nobody.here" if case == "unknown user" else user.username
    password = PASSWORD if case == "right password" else "not the password"
    sign_in_service._dummy_hash.cache_clear()
    sign_in_service._dummy_hash(Argon2PasswordHasher.algorithm)  # built once per process, not per attempt
    with mock.patch.object(
        Argon2PasswordHasher, "verify", autospec=True, side_effect=Argon2PasswordHasher.verify
    ) as spy:
        outcome = _outcome(login, password)
    assert spy.call_count == 1
    assert outcome == ("challenge" if case == "right password" else "invalid_credentials")


def test_unknown_login_and_wrong_password_get_the_same_answer() -> None:
    user = make_account()
    unknown = _error(_start, "nobody.here")
    wrong = _error(_start, user.username, "not the password")
    unknown_id = _error(_start, "1000000008")
    assert unknown.code == wrong.code == unknown_id.code == "invalid_credentials"
    assert str(unknown.message) == str(wrong.message)


def test_sign_in_with_the_id_number_in_eastern_digits_or_the_username_in_any_case() -> None:
    user = make_account(username="Sara.H")
    eastern = "".join(chr(ord("٠") + int(digit)) for digit in person_of(user).id_number)
    assert _start(eastern).methods == ("sms",)
    assert _start("SARA.h").masked_mobile.endswith(person_of(user).mobile[-2:])


def test_a_complete_sign_in_is_recorded_and_resets_the_count() -> None:
    user = make_account()
    for _index in range(3):
        _error(_start, user.username, "wrong")
    assert _failures(user) == 3
    assert sign_in(user) == user
    assert _failures(user) == 0
    kinds = list(SecurityEvent.objects.filter(user=user).values_list("kind", "detail"))
    assert ("sign_in", "sms") in kinds
    assert kinds.count(("sign_in_failed", "password")) == 3


def test_a_right_password_alone_does_not_reset_the_count() -> None:
    user = make_account()
    _error(_start, user.username, "wrong")
    _start(user.username)
    assert _failures(user) == 1


def test_ten_failures_lock_the_account_for_ten_minutes(clock) -> None:
    user = make_account()
    for _index in range(9):
        assert _error(_start, user.username, "wrong").code == "invalid_credentials"
    # The tenth failure locks; its answer stays generic (the password was wrong).
    assert _error(_start, user.username, "wrong").code == "invalid_credentials"
    guard = SignInGuard.objects.get(user=user)
    assert guard.failures == 10
    assert guard.locked_until == clock.now() + throttles.LOCK_DURATION
    # The holder is told once, with the time.
    locked_sms = SmsMessage.objects.get(template="account_locked")
    assert locked_sms.to == person_of(user).mobile
    assert SecurityEvent.objects.filter(user=user, kind="account_locked").count() == 1
    # Only someone with the right password learns about the lock.
    failure = _error(_start, user.username)
    assert failure.code == "account_locked"
    assert failure.extra["locked_until"] == guard.locked_until
    assert _error(_start, user.username, "wrong").code == "invalid_credentials"
    clock.advance(minutes=9, seconds=59)
    assert _error(_start, user.username).code == "account_locked"
    clock.advance(seconds=1)
    assert sign_in(user) == user
    assert SmsMessage.objects.filter(template="account_locked").count() == 1


def test_wrong_codes_and_passwords_count_together(clock) -> None:
    user = make_account()
    for _index in range(5):
        _error(_start, user.username, "wrong")
    challenge = _start(user.username).challenge
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    code = last_code(person_of(user).mobile)
    wrong = "000000" if code != "000000" else "111111"
    for _index in range(4):
        failure = _error(
            services.sign_in_verify, challenge=challenge, code=wrong, method="sms", ip=IP, user_agent=UA
        )
        assert failure.code == "code_invalid"
    # Past the password, the failure that locks says so.
    failure = _error(
        services.sign_in_verify, challenge=challenge, code=wrong, method="sms", ip=IP, user_agent=UA
    )
    assert failure.code == "account_locked"
    assert _failures(user) == 10
    # The right code is refused while locked.
    failure = _error(
        services.sign_in_verify, challenge=challenge, code=code, method="sms", ip=IP, user_agent=UA
    )
    assert failure.code == "account_locked"


def test_a_resend_does_not_reset_the_count(clock) -> None:
    user = make_account()
    challenge = _start(user.username).challenge
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    _error(
        services.sign_in_verify,
        challenge=challenge,
        code="999999" if last_code(person_of(user).mobile) != "999999" else "888888",
        method="sms",
        ip=IP,
        user_agent=UA,
    )
    clock.advance(seconds=61)
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    assert _failures(user) == 1


def test_a_locked_account_cannot_be_sent_a_code() -> None:
    user = make_account()
    challenge = _start(user.username).challenge
    for _index in range(10):
        _error(_start, user.username, "wrong")
    assert _error(services.sign_in_send_sms_code, challenge=challenge, ip=IP).code == "account_locked"


def test_an_ip_with_too_many_failures_is_throttled(settings) -> None:
    settings.HAWIYA_IP_FAILURE_LIMIT = 30
    for index in range(30):
        assert _error(_start, f"nobody.{index}", ip="198.51.100.7").code == "invalid_credentials"
    assert _error(_start, "nobody.else", ip="198.51.100.7").code == "ip_throttled"
    assert _error(_start, "nobody.else", ip="198.51.100.8").code == "invalid_credentials"


def test_ipv6_addresses_of_one_64_network_share_the_ip_throttle(settings) -> None:
    # One home or phone gets a whole /64: rotating the last 64 bits must not reset the count.
    settings.HAWIYA_IP_FAILURE_LIMIT = 3
    for index in range(3):
        ip = f"2001:db8:1:2::{index + 1:x}"
        assert _error(_start, f"nobody.{index}", ip=ip).code == "invalid_credentials"
    assert _error(_start, "nobody.else", ip="2001:db8:1:2:ffff:ffff:ffff:ffff").code == "ip_throttled"
    assert _error(_start, "nobody.else", ip="2001:db8:1:3::1").code == "invalid_credentials"


def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(settings) -> None:
    settings.HAWIYA_IP_FAILURE_LIMIT = 2
    assert _error(_start, "nobody.1", ip="198.51.100.9").code == "invalid_credentials"
    assert _error(_start, "nobody.2", ip="::ffff:198.51.100.9").code == "invalid_credentials"
    assert _error(_start, "nobody.3", ip="198.51.100.9").code == "ip_throttled"


def test_an_inactive_account_cannot_sign_in() -> None:
    user = make_account()
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _error(_start, user.username).code == "invalid_credentials"


def test_a_locked_method_can_neither_send_nor_verify() -> None:
    user = make_account()
    challenge = _start(user.username).challenge
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    code = last_code(person_of(user).mobile)
    services.sign_in_method_lock(user=user, method="sms", ip=IP, user_agent=UA)
    assert _error(services.sign_in_send_sms_code, challenge=challenge, ip=IP).code == "method_locked"
    failure = _error(
        services.sign_in_verify, challenge=challenge, code=code, method="sms", ip=IP, user_agent=UA
    )
    assert failure.code == "method_locked"
    # No method left: sign-in says so after the password.
    assert _error(_start, user.username).code == "no_sign_in_method"
    services.sign_in_method_unlock(user=user, method="sms", ip=IP, user_agent=UA)
    assert services.sign_in_verify(challenge=challenge, code=code, method="sms", ip=IP, user_agent=UA) == user
    kinds = set(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert {"method_locked", "method_unlocked"} <= kinds


def test_a_locked_authenticator_app_cannot_verify(clock) -> None:
    user = make_account()
    enrolment = services.authenticator_enrol(user=user)
    services.authenticator_confirm(
        user=user, code=codes.totp_code_at(enrolment.secret, clock.now()), ip=IP, user_agent=UA
    )
    services.sign_in_method_lock(user=user, method="totp", ip=IP, user_agent=UA)
    challenge = _start(user.username)
    assert "totp" not in challenge.methods
    clock.advance(seconds=30)
    failure = _error(
        services.sign_in_verify,
        challenge=challenge.challenge,
        code=codes.totp_code_at(enrolment.secret, clock.now()),
        method="totp",
        ip=IP,
        user_agent=UA,
    )
    assert failure.code == "method_locked"


def test_sign_in_with_an_authenticator_app_and_no_replay(clock) -> None:
    user = make_account()
    enrolment = services.authenticator_enrol(user=user)
    assert enrolment.provisioning_uri.startswith("otpauth://totp/Hawiya:")
    assert "issuer=Hawiya" in enrolment.provisioning_uri
    # Not active before it is confirmed.
    assert "totp" not in _start(user.username).methods
    assert _error(services.authenticator_confirm, user=user, code="000000", ip=IP, user_agent=UA).code in {
        "totp_invalid"
    }
    services.authenticator_confirm(
        user=user, code=codes.totp_code_at(enrolment.secret, clock.now()), ip=IP, user_agent=UA
    )
    clock.advance(seconds=30)
    code = codes.totp_code_at(enrolment.secret, clock.now())
    first = _start(user.username)
    assert first.methods[0] == "totp"
    assert (
        services.sign_in_verify(challenge=first.challenge, code=code, method="totp", ip=IP, user_agent=UA)
        == user
    )
    # The same code, again within its window, is refused.
    second = _start(user.username).challenge
    failure = _error(
        services.sign_in_verify, challenge=second, code=code, method="totp", ip=IP, user_agent=UA
    )
    assert failure.code == "totp_invalid"
    clock.advance(seconds=30)
    code = codes.totp_code_at(enrolment.secret, clock.now())
    assert services.sign_in_verify(challenge=second, code=code, method="totp", ip=IP, user_agent=UA) == user


def test_authenticator_app_removal(clock) -> None:
    user = make_account()
    enrolment = services.authenticator_enrol(user=user)
    services.authenticator_confirm(
        user=user, code=codes.totp_code_at(enrolment.secret, clock.now()), ip=IP, user_agent=UA
    )
    assert _error(services.authenticator_enrol, user=user).code == "authenticator_already_active"
    services.authenticator_remove(user=user, ip=IP, user_agent=UA)
    assert "totp" not in _start(user.username).methods
    kinds = list(SecurityEvent.objects.filter(user=user).values_list("kind", "detail"))
    assert ("factor_added", "totp") in kinds
    assert ("factor_removed", "totp") in kinds


def test_recovery_codes_work_once_and_a_new_set_replaces_the_old() -> None:
    user = make_account()
    first_set = services.recovery_codes_generate(user=user, ip=IP, user_agent=UA)
    assert len(first_set) == 10
    assert len(set(first_set)) == 10
    assert not user.recovery_codes.filter(code_hash__in=first_set).exists()
    challenge = _start(user.username)
    assert "recovery" in challenge.methods
    typed = first_set[0].upper().replace("-", " ")
    assert (
        services.sign_in_verify(
            challenge=challenge.challenge, code=typed, method="recovery", ip=IP, user_agent=UA
        )
        == user
    )
    again = _start(user.username).challenge
    failure = _error(
        services.sign_in_verify, challenge=again, code=first_set[0], method="recovery", ip=IP, user_agent=UA
    )
    assert failure.code == "recovery_code_invalid"
    second_set = services.recovery_codes_generate(user=user, ip=IP, user_agent=UA)
    failure = _error(
        services.sign_in_verify, challenge=again, code=first_set[1], method="recovery", ip=IP, user_agent=UA
    )
    assert failure.code == "recovery_code_invalid"
    assert (
        services.sign_in_verify(challenge=again, code=second_set[0], method="recovery", ip=IP, user_agent=UA)
        == user
    )


def test_an_expired_sign_in_must_start_again(clock) -> None:
    user = make_account()
    challenge = _start(user.username).challenge
    clock.advance(minutes=16)
    assert _error(services.sign_in_send_sms_code, challenge=challenge, ip=IP).code == "challenge_expired"


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_wrong_guesses_are_all_counted_and_none_gets_in(settings, clock) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; parallel guesses need PostgreSQL")
    user = make_account()
    challenge = _start(user.username).challenge
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    code = last_code(person_of(user).mobile)

    def guess(index: int) -> Callable[[], object]:
        return lambda: services.sign_in_start(
            login=user.username, password=f"wrong {index}", ip=f"10.0.{index}.1", user_agent=UA
        )

    answers = [outcome(result, ok="accepted") for result in race([guess(index) for index in range(50)])]
    assert answers == ["invalid_credentials"] * 50
    guard = SignInGuard.objects.get(user=user)
    assert guard.failures == 50
    assert guard.locked_until is not None
    assert SecurityEvent.objects.filter(user=user, kind="account_locked").count() == 1
    assert SmsMessage.objects.filter(template="account_locked").count() == 1
    # The right code on the challenge opened before the guesses is refused while locked.
    failure = _error(
        services.sign_in_verify, challenge=challenge, code=code, method="sms", ip=IP, user_agent=UA
    )
    assert failure.code == "account_locked"
    assert _error(_start, user.username).code == "account_locked"
    assert OneTimeCode.objects.get(challenge=challenge).used_at is None


def test_an_account_deactivated_after_the_password_step_cannot_finish_signing_in() -> None:
    user = make_account()
    challenge = _start(user.username).challenge
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    code = last_code(person_of(user).mobile)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _error(services.sign_in_send_sms_code, challenge=challenge, ip=IP).code == "challenge_expired"
    failure = _error(
        services.sign_in_verify, challenge=challenge, code=code, method="sms", ip=IP, user_agent=UA
    )
    assert failure.code == "challenge_expired"
    assert not SecurityEvent.objects.filter(user=user, kind="sign_in").exists()
