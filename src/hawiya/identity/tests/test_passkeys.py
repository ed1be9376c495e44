"""Passkeys: registration and assertion checked end to end with a software authenticator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.testing import PinnedClock, outcome, race
from hawiya.identity import errors
from hawiya.identity.models import MethodLock, Passkey, SecurityEvent, SignInGuard, User
from hawiya.identity.services import passkeys
from hawiya.identity.tests.factories import IP, make_account
from hawiya.identity.tests.soft_authenticator import SoftAuthenticator
from hawiya.notifications.models import InboxNotification

pytestmark = pytest.mark.django_db

ORIGIN = "http://127.0.0.1:8000"
AGENT = "Mozilla/5.0 (Linux; Android 15) Chrome/140.0"


@pytest.fixture(autouse=True)
def webauthn_settings(settings: Any) -> None:
    settings.HAWIYA_WEBAUTHN_ORIGINS = [ORIGIN]
    settings.HAWIYA_WEBAUTHN_RP_ID = "127.0.0.1"


def _actor(user: User) -> Actor:
    return Actor.citizen(user.pk, ip=IP)


def _add(user: User, device: SoftAuthenticator | None = None, name: str = "my phone") -> SoftAuthenticator:
    device = device or SoftAuthenticator()
    options = passkeys.passkey_registration_options(user=user)
    passkeys.passkey_register(
        actor=_actor(user),
        user=user,
        challenge=options.challenge,
        credential=json.dumps(device.create(options.options_json)),
        name=name,
        ip=IP,
        user_agent=AGENT,
    )
    return device


def _sign_in(device: SoftAuthenticator, **bend: Any) -> User:
    options = passkeys.passkey_authentication_options(user=None, ip=IP)
    return passkeys.passkey_sign_in(
        challenge=options.challenge,
        credential=device.get(options.options_json, **bend),
        ip=IP,
        user_agent=AGENT,
    )


def _code(excinfo: pytest.ExceptionInfo[ApplicationError]) -> str:
    return excinfo.value.code


def test_a_passkey_is_added_and_signs_in_alone() -> None:
    user = make_account()
    device = _add(user)
    passkey = Passkey.objects.get(user=user)
    assert passkey.name == "my phone"
    assert passkey.credential_id == device.id
    assert passkey.transports == ["internal", "hybrid"]
    assert passkey.backed_up
    assert passkey.backup_eligible
    assert passkey.last_used_at is None
    options = json.loads(passkeys.passkey_registration_options(user=user).options_json)
    # Required user verification, a discoverable credential preferred, no attestation, no duplicate.
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["attestation"] == "none"
    assert [item["id"] for item in options["excludeCredentials"]] == [device.id]
    assert options["user"]["name"] == user.username
    assert SecurityEvent.objects.filter(user=user, kind="factor_added", detail="passkey").exists()
    assert AuditEvent.objects.filter(action="passkey.added").count() == 1

    assert _sign_in(device) == user
    passkey.refresh_from_db()
    assert passkey.sign_count == 1
    assert passkey.last_used_at is not None
    assert SecurityEvent.objects.filter(user=user, kind="sign_in", detail="passkey").exists()


def test_a_second_passkey_keeps_the_same_user_handle() -> None:
    user = make_account()
    first = _add(user)
    second = _add(user, name="laptop")
    assert first.user_handle == second.user_handle
    assert len(first.user_handle) == 32  # a keyed hash, not the account id


@pytest.mark.parametrize(
    ("bend", "code"),
    [
        ({"origin": "https://hawiya.example.evil"}, errors.PASSKEY_INVALID),
        ({"rp_id": "evil.example"}, errors.PASSKEY_INVALID),
    ],
)
def test_registration_from_another_origin_or_rp_id_is_refused(bend: dict[str, str], code: str) -> None:
    user = make_account()
    options = passkeys.passkey_registration_options(user=user)
    device = SoftAuthenticator()
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_register(
            actor=_actor(user),
            user=user,
            challenge=options.challenge,
            credential=device.create(options.options_json, **bend),
            name="x",
            ip=IP,
            user_agent=AGENT,
        )
    assert _code(excinfo) == code
    assert not Passkey.objects.exists()


def test_registration_without_user_verification_is_refused() -> None:
    user = make_account()
    with pytest.raises(ApplicationError) as excinfo:
        _add(user, SoftAuthenticator(user_verified=False))
    assert _code(excinfo) == errors.PASSKEY_INVALID


def test_a_registration_challenge_is_single_use_and_the_accounts_own() -> None:
    user, other = make_account(), make_account()
    options = passkeys.passkey_registration_options(user=user)
    device = SoftAuthenticator()
    answer = device.create(options.options_json)
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_register(
            actor=_actor(other),
            user=other,
            challenge=options.challenge,
            credential=answer,
            name="x",
            ip=IP,
            user_agent="",
        )
    assert _code(excinfo) == errors.CHALLENGE_EXPIRED
    passkeys.passkey_register(
        actor=_actor(user),
        user=user,
        challenge=options.challenge,
        credential=answer,
        name="x",
        ip=IP,
        user_agent="",
    )
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_register(
            actor=_actor(user),
            user=user,
            challenge=options.challenge,
            credential=answer,
            name="x",
            ip=IP,
            user_agent="",
        )
    assert _code(excinfo) == errors.CHALLENGE_EXPIRED


def test_the_same_authenticator_cannot_be_added_to_two_accounts() -> None:
    device = _add(make_account())
    with pytest.raises(ApplicationError) as excinfo:
        _add(make_account(), device)
    assert _code(excinfo) == errors.PASSKEY_ALREADY_ADDED


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "a\x00b", None])
def test_a_passkey_needs_a_short_name(name: object) -> None:
    user = make_account()
    options = passkeys.passkey_registration_options(user=user)
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_register(
            actor=_actor(user),
            user=user,
            challenge=options.challenge,
            credential=SoftAuthenticator().create(options.options_json),
            name=name,
            ip=IP,
            user_agent="",
        )
    assert _code(excinfo) == errors.PASSKEY_NAME_INVALID


@pytest.mark.parametrize(
    "garbage", ["", "{", "[]", '{"id": 5}', '{"id": "x"}', "x" * 70000, {"id": "a", "response": 3}]
)
def test_garbage_is_a_clear_refusal(garbage: object) -> None:
    user = make_account()
    options = passkeys.passkey_registration_options(user=user)
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_register(
            actor=_actor(user),
            user=user,
            challenge=options.challenge,
            credential=garbage,
            name="x",
            ip=IP,
            user_agent="",
        )
    assert _code(excinfo) in (errors.PASSKEY_INVALID, errors.CHALLENGE_EXPIRED)
    sign_in = passkeys.passkey_authentication_options(user=None, ip=IP)
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_sign_in(challenge=sign_in.challenge, credential=garbage, ip=IP, user_agent="")
    assert _code(excinfo) in (errors.PASSKEY_INVALID, errors.PASSKEY_NOT_RECOGNISED)


@pytest.mark.parametrize(
    "bend", [{"origin": "https://phish.example"}, {"rp_id": "phish.example"}], ids=["origin", "rp_id"]
)
def test_sign_in_from_another_origin_or_rp_id_is_refused_and_counted(bend: dict[str, str]) -> None:
    user = make_account()
    device = _add(user)
    with pytest.raises(ApplicationError) as excinfo:
        _sign_in(device, **bend)
    assert _code(excinfo) == errors.PASSKEY_INVALID
    assert SignInGuard.objects.get(user=user).failures == 1
    assert SecurityEvent.objects.filter(user=user, kind="sign_in_failed", detail="passkey").exists()


def test_sign_in_without_user_verification_is_refused() -> None:
    user = make_account()
    device = _add(user)
    device.user_verified = False
    with pytest.raises(ApplicationError) as excinfo:
        _sign_in(device)
    assert _code(excinfo) == errors.PASSKEY_INVALID


def test_a_replayed_sign_in_challenge_is_refused() -> None:
    user = make_account()
    device = _add(user)
    options = passkeys.passkey_authentication_options(user=None, ip=IP)
    answer = device.get(options.options_json)
    assert (
        passkeys.passkey_sign_in(challenge=options.challenge, credential=answer, ip=IP, user_agent="") == user
    )
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_sign_in(challenge=options.challenge, credential=answer, ip=IP, user_agent="")
    assert _code(excinfo) == errors.CHALLENGE_EXPIRED


def test_an_expired_challenge_is_refused(clock: PinnedClock) -> None:
    device = _add(make_account())
    options = passkeys.passkey_authentication_options(user=None, ip=IP)
    clock.advance(seconds=passkeys.CHALLENGE_LIFETIME.total_seconds())
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_sign_in(
            challenge=options.challenge, credential=device.get(options.options_json), ip=IP, user_agent=""
        )
    assert _code(excinfo) == errors.CHALLENGE_EXPIRED


def test_a_counter_that_goes_backwards_is_refused_flagged_and_told() -> None:
    user = make_account()
    device = _add(user)
    _sign_in(device, counter=5)
    with pytest.raises(ApplicationError) as excinfo:
        _sign_in(device, counter=5)
    assert _code(excinfo) == errors.PASSKEY_COUNTER
    assert Passkey.objects.get(user=user).sign_count == 5
    assert SecurityEvent.objects.filter(user=user, kind="passkey_counter").count() == 1
    assert user.person_id is not None
    notice = InboxNotification.objects.get(person_id=user.person_id, template="passkey_counter")
    assert notice.context == {"name": "my phone"}
    assert _sign_in(device, counter=6) == user


def test_authenticators_without_a_counter_keep_working() -> None:
    user = make_account()
    device = _add(user)
    assert _sign_in(device, counter=0) == user
    assert _sign_in(device, counter=0) == user


def test_a_removed_passkey_no_longer_signs_in() -> None:
    user = make_account()
    device = _add(user)
    passkey = Passkey.objects.get(user=user)
    passkeys.passkey_remove(actor=_actor(user), user=user, passkey_id=passkey.pk, ip=IP, user_agent="")
    with pytest.raises(ApplicationError) as excinfo:
        _sign_in(device)
    assert _code(excinfo) == errors.PASSKEY_NOT_RECOGNISED
    assert SecurityEvent.objects.filter(user=user, kind="factor_removed", detail="passkey").exists()


def test_another_accounts_passkey_cannot_confirm_it_is_you() -> None:
    user, other = make_account(), make_account()
    _add(user)
    intruder = _add(other)
    options = passkeys.passkey_authentication_options(user=user, ip=IP)
    assert [item["id"] for item in json.loads(options.options_json)["allowCredentials"]] == [
        Passkey.objects.get(user=user).credential_id
    ]
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_reauthenticate(
            user=user,
            challenge=options.challenge,
            credential=intruder.get(options.options_json),
            ip=IP,
            user_agent="",
        )
    assert _code(excinfo) == errors.PASSKEY_NOT_RECOGNISED


def test_a_passkey_confirms_it_is_you_but_not_on_a_sign_in_challenge() -> None:
    user = make_account()
    device = _add(user)
    options = passkeys.passkey_authentication_options(user=user, ip=IP)
    assert passkeys.passkey_reauthenticate(
        user=user,
        challenge=options.challenge,
        credential=device.get(options.options_json),
        ip=IP,
        user_agent="",
    )
    sign_in = passkeys.passkey_authentication_options(user=None, ip=IP)
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_reauthenticate(
            user=user,
            challenge=sign_in.challenge,
            credential=device.get(sign_in.options_json),
            ip=IP,
            user_agent="",
        )
    assert _code(excinfo) == errors.CHALLENGE_EXPIRED


def test_a_blocked_account_cannot_sign_in_with_a_passkey() -> None:
    user = make_account()
    device = _add(user)
    SignInGuard.objects.update_or_create(user=user, defaults={"blocked_at": "2026-11-23T06:00:00Z"})
    with pytest.raises(ApplicationError) as excinfo:
        _sign_in(device)
    assert _code(excinfo) == errors.ACCOUNT_BLOCKED


def test_rename_and_remove_are_the_holders_only() -> None:
    user, other = make_account(), make_account()
    _add(user)
    passkey = Passkey.objects.get(user=user)
    with pytest.raises(NotFound):
        passkeys.passkey_rename(actor=_actor(other), user=other, passkey_id=passkey.pk, name="mine")
    with pytest.raises(NotFound):
        passkeys.passkey_remove(actor=_actor(other), user=other, passkey_id=passkey.pk, ip=IP, user_agent="")
    passkeys.passkey_rename(actor=_actor(user), user=user, passkey_id=passkey.pk, name="  old   phone ")
    passkey.refresh_from_db()
    assert passkey.name == "old phone"


def test_the_last_way_to_sign_in_is_not_removed() -> None:
    user = make_account()
    _add(user)
    passkey = Passkey.objects.get(user=user)
    MethodLock.objects.create(user=user, method="sms")  # no authenticator app, no recovery codes
    with pytest.raises(ApplicationError) as excinfo:
        passkeys.passkey_remove(actor=_actor(user), user=user, passkey_id=passkey.pk, ip=IP, user_agent="")
    assert _code(excinfo) == errors.PASSKEY_LAST_FACTOR
    _add(user, name="laptop")  # with a second passkey, the first can go
    passkeys.passkey_remove(actor=_actor(user), user=user, passkey_id=passkey.pk, ip=IP, user_agent="")
    assert Passkey.objects.filter(user=user).count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_assertion_sent_ten_times_at_once_signs_in_once() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    user = make_account()
    device = _add(user)
    options = passkeys.passkey_authentication_options(user=None, ip=IP)
    answer = device.get(options.options_json)

    def attempt() -> User:
        return passkeys.passkey_sign_in(challenge=options.challenge, credential=answer, ip=IP, user_agent="")

    answers = sorted(outcome(result) for result in race([attempt] * 10))
    assert answers == ["challenge_expired"] * 9 + ["ok"]
    assert SecurityEvent.objects.filter(user=user, kind="sign_in", detail="passkey").count() == 1
