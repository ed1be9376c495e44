"""Changing the mobile number on record: a code to the current number, then one to the new number."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from hawiya.audit.actors import Actor
from hawiya.core.errors import ApplicationError
from hawiya.core.testing import outcome, race
from hawiya.core.text import mask_mobile
from hawiya.identity import services
from hawiya.identity.models import OneTimeCode, SecurityEvent, SignInGuard, User
from hawiya.notifications.models import SmsMessage
from hawiya.registry.models import Person
from hawiya.registry.services import person_change_mobile

from .factories import IP, PASSWORD, UA, last_code, make_account, next_mobile, person_of

pytestmark = pytest.mark.django_db


def _error(call: Callable[..., object], *args: Any, **kwargs: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as failure:
        call(*args, **kwargs)
    return failure.value


def _start(user: User, new_mobile: str) -> services.MobileChangeStep:
    return services.mobile_change_start(user=user, new_mobile=new_mobile, ip=IP, user_agent=UA)


def _verify_current(user: User, challenge: str, code: str) -> services.MobileChangeStep:
    return services.mobile_change_verify_current(
        user=user, challenge=challenge, code=code, ip=IP, user_agent=UA
    )


def _complete(user: User, challenge: str, code: str) -> None:
    services.mobile_change_complete(user=user, challenge=challenge, code=code, ip=IP, user_agent=UA)


def _to_new_step(user: User, new_mobile: str) -> services.MobileChangeStep:
    """Start a change and prove the current number: the code to the new number is sent."""
    old = person_of(user).mobile
    started = _start(user, new_mobile)
    return _verify_current(user, started.challenge, last_code(old))


def _codes_sent_to(mobile: str) -> int:
    return SmsMessage.objects.filter(to=mobile, template="one_time_code").count()


def _failures(user: User) -> int:
    return SignInGuard.objects.get(user=user).failures


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- The journey ---------------------------------------------------------------------------------


def test_the_number_changes_after_codes_to_the_old_and_the_new_number() -> None:
    user = make_account()
    old, new = person_of(user).mobile, next_mobile()

    started = _start(user, new)
    assert (started.step, started.masked_current, started.masked_new) == (
        "current",
        mask_mobile(old),
        mask_mobile(new),
    )
    assert started.sent.masked_mobile == mask_mobile(old)
    assert started.sent.sms_reference is not None
    assert _codes_sent_to(old) == 2  # activation, then this change
    assert _codes_sent_to(new) == 0

    step = _verify_current(user, started.challenge, last_code(old))
    assert step.step == "new"
    assert step.challenge != started.challenge
    assert step.sent.masked_mobile == mask_mobile(new)
    assert _codes_sent_to(new) == 1

    _complete(user, step.challenge, last_code(new))
    assert Person.objects.get(pk=person_of(user).pk).mobile == new
    assert person_of(user).mobile == new  # the caller's object follows
    assert SecurityEvent.objects.filter(user=user, kind="mobile_changed").count() == 1
    told = SmsMessage.objects.get(template="mobile_changed")
    assert told.to == old
    assert new[-2:] in told.body
    assert not SmsMessage.objects.filter(template="mobile_changed", to=new).exists()


def test_the_change_is_audited_as_the_holders_own_action() -> None:
    from hawiya.audit.models import AuditEvent

    user = make_account()
    step = _to_new_step(user, new_mobile=(new := next_mobile()))
    _complete(user, step.challenge, last_code(new))
    event = AuditEvent.objects.get(action="person.mobile_changed")
    assert event.actor == f"user:{user.pk}"
    assert event.actor_role == "citizen"
    assert event.object_id == str(person_of(user).pk)
    assert new not in str(event.detail), "the audit trail keeps no full mobile number"


def test_the_new_number_is_accepted_as_typed() -> None:
    user = make_account()
    step = _to_new_step(user, "٠٥٠-١٢٣-٤٥٦٧")
    assert step.sent.masked_mobile == mask_mobile("+966501234567")
    _complete(user, step.challenge, last_code("+966501234567"))
    assert Person.objects.get(pk=person_of(user).pk).mobile == "+966501234567"


def test_a_finished_challenge_cannot_be_used_again() -> None:
    user = make_account()
    old, new = person_of(user).mobile, next_mobile()
    started = _start(user, new)
    current_code = last_code(old)
    step = _verify_current(user, started.challenge, current_code)
    assert _error(_verify_current, user, started.challenge, current_code).code == "challenge_expired"
    new_code = last_code(new)
    _complete(user, step.challenge, new_code)
    assert _error(_complete, user, step.challenge, new_code).code == "challenge_expired"
    assert SecurityEvent.objects.filter(user=user, kind="mobile_changed").count() == 1
    assert _failures(user) == 0


def test_after_the_change_sign_in_codes_go_to_the_new_number() -> None:
    user = make_account()
    old, new = person_of(user).mobile, next_mobile()
    step = _to_new_step(user, new)
    _complete(user, step.challenge, last_code(new))
    sent_to_old = _codes_sent_to(old)

    challenge = services.sign_in_start(login=user.username, password=PASSWORD, ip=IP, user_agent=UA)
    assert challenge.masked_mobile == mask_mobile(new)
    sent = services.sign_in_send_sms_code(challenge=challenge.challenge, ip=IP)
    assert sent.masked_mobile == mask_mobile(new)
    assert _codes_sent_to(old) == sent_to_old
    signed_in = services.sign_in_verify(
        challenge=challenge.challenge, code=last_code(new), method="sms", ip=IP, user_agent=UA
    )
    assert signed_in == user


# --- Resending ----------------------------------------------------------------------------------


def test_a_resend_of_each_step_goes_to_that_steps_number(clock) -> None:
    user = make_account()
    old, new = person_of(user).mobile, next_mobile()
    started = _start(user, new)
    clock.advance(seconds=61)
    again = services.one_time_code_send(challenge=started.challenge, ip=IP)
    assert again.masked_mobile == mask_mobile(old)
    assert _codes_sent_to(new) == 0

    step = _verify_current(user, started.challenge, last_code(old))
    first_new_code = last_code(new)
    clock.advance(seconds=61)
    sent_to_old = _codes_sent_to(old)
    resent = services.one_time_code_send(challenge=step.challenge, ip=IP)
    assert resent.masked_mobile == mask_mobile(new)
    assert _codes_sent_to(new) == 2
    assert _codes_sent_to(old) == sent_to_old
    latest = last_code(new)
    if latest != first_new_code:
        # The resend superseded the first code.
        assert _error(_complete, user, step.challenge, first_new_code).code == "code_invalid"
    _complete(user, step.challenge, latest)
    assert Person.objects.get(pk=person_of(user).pk).mobile == new


def test_resends_are_limited_like_every_code(clock) -> None:
    user = make_account()
    started = _start(user, next_mobile())
    assert _error(services.one_time_code_send, challenge=started.challenge, ip=IP).code == "resend_too_soon"


# --- Wrong codes --------------------------------------------------------------------------------


def test_a_wrong_code_for_the_current_number_is_counted() -> None:
    user = make_account()
    old = person_of(user).mobile
    started = _start(user, next_mobile())
    failure = _error(_verify_current, user, started.challenge, _wrong(last_code(old)))
    assert (failure.code, failure.field) == ("code_invalid", "code")
    assert _failures(user) == 1
    assert SecurityEvent.objects.filter(user=user, kind="sign_in_failed", detail="sms").count() == 1
    # The right code still works afterwards.
    assert _verify_current(user, started.challenge, last_code(old)).step == "new"


def test_a_wrong_code_for_the_new_number_is_counted() -> None:
    user = make_account()
    new = next_mobile()
    step = _to_new_step(user, new)
    failure = _error(_complete, user, step.challenge, _wrong(last_code(new)))
    assert (failure.code, failure.field) == ("code_invalid", "code")
    assert _failures(user) == 1
    assert Person.objects.get(pk=person_of(user).pk).mobile != new
    assert not SecurityEvent.objects.filter(user=user, kind="mobile_changed").exists()


def test_wrong_codes_lock_the_account_like_at_sign_in() -> None:
    user = make_account()
    old = person_of(user).mobile
    started = _start(user, next_mobile())
    wrong = _wrong(last_code(old))
    answers = [_error(_verify_current, user, started.challenge, wrong).code for _ in range(10)]
    assert answers == ["code_invalid"] * 5 + ["code_attempts_exceeded"] * 4 + ["account_locked"]
    assert _failures(user) == 10
    assert SmsMessage.objects.filter(template="account_locked", to=old).count() == 1
    # Locked: even the right code is refused now.
    assert _error(_verify_current, user, started.challenge, last_code(old)).code == "account_locked"


def test_an_empty_code_is_refused_without_counting() -> None:
    user = make_account()
    started = _start(user, next_mobile())
    failure = _error(_verify_current, user, started.challenge, " ")
    assert (failure.code, failure.field) == ("code_required", "code")
    assert _failures(user) == 0


# --- Refusals -----------------------------------------------------------------------------------


def test_the_same_number_is_refused() -> None:
    user = make_account()
    old = person_of(user).mobile
    local = "0" + old.removeprefix("+966")
    failure = _error(_start, user, local)
    assert (failure.code, failure.field) == ("mobile_unchanged", "new_mobile")
    assert _codes_sent_to(old) == 1  # activation only


@pytest.mark.parametrize("typed", ["0112345678", "05ABC12345", "+447700900123", ""])
def test_an_invalid_number_is_refused_with_its_field(typed: str) -> None:
    user = make_account()
    failure = _error(_start, user, typed)
    assert (failure.code, failure.field) == ("mobile_invalid", "new_mobile")
    assert str(failure.message)
    assert not OneTimeCode.objects.filter(user=user, purpose="mobile_change_old").exists()


def test_a_locked_sms_method_means_the_office_route() -> None:
    user = make_account()
    services.sign_in_method_lock(user=user, method="sms", ip=IP, user_agent=UA)
    assert _error(_start, user, next_mobile()).code == "mobile_change_in_person"
    assert not OneTimeCode.objects.filter(user=user, purpose="mobile_change_old").exists()


def test_locking_sms_during_the_change_stops_it() -> None:
    user = make_account()
    new = next_mobile()
    step = _to_new_step(user, new)
    services.sign_in_method_lock(user=user, method="sms", ip=IP, user_agent=UA)
    assert _error(_complete, user, step.challenge, last_code(new)).code == "mobile_change_in_person"
    assert Person.objects.get(pk=person_of(user).pk).mobile != new


def test_no_mobile_on_record_means_the_office_route() -> None:
    user = make_account()
    Person.objects.filter(pk=person_of(user).pk).update(mobile="")
    user = User.objects.select_related("person").get(pk=user.pk)
    assert _error(_start, user, next_mobile()).code == "no_mobile"


def test_a_blocked_account_cannot_start() -> None:
    user = make_account()
    event = SecurityEvent.objects.filter(user=user).first()
    assert event is not None
    services.security_event_report(user=user, event_id=event.pk)
    assert _error(_start, user, next_mobile()).code == "account_blocked"


def test_another_accounts_challenge_is_expired_and_not_counted() -> None:
    holder, other = make_account(), make_account()
    old, new = person_of(holder).mobile, next_mobile()
    started = _start(holder, new)
    assert _error(_verify_current, other, started.challenge, last_code(old)).code == "challenge_expired"
    step = _verify_current(holder, started.challenge, last_code(old))
    assert _error(_complete, other, step.challenge, last_code(new)).code == "challenge_expired"
    assert _failures(other) == 0
    assert _failures(holder) == 0
    assert Person.objects.get(pk=person_of(holder).pk).mobile == old


def test_a_step_cannot_be_passed_with_the_other_steps_challenge() -> None:
    user = make_account()
    old, new = person_of(user).mobile, next_mobile()
    started = _start(user, new)
    assert _error(_complete, user, started.challenge, last_code(old)).code == "challenge_expired"
    step = _verify_current(user, started.challenge, last_code(old))
    assert _error(_verify_current, user, step.challenge, last_code(new)).code == "challenge_expired"


def test_the_journey_expires(clock) -> None:
    user = make_account()
    new = next_mobile()
    step = _to_new_step(user, new)
    clock.advance(minutes=16)
    assert _error(_complete, user, step.challenge, last_code(new)).code == "challenge_expired"


def test_a_number_changed_at_an_office_meanwhile_ends_the_journey() -> None:
    user = make_account()
    old = person_of(user).mobile
    started = _start(user, next_mobile())
    person_change_mobile(actor=Actor.system("tests"), person_id=person_of(user).pk, mobile=next_mobile())
    assert _error(_verify_current, user, started.challenge, last_code(old)).code == "challenge_expired"


def test_completing_one_change_ends_the_other_open_ones() -> None:
    user = make_account()
    old, first, second = person_of(user).mobile, next_mobile(), next_mobile()
    other = _start(user, second)
    step = _to_new_step(user, first)
    _complete(user, step.challenge, last_code(first))
    assert _error(_verify_current, user, other.challenge, last_code(old)).code == "challenge_expired"
    assert Person.objects.get(pk=person_of(user).pk).mobile == first


@pytest.mark.django_db(transaction=True)
def test_two_parallel_completions_change_the_number_once() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; parallel completions need PostgreSQL")
    user = make_account()
    old, new = person_of(user).mobile, next_mobile()
    step = _to_new_step(user, new)
    code = last_code(new)

    def complete() -> None:
        _complete(User.objects.select_related("person").get(pk=user.pk), step.challenge, code)

    answers = [outcome(result, ok="changed") for result in race([complete] * 2)]
    assert sorted(answers) == ["challenge_expired", "changed"]
    assert Person.objects.get(pk=person_of(user).pk).mobile == new
    assert SecurityEvent.objects.filter(user=user, kind="mobile_changed").count() == 1
    assert SmsMessage.objects.filter(template="mobile_changed", to=old).count() == 1
