"""Passwords: the holder changes theirs after a reauthentication, or resets a forgotten one."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from hawiya.core import clock
from hawiya.notifications.services import sms_send

from .. import codes, errors, throttles
from ..models import Method, MethodLock, OneTimeCode, Purpose, User
from ..security_signals import CREDENTIAL_CHANGE, security_event_emit
from ._common import (
    CHALLENGE_LIFETIME,
    Event,
    _challenge_for_update,
    _event,
    _language,
    _mobile_of,
    _parse_id_number,
    _validated_password,
    sms_subject_ref,
)
from .one_time_codes import CodeSent, _neutral_verify, _reset_sms_locked, _send_code
from .sessions import SessionEnd, _revoke_sessions

# A verified reauthentication may be used for a password change within this time.
REAUTHENTICATION_VALIDITY = dt.timedelta(minutes=5)
PasswordResetStart = CodeSent


def password_change(
    *, user: User, challenge: str, new_password: str, ip: str, user_agent: str, keep_session_key: str | None
) -> None:
    """Change the password after a reauthentication (current password + code) verified in the
    last 5 minutes, identified by its `challenge` (used once).

    Every other session ends (the one with `keep_session_key` stays: the page then calls
    django.contrib.auth.update_session_auth_hash), and so does every journey of the account still
    open (a sign-in past the old password cannot be finished). The holder is told by SMS. Raises
    `reauthentication_required`, `password_invalid`.
    """
    now = clock.now()
    with transaction.atomic():
        row = (
            OneTimeCode.objects.select_for_update()
            .filter(challenge=challenge or "-", purpose=Purpose.REAUTHENTICATION, user=user)
            .first()
        )
        if (
            row is None
            or row.used_at is not None
            or row.verified_at is None
            or row.verified_at + REAUTHENTICATION_VALIDITY < now
        ):
            raise errors.error(errors.REAUTHENTICATION_REQUIRED)
        account = User.objects.select_for_update(of=("self",)).select_related("person").get(pk=user.pk)
        _validated_password(new_password, account)
        row.used_at = now
        row.save(update_fields=["used_at"])
        _set_password(
            account, new_password, now=now, ip=ip, user_agent=user_agent, kind=Event.PASSWORD_CHANGED
        )
        _revoke_sessions(account, except_session_key=keep_session_key, reason=SessionEnd.PASSWORD_CHANGED)
    user.password = account.password


def _set_password(
    user: User, password: str, *, now: dt.datetime, ip: str, user_agent: str, kind: str
) -> None:
    user.set_password(password)
    user.password_changed_at = now
    user.save(update_fields=["password", "password_changed_at"])
    # Journeys begun before (a sign-in past the old password, a reauthentication, a mobile change,
    # another reset) end: the new password must not be bypassed by a challenge won with the old.
    OneTimeCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    _event(user, kind, ip=ip, user_agent=user_agent, now=now)
    security_event_emit(
        user,
        CREDENTIAL_CHANGE,
        {"credential_type": "password", "change_type": "update", "initiating_entity": "user"},
    )
    mobile = _mobile_of(user)
    if mobile:
        sms_send(
            to=mobile,
            template="password_changed",
            context={},
            language=_language(user),
            subject_ref=sms_subject_ref(user, None),
        )


def password_reset_start(
    *, id_number: str, date_of_birth: dt.date, ip: str, language: str | None = None
) -> PasswordResetStart:
    """Forgotten password: the ID number and date of birth → a code to the mobile on record.

    The answer is the same whatever does not match (no account, wrong date, no mobile on record,
    SMS locked, deceased): a challenge that never verifies, the same limits. Raises only
    `id_number_invalid` (malformed), `ip_throttled`, `too_many_codes`.
    """
    throttles.ip_check(ip, throttles.IP_STARTS)
    number = _parse_id_number(id_number)
    throttles.ip_record(ip, throttles.IP_STARTS)
    now = clock.now()
    with transaction.atomic():
        account = (
            User.objects.select_related("person").filter(person__id_number=number, is_active=True).first()
        )
        person = account.person if account is not None else None
        matches = (
            account is not None
            and person is not None
            and person.date_of_birth == date_of_birth
            and bool(person.mobile)
            and person.is_alive
            and not MethodLock.objects.filter(user=account, method=Method.SMS).exists()
        )
        row = OneTimeCode.objects.create(
            challenge=codes.new_challenge(),
            purpose=Purpose.PASSWORD_RESET,
            person=person if matches else None,
            user=account if matches else None,
            rate_key=codes.quota_key_for_id_number(number),
            created_at=now,
            expires_at=now + CHALLENGE_LIFETIME,
        )
        return _send_code(
            row,
            now=now,
            to=person.mobile if matches and person is not None else "",
            language=_language(account) if matches else (language or _language(None)),
            masked_mobile="",
            real=matches,
        )


def password_reset_verify(*, challenge: str, code: str, ip: str) -> None:
    """Check the password-reset code. Errors as `activation_verify`."""
    _neutral_verify(challenge=challenge, code=code, purpose=Purpose.PASSWORD_RESET, ip=ip)


def password_reset_complete(*, challenge: str, password: str, ip: str, user_agent: str = "") -> User:
    """Set a new password on a verified password-reset challenge (used once).

    Every session and every other open journey of the account ends, a "this wasn't me" block is
    lifted, the holder is told by SMS. A temporary lock after failures is not lifted (it ends by
    itself). Raises `challenge_expired` (also when text messages were locked since the reset
    started), `password_invalid`.
    """
    now = clock.now()
    with transaction.atomic():
        row = _challenge_for_update(challenge, (Purpose.PASSWORD_RESET,), now)
        if row.verified_at is None or row.user is None or _reset_sms_locked(row):
            raise errors.error(errors.CHALLENGE_EXPIRED)
        account = User.objects.select_for_update(of=("self",)).select_related("person").get(pk=row.user.pk)
        _validated_password(password, account)
        row.used_at = now
        row.save(update_fields=["used_at"])
        _set_password(account, password, now=now, ip=ip, user_agent=user_agent, kind=Event.PASSWORD_RESET)
        _revoke_sessions(account, except_session_key=None, reason=SessionEnd.PASSWORD_RESET)
        guard = throttles.guard_for_update(user_id=account.pk)
        if guard.blocked_at is not None:
            guard.blocked_at = None
            guard.save(update_fields=["blocked_at"])
    return account
