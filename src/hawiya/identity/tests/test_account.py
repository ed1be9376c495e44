"""Account security: changing and resetting the password, sessions, "this wasn't me"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings

from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity import selectors, services
from hawiya.identity.models import SecurityEvent, SignInGuard, User, UserSession
from hawiya.identity.sessions import (
    RECENT_AUTH_MAX_AGE,
    recent_auth_from_session,
    recent_auth_is_fresh,
    recent_auth_session_value,
)
from hawiya.notifications.models import SmsMessage

from .factories import IP, PASSWORD, UA, last_code, make_account, person_of, sign_in

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a river of quiet lanterns"


def _error(call: Callable[..., object], *args: Any, **kwargs: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as failure:
        call(*args, **kwargs)
    return failure.value


def _session(user: User) -> str:
    """A real session in Django's store, recorded as the pages do after login()."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["marker"] = user.pk
    store.create()
    services.user_session_record(user=user, session_key=store.session_key, ip=IP, user_agent=UA)
    return store.session_key


def _session_exists(key: str) -> bool:
    return import_module(settings.SESSION_ENGINE).SessionStore().exists(key)


def _reauthenticated(user: User) -> str:
    challenge = services.reauthentication_start(user=user, password=PASSWORD, ip=IP, user_agent=UA).challenge
    services.sign_in_send_sms_code(challenge=challenge, ip=IP)
    services.reauthentication_verify(
        user=user,
        challenge=challenge,
        code=last_code(person_of(user).mobile),
        method="sms",
        ip=IP,
        user_agent=UA,
    )
    return challenge


# --- Change password ----------------------------------------------------------------------------


def test_changing_the_password_needs_the_current_password_and_a_code() -> None:
    user = make_account()
    current, other = _session(user), _session(user)
    challenge = _reauthenticated(user)
    services.password_change(
        user=user,
        challenge=challenge,
        new_password=NEW_PASSWORD,
        ip=IP,
        user_agent=UA,
        keep_session_key=current,
    )
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert _session_exists(current)
    assert not _session_exists(other)
    assert list(UserSession.objects.filter(user=user).values_list("session_key", flat=True)) == [current]
    assert SmsMessage.objects.filter(template="password_changed", to=person_of(user).mobile).count() == 1
    assert SecurityEvent.objects.filter(user=user, kind="password_changed").count() == 1
    # The reauthentication is used once.
    failure = _error(
        services.password_change,
        user=user,
        challenge=challenge,
        new_password="another fine password",
        ip=IP,
        user_agent=UA,
        keep_session_key=current,
    )
    assert failure.code == "reauthentication_required"


def test_a_wrong_current_password_is_counted() -> None:
    user = make_account()
    failure = _error(services.reauthentication_start, user=user, password="wrong", ip=IP, user_agent=UA)
    assert (failure.code, failure.field) == ("current_password_wrong", "password")
    assert SignInGuard.objects.get(user=user).failures == 1


def test_a_change_without_the_code_is_refused() -> None:
    user = make_account()
    challenge = services.reauthentication_start(user=user, password=PASSWORD, ip=IP, user_agent=UA).challenge
    failure = _error(
        services.password_change,
        user=user,
        challenge=challenge,
        new_password=NEW_PASSWORD,
        ip=IP,
        user_agent=UA,
        keep_session_key=None,
    )
    assert failure.code == "reauthentication_required"


def test_a_reauthentication_is_good_for_five_minutes(clock) -> None:
    user = make_account()
    challenge = _reauthenticated(user)
    clock.advance(minutes=5, seconds=1)
    failure = _error(
        services.password_change,
        user=user,
        challenge=challenge,
        new_password=NEW_PASSWORD,
        ip=IP,
        user_agent=UA,
        keep_session_key=None,
    )
    assert failure.code == "reauthentication_required"


def test_another_accounts_reauthentication_does_not_count() -> None:
    user, other = make_account(), make_account()
    challenge = _reauthenticated(other)
    failure = _error(
        services.password_change,
        user=user,
        challenge=challenge,
        new_password=NEW_PASSWORD,
        ip=IP,
        user_agent=UA,
        keep_session_key=None,
    )
    assert failure.code == "reauthentication_required"


