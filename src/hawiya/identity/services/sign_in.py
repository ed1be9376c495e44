"""Sign-in and reauthentication: the password, then a second factor (SMS code, authenticator app or
recovery code)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.db import transaction

from hawiya.core import clock
from hawiya.core.digits import western_digits
from hawiya.core.metrics import SignInOutcome
from hawiya.core.text import mask_mobile
from hawiya.registry.id_numbers import is_valid_id_number

from .. import codes, errors, throttles
from ..models import AuthenticatorApp, Method, MethodLock, OneTimeCode, Purpose, RecoveryCode, User
from ..selectors import user_must_sign_in_with_passkey
from ._common import (
    CHALLENGE_LIFETIME,
    Event,
    _challenge_for_update,
    _check_account_open,
    _event,
    _mobile_of,
    _normalised_code,
    _record_failure,
    count_sign_in,
    sign_in_counted,
)
from .one_time_codes import _sms_code_problem


@dataclass(frozen=True)
class SignInChallenge:
    """The password was right: the second step. `methods` lists what the account can use now
    (in the order to offer them); `masked_mobile` is the number on record, last two digits only."""

    challenge: str
    methods: tuple[str, ...]
    masked_mobile: str
    expires_at: dt.datetime


@functools.cache
def _dummy_hash(algorithm: str) -> str:
    # A hash of a random password made by the current default hasher: checking against it costs
    # what checking a real account's password costs.
    return make_password(codes.new_challenge())


def _password_matches(user: User | None, password: str) -> bool:
    """Check `password` running the password hasher exactly once, account or not."""
    if user is None or not user.is_active or not user.has_usable_password():
        check_password(password, _dummy_hash(get_hasher().algorithm))
        return False
    return user.check_password(password)


def _user_for_login(login: str) -> User | None:
    value = western_digits(login or "").strip()
    compact = "".join(value.split()).replace("-", "")
    query = User.objects.select_related("person")
    if is_valid_id_number(compact):
        return query.filter(person__id_number=compact).first()
    return query.filter(username__iexact=value).first() if value else None


def _available_methods(user: User) -> tuple[str, ...]:
    locked = set(MethodLock.objects.filter(user=user).values_list("method", flat=True))
    methods: list[str] = []
    if AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=False).exists() and (
        Method.TOTP not in locked
    ):
        methods.append(Method.TOTP)
    if _mobile_of(user) and Method.SMS not in locked:
        methods.append(Method.SMS)
    if RecoveryCode.objects.filter(user=user, used_at__isnull=True).exists():
        methods.append(Method.RECOVERY)
    return tuple(methods)


def _second_factor_problem(
    row: OneTimeCode, user: User, method: str, code: str, now: dt.datetime
) -> str | None:
    """Check the second factor for a sign-in or reauthentication challenge.

    Returns None on success, or the error code of a wrong guess (to be counted). Raises at once,
    without counting, for what is not a guess (locked or missing method, empty code).
    """
    if method not in (Method.SMS, Method.TOTP, Method.RECOVERY):
        raise errors.error(errors.METHOD_NOT_AVAILABLE, field="method")
    if method == Method.RECOVERY:
        value = codes.recovery_code_normalise(code)
        if not value:
            raise errors.error(errors.CODE_REQUIRED, field="code")
        recovery = (
            RecoveryCode.objects.select_for_update()
            .filter(user=user, code_hash=codes.recovery_code_hash(value), used_at__isnull=True)
            .first()
        )
        if recovery is None:
            return errors.RECOVERY_CODE_INVALID
        recovery.used_at = now
        recovery.save(update_fields=["used_at"])
        return None
    value = _normalised_code(code)
    if MethodLock.objects.filter(user=user, method=method).exists():
        raise errors.error(errors.METHOD_LOCKED, field="method")
    if method == Method.SMS:
        return _sms_code_problem(row, value, now)
    app = AuthenticatorApp.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if app is None:
        raise errors.error(errors.METHOD_NOT_AVAILABLE, field="method")
    step = codes.totp_matching_step(app.secret, value, now, after_step=app.last_used_step)
    if step is None:
        return errors.TOTP_INVALID
    app.last_used_step = step
    app.save(update_fields=["last_used_step"])
    return None


def _second_factor_challenge(user: User, purpose: str, now: dt.datetime) -> SignInChallenge:
    """After a right password: the challenge for the second factor, with the methods it may use."""
    with transaction.atomic():
        _check_account_open(user, now)
        methods = _available_methods(user)
        if not methods:
            raise errors.error(errors.NO_SIGN_IN_METHOD)
        row = OneTimeCode.objects.create(
            challenge=codes.new_challenge(),
            purpose=purpose,
            user=user,
            person=user.person,
            rate_key=codes.quota_key_for_account(user.pk),
            created_at=now,
            expires_at=now + CHALLENGE_LIFETIME,
        )
    mobile = _mobile_of(user)
    return SignInChallenge(
        challenge=row.challenge,
        methods=methods,
        masked_mobile=mask_mobile(mobile) if mobile else "",
        expires_at=row.expires_at,
    )


def sign_in_start(*, login: str, password: str, ip: str, user_agent: str) -> SignInChallenge:
    """First step of sign-in: the username or ID number (any digits) and the password.

    The password hasher runs exactly once whether or not the account exists. Wrong login or
    password: `invalid_credentials` (counted for the account and the IP). The right password on a
    locked account: `account_locked` (extra `locked_until`), or `account_blocked` after a "this
    wasn't me" report, so a lock is revealed only to someone who knows the password. Also
    `ip_throttled`, `no_sign_in_method`. A right password does not reset the failure count:
    only a complete sign-in does.
    """
    with sign_in_counted(final=False):
        throttles.ip_check(ip)
        user = _user_for_login(login)
        matched = _password_matches(user, password)
        now = clock.now()
        if not matched or user is None:
            known = user is not None and user.is_active
            with transaction.atomic():
                _record_failure(
                    user=user if known else None,
                    ip=ip,
                    user_agent=user_agent,
                    now=now,
                    detail="password",
                )
            count_sign_in(SignInOutcome.WRONG_PASSWORD if known else SignInOutcome.UNKNOWN_ACCOUNT)
            raise errors.error(errors.INVALID_CREDENTIALS)
        return _second_factor_challenge(user, Purpose.SIGN_IN, now)


def _verify_second_factor(
    *, challenge: str, purpose: str, code: str, method: str, ip: str, user_agent: str, user: User | None
) -> tuple[User, dt.datetime]:
    throttles.ip_check(ip)
    now = clock.now()
    with transaction.atomic():
        row = _challenge_for_update(challenge, (purpose,), now)
        account = row.user
        if (
            account is None
            or not account.is_active
            or row.verified_at is not None
            or (user is not None and account.pk != user.pk)
        ):
            # Deactivated since the password step, finished, or another account's challenge.
            raise errors.error(errors.CHALLENGE_EXPIRED)
        _check_account_open(account, now)
        if purpose == Purpose.SIGN_IN and user_must_sign_in_with_passkey(user=account):
            # The staff role signs in with a passkey (selectors.roles_requiring_passkey), on
            # every page that ends in this call: the code is neither checked nor counted.
            raise errors.error(errors.PASSKEY_REQUIRED_FOR_ROLE, field="code")
        problem = _second_factor_problem(row, account, method, code, now)
        if problem is None:
            row.verified_at = now
            fields = ["verified_at"]
            if purpose == Purpose.SIGN_IN:
                row.used_at = now
                fields.append("used_at")
            row.save(update_fields=fields)
            throttles.guard_reset(user_id=account.pk)
            kind = Event.SIGN_IN if purpose == Purpose.SIGN_IN else None
            if kind:
                _event(account, kind, ip=ip, user_agent=user_agent, now=now, detail=method)
            return account, now
        count = _record_failure(user=account, ip=ip, user_agent=user_agent, now=now, detail=method)
        failure = (
            errors.account_locked(count.locked_until)
            if count is not None and count.locked_until is not None and count.is_locked(now)
            else errors.error(problem, field="code")
        )
    raise failure


def sign_in_verify(*, challenge: str, code: str, method: str, ip: str, user_agent: str) -> User:
    """Second step of sign-in: a code by SMS, from the authenticator app, or a recovery code.

    Returns the account; the page then calls django.contrib.auth.login and user_session_record.
    A wrong code counts as a failure with wrong passwords (10 → locked 10 minutes; the
    failure that locks raises `account_locked`); success resets the count. Raises
    `code_invalid`, `code_attempts_exceeded`, `totp_invalid` (also for a replayed code),
    `recovery_code_invalid`, `code_required`, `method_locked`, `method_not_available`,
    `account_locked`, `account_blocked`, `challenge_expired`, `ip_throttled`.
    """
    with sign_in_counted(final=True):
        account, _now = _verify_second_factor(
            challenge=challenge,
            purpose=Purpose.SIGN_IN,
            code=code,
            method=method,
            ip=ip,
            user_agent=user_agent,
            user=None,
        )
    return account


def reauthentication_start(*, user: User, password: str, ip: str, user_agent: str) -> SignInChallenge:
    """Confirm it is still the holder before a sensitive change: the current password first.

    A wrong password (`current_password_wrong`) counts as a failed attempt; the one that locks
    the account raises `account_locked`. Then the second factor as at sign-in
    (sign_in_send_sms_code, reauthentication_verify).
    """
    matched = _password_matches(user, password)
    now = clock.now()
    if not matched:
        with transaction.atomic():
            count = _record_failure(user=user, ip=ip, user_agent=user_agent, now=now, detail="password")
        if count is not None and count.locked_until is not None and count.is_locked(now):
            raise errors.account_locked(count.locked_until)
        raise errors.error(errors.CURRENT_PASSWORD_WRONG, field="password")
    return _second_factor_challenge(user, Purpose.REAUTHENTICATION, now)


def reauthentication_verify(
    *, user: User, challenge: str, code: str, method: str, ip: str, user_agent: str
) -> dt.datetime:
    """Second step of reauthentication; returns the time to store as the last authentication
    (sessions.RECENT_AUTH_SESSION_KEY). Errors and counting as `sign_in_verify`."""
    _account, now = _verify_second_factor(
        challenge=challenge,
        purpose=Purpose.REAUTHENTICATION,
        code=code,
        method=method,
        ip=ip,
        user_agent=user_agent,
        user=user,
    )
    return now
