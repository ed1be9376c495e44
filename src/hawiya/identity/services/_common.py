"""Small pieces the identity services share: journey limits, the security-event write, challenge
lookup, the account lock check and the failure count."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.utils import translation

from hawiya.core.errors import ApplicationError, ServiceBusy
from hawiya.core.metrics import ACCOUNT_LOCKOUTS, SIGN_INS, SignInOutcome, inc_on_commit
from hawiya.notifications.services import sms_send
from hawiya.registry.id_numbers import parse_id_number
from hawiya.registry.models import Person

from .. import codes, errors, throttles
from ..models import Method, MethodLock, OneTimeCode, SecurityEvent, User
from ..passwords import validate_new_password
from ..security_signals import ACCOUNT_DISABLED, security_event_emit

# A journey (activation, sign-in, reset, reauthentication) must finish within this time.
CHALLENGE_LIFETIME = dt.timedelta(minutes=15)
USER_AGENT_MAX = 300
Event = SecurityEvent.Kind


def _clean_ip(ip: str) -> str | None:
    try:
        validate_ipv46_address(ip)
    except ValidationError:
        return None
    return ip


def _event(
    user: User,
    kind: str,
    *,
    ip: str,
    user_agent: str,
    now: dt.datetime,
    detail: str = "",
    related: SecurityEvent | None = None,
) -> SecurityEvent:
    return SecurityEvent.objects.create(
        user=user,
        kind=kind,
        occurred_at=now,
        ip=_clean_ip(ip),
        user_agent=(user_agent or "")[:USER_AGENT_MAX],
        detail=detail,
        related_event=related,
    )


def _language(user: User | None) -> str:
    if user is not None:
        return user.preferred_language
    return (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]


def _mobile_of(user: User) -> str:
    person = user.person
    return person.mobile if person is not None else ""


def sms_subject_ref(user: User | None, person: Person | None) -> str | None:
    """What an SMS about an account (or, before activation, a register person) refers back to:
    an opaque id, never a name or an ID number. Not an actor: the audit trail has its own."""
    if user is not None:
        return f"user:{user.pk}"
    if person is not None:
        return f"person:{person.pk}"
    return None


def _challenge_for_update(challenge: str, purposes: tuple[str, ...], now: dt.datetime) -> OneTimeCode:
    row = (
        OneTimeCode.objects.select_for_update(of=("self",))
        .filter(challenge=challenge or "-", purpose__in=purposes)
        .select_related("user", "user__person", "person")
        .first()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise errors.error(errors.CHALLENGE_EXPIRED)
    return row


def _check_account_open(user: User, now: dt.datetime) -> None:
    """Raise when sign-in is closed: blocked after a report, or locked after failures."""
    guard = throttles.guard_for_update(user_id=user.pk)
    if guard.blocked_at is not None:
        raise errors.error(errors.ACCOUNT_BLOCKED)
    if guard.locked_until is not None and guard.locked_until > now:
        raise errors.account_locked(guard.locked_until)


def _record_failure(
    *, user: User | None, ip: str, user_agent: str, now: dt.datetime, detail: str
) -> throttles.FailureCount | None:
    """Count a wrong password or code for the IP and the account; tell the holder if it locks.

    Call inside a transaction that commits (the failure must outlive the error raised after it).
    """
    throttles.ip_record(ip)
    if user is None:
        return None
    count = throttles.guard_record_failure(user_id=user.pk, now=now)
    _event(user, Event.SIGN_IN_FAILED, ip=ip, user_agent=user_agent, now=now, detail=detail)
    if count.just_locked and count.locked_until is not None:
        _event(user, Event.ACCOUNT_LOCKED, ip=ip, user_agent=user_agent, now=now)
        inc_on_commit(ACCOUNT_LOCKOUTS)
        # RISC account-disabled without a reason: locked for a while after failures, not hijacked.
        security_event_emit(user, ACCOUNT_DISABLED)
        mobile = _mobile_of(user)
        if mobile:
            sms_send(
                to=mobile,
                template="account_locked",
                context={"until": count.locked_until},
                language=_language(user),
                subject_ref=sms_subject_ref(user, None),
            )
    return count


def _normalised_code(code: str) -> str:
    value = codes.normalise_code(code)
    if not value:
        raise errors.error(errors.CODE_REQUIRED, field="code")
    return value


def _parse_id_number(id_number: str) -> str:
    try:
        return parse_id_number(id_number)
    except ValidationError as exc:
        raise ApplicationError(errors.ID_NUMBER_INVALID, exc.messages[0], field="id_number") from exc


def _validated_password(password: str, user: User) -> None:
    try:
        validate_new_password(password, user)
    except ValidationError as exc:
        raise ApplicationError(
            errors.PASSWORD_INVALID, exc.messages[0], field="password", errors=exc.messages
        ) from exc


def _sms_locked(user: User) -> bool:
    return MethodLock.objects.filter(user=user, method=Method.SMS).exists()


# What each refusal of a sign-in step counts as in hawiya_sign_ins_total (anything else: refused).
# `invalid_credentials` is counted where the account is known (wrong_password / unknown_account).
_SIGN_IN_OUTCOMES = {
    errors.ACCOUNT_LOCKED: SignInOutcome.LOCKED,
    errors.ACCOUNT_BLOCKED: SignInOutcome.BLOCKED,
    errors.IP_THROTTLED: SignInOutcome.THROTTLED,
    errors.CHALLENGE_EXPIRED: SignInOutcome.EXPIRED,
    errors.CODE_INVALID: SignInOutcome.CODE_WRONG,
    errors.CODE_ATTEMPTS_EXCEEDED: SignInOutcome.CODE_WRONG,
    errors.TOTP_INVALID: SignInOutcome.CODE_WRONG,
    errors.RECOVERY_CODE_INVALID: SignInOutcome.CODE_WRONG,
    errors.PASSKEY_INVALID: SignInOutcome.CODE_WRONG,
    errors.PASSKEY_NOT_RECOGNISED: SignInOutcome.CODE_WRONG,
    errors.PASSKEY_COUNTER: SignInOutcome.CODE_WRONG,
}


def count_sign_in(outcome: str) -> None:
    SIGN_INS.labels(outcome).inc()


@contextmanager
def sign_in_counted(*, final: bool) -> Iterator[None]:
    """Count a sign-in step's outcome (/metrics): a refusal by its error code, and, for the final
    step (`final`), success once it has returned (its transaction committed). Hawiya busy
    (ServiceBusy: every hashing slot taken) counts as refused."""
    try:
        yield
    except (ApplicationError, ServiceBusy) as exc:
        if exc.code != errors.INVALID_CREDENTIALS:
            count_sign_in(_SIGN_IN_OUTCOMES.get(exc.code, SignInOutcome.REFUSED))
        raise
    if final:
        count_sign_in(SignInOutcome.SUCCESS)