def test_the_new_password_follows_the_rules() -> None:
    user = make_account()
    challenge = _reauthenticated(user)
    failure = _error(
        services.password_change,
        user=user,
        challenge=challenge,
        new_password=person_of(user).id_number + "x",
        ip=IP,
        user_agent=UA,
        keep_session_key=None,
    )
    assert failure.code == "password_invalid"


# --- Forgotten password --------------------------------------------------------------------------


def _reset_start(user: User, **overrides: Any) -> services.CodeSent:
    values: dict[str, Any] = {
        "id_number": person_of(user).id_number,
        "date_of_birth": person_of(user).date_of_birth,
        "ip": IP,
    }
    values.update(overrides)
    return services.password_reset_start(**values)


def test_resetting_a_forgotten_password_ends_every_session_and_tells_the_holder() -> None:
    user = make_account()
    sessions = [_session(user), _session(user)]
    start = _reset_start(user)
    assert start.sms_reference is None
    assert start.masked_mobile == ""
    services.password_reset_verify(challenge=start.challenge, code=last_code(person_of(user).mobile), ip=IP)
    services.password_reset_complete(challenge=start.challenge, password=NEW_PASSWORD, ip=IP, user_agent=UA)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not any(_session_exists(key) for key in sessions)
    assert not UserSession.objects.filter(user=user).exists()
    assert SmsMessage.objects.filter(template="password_changed").count() == 1
    assert SecurityEvent.objects.filter(user=user, kind="password_reset").count() == 1
    with pytest.raises(ApplicationError) as again:
        services.password_reset_complete(challenge=start.challenge, password="yet another one", ip=IP)
    assert again.value.code == "challenge_expired"


@pytest.mark.parametrize("case", ["wrong date of birth", "no account", "sms locked"])
def test_a_reset_that_does_not_match_gets_the_same_answer_and_no_code(case: str) -> None:
    from .factories import make_citizen

    user = make_account()
    good = _reset_start(user)
    if case == "wrong date of birth":
        answer = _reset_start(user, date_of_birth=person_of(user).date_of_birth - dt.timedelta(days=1))
    elif case == "no account":
        person = make_citizen()
        answer = services.password_reset_start(
            id_number=person.id_number, date_of_birth=person.date_of_birth, ip=IP
        )
    else:
        other = make_account()
        services.sign_in_method_lock(user=other, method="sms", ip=IP, user_agent=UA)
        answer = _reset_start(other)
    assert type(answer) is type(good)
    assert (answer.masked_mobile, answer.sms_reference) == (good.masked_mobile, good.sms_reference)
    assert answer.code_expires_at - answer.sent_at == good.code_expires_at - good.sent_at
    failure = _error(services.password_reset_verify, challenge=answer.challenge, code="123456", ip=IP)
    assert failure.code == "code_invalid"


def test_a_non_matching_reset_sends_no_code() -> None:
    user = make_account()
    before = SmsMessage.objects.filter(template="one_time_code").count()
    _reset_start(user, date_of_birth=person_of(user).date_of_birth - dt.timedelta(days=1))
    assert SmsMessage.objects.filter(template="one_time_code").count() == before


# --- Sessions --------------------------------------------------------------------------------------


def test_revoking_a_session_ends_it_in_the_session_store() -> None:
    user = make_account()
    key = _session(user)
    session = UserSession.objects.get(session_key=key)
    services.session_revoke(user=user, session_id=session.pk)
    assert not _session_exists(key)
    assert not UserSession.objects.filter(pk=session.pk).exists()


def test_another_users_session_is_not_found() -> None:
    user, other = make_account(), make_account()
    key = _session(other)
    session = UserSession.objects.get(session_key=key)
    with pytest.raises(NotFound) as failure:
        services.session_revoke(user=user, session_id=session.pk)
    assert failure.value.code == "session_not_found"
    with pytest.raises(NotFound):
        services.session_revoke(user=user, session_id=session.pk + 1000)
    assert _session_exists(key)


def test_revoking_all_sessions_but_the_current_one() -> None:
    user, other = make_account(), make_account()
    current, first, second, others = _session(user), _session(user), _session(user), _session(other)
    assert services.sessions_revoke_all(user=user, except_session_key=current) == 2
    assert _session_exists(current)
    assert _session_exists(others)
    assert not _session_exists(first)
    assert not _session_exists(second)
    assert [session.session_key for session in selectors.user_sessions_for_user(user=user)] == [current]


def test_last_seen_is_updated_at_most_once_a_minute(clock) -> None:
    user = make_account()
    key = _session(user)
    clock.advance(seconds=30)
    assert services.user_session_touch(session_key=key)
    assert UserSession.objects.get(session_key=key).last_seen_at == clock.now() - dt.timedelta(seconds=30)
    clock.advance(seconds=31)
    services.user_session_touch(session_key=key)
    assert UserSession.objects.get(session_key=key).last_seen_at == clock.now()
    assert not services.user_session_touch(session_key="not-a-session")


def test_user_agents_are_truncated_and_bad_ips_dropped() -> None:
    user = make_account()
    session = services.user_session_record(
        user=user, session_key="k" * 32, ip="not an ip", user_agent="x" * 1000
    )
    assert session.ip is None
    assert len(session.user_agent) == 300


# --- "This wasn't me" --------------------------------------------------------------------------------


def test_reporting_an_event_blocks_sign_in_and_ends_every_session() -> None:
    user = make_account()
    sign_in(user)
    keys = [_session(user), _session(user)]
    event = SecurityEvent.objects.filter(user=user, kind="sign_in").get()
    report = services.security_event_report(user=user, event_id=event.pk, ip=IP, user_agent=UA)
    assert report.kind == "report_not_me"
    assert report.related_event == event
    event.refresh_from_db()
    assert event.reported_at is not None
    assert not any(_session_exists(key) for key in keys)
    assert _error(
        services.sign_in_start, login=user.username, password=PASSWORD, ip=IP, user_agent=UA
    ).code == ("account_blocked")
    assert services.security_event_report(user=user, event_id=event.pk) == report
    # A password reset opens the account again.
    start = _reset_start(user)
    services.password_reset_verify(challenge=start.challenge, code=last_code(person_of(user).mobile), ip=IP)
    services.password_reset_complete(challenge=start.challenge, password=NEW_PASSWORD, ip=IP)
    assert sign_in(user, password=NEW_PASSWORD) == user


def test_another_users_event_cannot_be_reported() -> None:
    user, other = make_account(), make_account()
    event = SecurityEvent.objects.filter(user=other).first()
    assert event is not None
    with pytest.raises(NotFound):
        services.security_event_report(user=user, event_id=event.pk)
    assert SignInGuard.objects.get(user=other).blocked_at is None


def test_the_history_never_holds_a_password_or_code() -> None:
    user = make_account()
    _error(services.sign_in_start, login=user.username, password="my secret guess", ip=IP, user_agent=UA)
    sign_in(user)
    code = last_code(person_of(user).mobile)
    for event in selectors.security_events_for_user(user=user):
        text = " ".join(str(value) for value in vars(event).values())
        assert "my secret guess" not in text
        assert PASSWORD not in text
        assert code not in text


# --- Recent authentication ---------------------------------------------------------------------------


def test_recent_auth_is_fresh_for_five_minutes() -> None:
    now = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
    assert recent_auth_is_fresh(now - RECENT_AUTH_MAX_AGE, now)
    assert not recent_auth_is_fresh(now - RECENT_AUTH_MAX_AGE - dt.timedelta(seconds=1), now)
    assert not recent_auth_is_fresh(None, now)
    assert not recent_auth_is_fresh(now + dt.timedelta(minutes=1), now)
    assert recent_auth_from_session(recent_auth_session_value(now)) == now
    assert recent_auth_from_session("yesterday") is None


def test_sign_in_methods_for_the_security_page() -> None:
    user = make_account()
    services.recovery_codes_generate(user=user, ip=IP, user_agent=UA)
    services.sign_in_method_lock(user=user, method="sms", ip=IP, user_agent=UA)
    methods = selectors.sign_in_methods_for_user(user=user)
    assert methods.sms_locked
    assert not methods.authenticator_active
    assert methods.recovery_codes_left == 10
    assert methods.masked_mobile.endswith(person_of(user).mobile[-2:])


def test_a_session_follows_its_new_key_and_ends_on_sign_out() -> None:
    user = make_account()
    key = _session(user)
    services.user_session_rekey(user=user, old_session_key=key, new_session_key="n" * 32)
    assert [session.session_key for session in selectors.user_sessions_for_user(user=user)] == ["n" * 32]
    services.user_session_end(session_key="n" * 32)
    assert selectors.user_sessions_for_user(user=user) == []


# --- Stale journeys after a lock or a new password --------------------------------------------------


def test_a_reset_started_before_text_messages_were_locked_can_neither_resend_nor_verify(clock) -> None:
    user = make_account()
    mobile = person_of(user).mobile
    start = _reset_start(user)
    code = last_code(mobile)
    # The holder has lost the phone and locks sign-in codes by text message.
    services.sign_in_method_lock(user=user, method="sms", ip=IP, user_agent=UA)
    sent_before = SmsMessage.objects.filter(to=mobile, template="one_time_code").count()
    clock.advance(seconds=61)
    again = services.one_time_code_send(challenge=start.challenge, ip=IP)
    # The same neutral answer, but nothing is sent.
    assert again.masked_mobile == ""
    assert again.sms_reference is None
    assert SmsMessage.objects.filter(to=mobile, template="one_time_code").count() == sent_before
    failure = _error(services.password_reset_verify, challenge=start.challenge, code=code, ip=IP)
    assert failure.code == "code_invalid"


def test_a_reset_verified_before_text_messages_were_locked_cannot_set_a_password() -> None:
    user = make_account()
    start = _reset_start(user)
    services.password_reset_verify(challenge=start.challenge, code=last_code(person_of(user).mobile), ip=IP)
    services.sign_in_method_lock(user=user, method="sms", ip=IP, user_agent=UA)
    failure = _error(
        services.password_reset_complete, challenge=start.challenge, password=NEW_PASSWORD, ip=IP
    )
    assert failure.code == "challenge_expired"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_password_reset_ends_sign_in_journeys_started_with_the_old_password() -> None:
    user = make_account()
    mobile = person_of(user).mobile
    pending = services.sign_in_start(login=user.username, password=PASSWORD, ip=IP, user_agent=UA)
    services.sign_in_send_sms_code(challenge=pending.challenge, ip=IP)
    sign_in_code = last_code(mobile)
    start = _reset_start(user)
    services.password_reset_verify(challenge=start.challenge, code=last_code(mobile), ip=IP)
    services.password_reset_complete(challenge=start.challenge, password=NEW_PASSWORD, ip=IP)
    failure = _error(
        services.sign_in_verify,
        challenge=pending.challenge,
        code=sign_in_code,
        method="sms",
        ip=IP,
        user_agent=UA,
    )
    assert failure.code == "challenge_expired"


def test_a_password_change_ends_sign_in_journeys_started_with_the_old_password() -> None:
    user = make_account()
    mobile = person_of(user).mobile
    pending = services.sign_in_start(login=user.username, password=PASSWORD, ip=IP, user_agent=UA)
    services.sign_in_send_sms_code(challenge=pending.challenge, ip=IP)
    sign_in_code = last_code(mobile)
    challenge = _reauthenticated(user)
    services.password_change(
        user=user, challenge=challenge, new_password=NEW_PASSWORD, ip=IP, user_agent=UA, keep_session_key=None
    )
    failure = _error(
        services.sign_in_verify,
        challenge=pending.challenge,
        code=sign_in_code,
        method="sms",
        ip=IP,
        user_agent=UA,
    )
    assert failure.code == "challenge_expired"
