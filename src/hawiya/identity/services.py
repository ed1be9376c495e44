"""Writes of the identity app: activation, sign-in, passwords, second factors, sessions.

Conventions (docs/design.md §3, §5): every service is keyword-only and typed, runs its writes in one
transaction, locks the rows that can race (`select_for_update`), sends text messages through the
notifications outbox (written in the same transaction, sent after commit) and raises
`ApplicationError` with a code from `identity.errors`.

A failed attempt must be remembered even though the service then raises: those services finish
their transaction first (counting the failure) and raise after it has committed.

Journeys are built on challenges (`OneTimeCode` rows): the page keeps only the public
`challenge` token in the session and passes it back.

- Activation: activation_start → [one_time_code_send to resend] → activation_verify →
  activation_complete.
- Sign-in: sign_in_start (password) → sign_in_send_sms_code (if SMS) → sign_in_verify (sms, totp
  or recovery) → the page calls django.contrib.auth.login → user_session_record.
- Forgotten password: password_reset_start → password_reset_verify → password_reset_complete.
- Change password / sensitive changes: reauthentication_start (current password) →
  sign_in_send_sms_code (if SMS) → reauthentication_verify → password_change.
- Change the mobile number (behind a recent reauthentication): mobile_change_start (code to the
  number on record) → mobile_change_verify_current (code to the new number) →
  mobile_change_complete; one_time_code_send resends either code.

Activation and password reset answer alike whatever was wrong (no enumeration): a challenge is
always created and the same shape returned; only a matching request sends a code.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import IntegrityError, transaction
from django.utils import translation

from hawiya.core import clock
from hawiya.core.digits import western_digits
from hawiya.core.errors import ApplicationError
from hawiya.core.text import mask_mobile
from hawiya.notifications.services import sms_send
from hawiya.registry.id_numbers import is_valid_id_number, parse_id_number
from hawiya.registry.models import Person
from hawiya.registry.phones import normalise_mobile
from hawiya.registry.services import person_change_mobile

from . import codes, errors, throttles
from .models import (
    AuthenticatorApp,
    Method,
    MethodLock,
    OneTimeCode,
    Purpose,
    RecoveryCode,
    SecurityEvent,
    User,
    UserSession,
)
from .passwords import validate_new_password

CODE_LIFETIME = dt.timedelta(minutes=5)
# A journey (activation, sign-in, reset, reauthentication) must finish within this time.
CHALLENGE_LIFETIME = dt.timedelta(minutes=15)
# Wrong entries of one code before it can no longer be used (a new one must be sent).
CODE_MAX_WRONG_ATTEMPTS = 5
# A verified reauthentication may be used for a password change within this time.
REAUTHENTICATION_VALIDITY = dt.timedelta(minutes=5)
USER_AGENT_MAX = 300
# A session's "last seen" is written at most this often.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)
USERNAME_MIN, USERNAME_MAX = 4, 30
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")

Event = SecurityEvent.Kind


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeSent:
    """A challenge whose code was (or, for a request that did not match, seemed to be) sent.

    `sms_reference` (for the delivery status, see selectors.one_time_code_delivery_status) is
    None in activation and password reset, whose answers must not differ.
    """

    challenge: str
    sent_at: dt.datetime
    code_expires_at: dt.datetime
    resend_available_at: dt.datetime
    sends_left: int
    expires_at: dt.datetime
    masked_mobile: str
    sms_reference: uuid.UUID | None


ActivationStart = CodeSent
PasswordResetStart = CodeSent


@dataclass(frozen=True)
class SignInChallenge:
    """The password was right: the second step. `methods` lists what the account can use now
    (in the order to offer them); `masked_mobile` is the number on record, last two digits only."""

    challenge: str
    methods: tuple[str, ...]
    masked_mobile: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class ActivationVerified:
    """The code was right: the account can be created with this challenge until `complete_by`."""

    challenge: str
    complete_by: dt.datetime


@dataclass(frozen=True)
class MobileChangeStep:
    """A step of a mobile number change whose code was just sent.

    `step` is "current" (the code went to the number on record) or "new" (it went to the new
    number); `sent` says when the code expires and when another may be asked for (its
    `masked_mobile` is the number it went to). The page keeps `challenge` for the next call.
    """

    challenge: str
    step: str
    masked_current: str
    masked_new: str
    sent: CodeSent


MobileChangeStarted = MobileChangeStep


@dataclass(frozen=True)
class AuthenticatorEnrolment:
    """What the set-up page shows: a QR code of `provisioning_uri` and, for typing, the secret."""

    secret: str
    provisioning_uri: str

    @property
    def secret_groups(self) -> str:
        """The secret in groups of four, as the page shows it for typing."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


# --- Small pieces ------------------------------------------------------------------------------


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


def _subject_ref(user: User | None, person: Person | None) -> str | None:
    if user is not None:
        return f"user:{user.pk}"
    if person is not None:
        return f"person:{person.pk}"
    return None


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
        mobile = _mobile_of(user)
        if mobile:
            sms_send(
                to=mobile,
                template="account_locked",
                context={"until": count.locked_until},
                language=_language(user),
                subject_ref=_subject_ref(user, None),
            )
    return count


def _send_code(
    row: OneTimeCode, *, now: dt.datetime, to: str, language: str, masked_mobile: str, real: bool
) -> CodeSent:
    """Send a new code for `row` (superseding the previous one), within the resend limits.

    `real` False (a request that did not match the register): everything happens alike, the
    limits included, except that no message is sent and no code can verify.
    """
    if row.sent_at is not None and now < row.sent_at + throttles.RESEND_INTERVAL:
        wait = row.sent_at + throttles.RESEND_INTERVAL - now
        raise errors.resend_too_soon(int(wait.total_seconds()) + (1 if wait.microseconds else 0))
    sends_left = throttles.quota_claim(key=row.rate_key, now=now)
    code = codes.new_code()
    row.sent_at = now
    row.code_expires_at = now + CODE_LIFETIME
    row.send_count += 1
    row.wrong_attempts = 0
    if real:
        row.code_hash = codes.code_hash(row.challenge, code)
        row.sms = sms_send(
            to=to,
            template="one_time_code",
            # The message says what the code is for: a code for a change nobody asked for warns.
            context={"code": code, "purpose": row.purpose},
            language=language,
            subject_ref=_subject_ref(row.user, row.person),
            is_secret=True,
            expires_at=row.code_expires_at,
        )
    else:
        row.code_hash = codes.unmatchable_hash()
        row.sms = None
    row.save(update_fields=["sent_at", "code_expires_at", "send_count", "wrong_attempts", "code_hash", "sms"])
    neutral = row.purpose in (Purpose.ACTIVATION, Purpose.PASSWORD_RESET)
    return CodeSent(
        challenge=row.challenge,
        sent_at=now,
        code_expires_at=row.code_expires_at,
        resend_available_at=now + throttles.RESEND_INTERVAL,
        sends_left=sends_left,
        expires_at=row.expires_at,
        masked_mobile=masked_mobile,
        sms_reference=None if neutral or row.sms is None else row.sms.reference,
    )


def _sms_code_problem(row: OneTimeCode, code: str, now: dt.datetime) -> str | None:
    """None when `code` is the current code of `row`; else the error code. Counts wrong entries."""
    if row.wrong_attempts >= CODE_MAX_WRONG_ATTEMPTS:
        return errors.CODE_ATTEMPTS_EXCEEDED
    matches = codes.code_matches(row.challenge, code, row.code_hash)
    if matches and row.code_expires_at is not None and row.code_expires_at > now:
        return None
    row.wrong_attempts += 1
    row.save(update_fields=["wrong_attempts"])
    return errors.CODE_INVALID


def _normalised_code(code: str) -> str:
    value = codes.normalise_code(code)
    if not value:
        raise errors.error(errors.CODE_REQUIRED, field="code")
    return value


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


def _revoke_sessions(user: User, *, except_session_key: str | None) -> int:
    """End the account's recorded sessions, in Django's session store too."""
    sessions = UserSession.objects.select_for_update().filter(user=user)
    if except_session_key:
        sessions = sessions.exclude(session_key=except_session_key)
    keys = list(sessions.values_list("session_key", flat=True))
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(user=user, session_key__in=keys).delete()
    return len(keys)


def _parse_id_number(id_number: str) -> str:
    try:
        return parse_id_number(id_number)
    except ValidationError as exc:
        raise ApplicationError(errors.ID_NUMBER_INVALID, exc.messages[0], field="id_number") from exc


# --- Codes: resend ---------------------------------------------------------------------------


def one_time_code_send(*, challenge: str, ip: str, user_agent: str = "") -> CodeSent:
    """Send (or send again) the code of any challenge; the new code supersedes the previous one.

    Refused within 60 s of the last send (`resend_too_soon`, extra `seconds`), beyond 5 sends an
    hour for the account or ID number (`too_many_codes`, extra `seconds`), for a finished or
    expired challenge (`challenge_expired`). For sign-in and reauthentication also refused when
    the account is locked (`account_locked`, `account_blocked`), the SMS method is locked
    (`method_locked`) or there is no mobile on record (`no_mobile`); the same for both steps of a
    mobile number change. The code goes to the mobile number on record, never to a number typed
    by the person (activation checks that they match), except the new-number step of a mobile
    number change, whose code goes to the new number it proves (`target_mobile`). A resend never
    resets the failure count.
    """
    now = clock.now()
    with transaction.atomic():
        row = _challenge_for_update(challenge, tuple(Purpose.values), now)
        if row.purpose in (Purpose.ACTIVATION, Purpose.PASSWORD_RESET):
            if row.verified_at is not None:
                raise errors.error(errors.CHALLENGE_EXPIRED)
            person = row.person
            # masked_mobile stays empty: showing the number on record would tell matching
            # requests apart (the page keeps the one activation_start returned).
            return _send_code(
                row,
                now=now,
                to=person.mobile if person is not None else "",
                language=_language(row.user),
                masked_mobile="",
                real=person is not None and bool(person.mobile) and not _reset_sms_locked(row),
            )
        user = row.user
        if user is None or not user.is_active or row.verified_at is not None:
            raise errors.error(errors.CHALLENGE_EXPIRED)
        _check_account_open(user, now)
        if MethodLock.objects.filter(user=user, method=Method.SMS).exists():
            raise errors.error(errors.METHOD_LOCKED, field="method")
        mobile = _mobile_of(user)
        if not mobile:
            raise errors.error(errors.NO_MOBILE)
        if row.purpose == Purpose.MOBILE_CHANGE_NEW:
            if not row.target_mobile:
                raise errors.error(errors.CHALLENGE_EXPIRED)
            mobile = row.target_mobile
        sent = _send_code(
            row, now=now, to=mobile, language=_language(user), masked_mobile=mask_mobile(mobile), real=True
        )
        _event(user, Event.CODE_SENT, ip=ip, user_agent=user_agent, now=now, detail=row.purpose)
        return sent


def sign_in_send_sms_code(*, challenge: str, ip: str, user_agent: str = "") -> CodeSent:
    """Send the sign-in (or reauthentication) code by SMS; see `one_time_code_send` for the rules."""
    return one_time_code_send(challenge=challenge, ip=ip, user_agent=user_agent)


# --- Activation ----------------------------------------------------------------------------------


def activation_start(
    *, id_number: str, date_of_birth: dt.date, mobile: str, ip: str, language: str | None = None
) -> ActivationStart:
    """Begin activating an account: the person's ID number, date of birth and mobile number.

    Whatever does not match (unknown ID number, wrong date of birth, wrong mobile, a deceased
    person, an ID number that already has an account) the answer is the same `ActivationStart`,
    and the limits apply alike (they are counted per ID number); only when everything matches,
    the person is alive and has no account is a code sent to the mobile number on record. When
    the ID number and date of birth match an existing account, the holder is told by SMS
    (`activation_attempt`) instead.

    Raises only for what the person can see for themselves: `id_number_invalid` and
    `mobile_invalid` (malformed input, field errors), `ip_throttled`, `too_many_codes`.
    """
    throttles.ip_check(ip, throttles.IP_STARTS)
    number = _parse_id_number(id_number)
    try:
        typed_mobile = normalise_mobile(mobile)
    except ValidationError as exc:
        raise ApplicationError(errors.MOBILE_INVALID, exc.messages[0], field="mobile") from exc
    throttles.ip_record(ip, throttles.IP_STARTS)
    now = clock.now()
    language = language or _language(None)
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(id_number=number).first()
        account = User.objects.filter(person=person).first() if person is not None else None
        born_right = person is not None and person.date_of_birth == date_of_birth
        matches = (
            born_right
            and person is not None
            and person.mobile == typed_mobile
            and person.is_alive
            and account is None
        )
        row = OneTimeCode.objects.create(
            challenge=codes.new_challenge(),
            purpose=Purpose.ACTIVATION,
            person=person if matches else None,
            rate_key=codes.quota_key_for_id_number(number),
            created_at=now,
            expires_at=now + CHALLENGE_LIFETIME,
        )
        sent = _send_code(
            row,
            now=now,
            to=typed_mobile,
            language=language,
            masked_mobile=mask_mobile(typed_mobile),
            real=matches,
        )
        if account is not None and born_right and person is not None and person.mobile and person.is_alive:
            sms_send(
                to=person.mobile,
                template="activation_attempt",
                context={"time": now},
                language=_language(account),
                subject_ref=_subject_ref(account, None),
            )
    return sent


def _reset_sms_locked(row: OneTimeCode) -> bool:
    """A password-reset challenge whose account has locked text messages since it started: the
    SMS method is locked, so its code can neither be sent nor verify (as for a reset started
    while locked, which never matches)."""
    return row.purpose == Purpose.PASSWORD_RESET and row.user is not None and _sms_locked(row.user)


def _neutral_verify(*, challenge: str, code: str, purpose: str, ip: str) -> OneTimeCode:
    """Check the code of an activation or password-reset challenge; the same for decoys."""
    throttles.ip_check(ip)
    value = _normalised_code(code)
    now = clock.now()
    with transaction.atomic():
        row = _challenge_for_update(challenge, (purpose,), now)
        if row.verified_at is not None:
            raise errors.error(errors.CHALLENGE_EXPIRED)
        if _reset_sms_locked(row):
            # Text messages were locked since the reset started: from now on a decoy (never
            # verifies, wrong entries counted alike).
            row.code_hash = codes.unmatchable_hash()
        problem = _sms_code_problem(row, value, now)
        if problem is None and row.person is not None:
            row.verified_at = now
            row.save(update_fields=["verified_at"])
            return row
        problem = problem or errors.CODE_INVALID
        throttles.ip_record(ip)
    raise errors.error(problem, field="code")


def activation_verify(*, challenge: str, code: str, ip: str) -> ActivationVerified:
    """Check the activation code. Then `activation_complete` may create the account.

    Raises `code_invalid` (wrong or expired; counted), `code_attempts_exceeded` (5 wrong entries:
    ask for a new code), `code_required`, `challenge_expired`, `ip_throttled`.
    """
    row = _neutral_verify(challenge=challenge, code=code, purpose=Purpose.ACTIVATION, ip=ip)
    return ActivationVerified(challenge=row.challenge, complete_by=row.expires_at)


def normalise_username(username: str) -> str:
    """As typed → the stored form (lower case, Western digits, no surrounding spaces)."""
    return western_digits(username or "").strip().lower()


def validate_username(username: str) -> str:
    """The normalised username, or ApplicationError `username_invalid`.

    4-30 characters of a-z, 0-9, dot, hyphen and underscore, with at least one letter, so that a
    username can never be read as an ID number at sign-in.
    """
    value = normalise_username(username)
    if (
        not USERNAME_MIN <= len(value) <= USERNAME_MAX
        or not set(value) <= _USERNAME_CHARS
        or not any("a" <= char <= "z" for char in value)
    ):
        raise errors.error(errors.USERNAME_INVALID, field="username")
    return value


def _validated_password(password: str, user: User) -> None:
    try:
        validate_new_password(password, user)
    except ValidationError as exc:
        raise ApplicationError(
            errors.PASSWORD_INVALID, exc.messages[0], field="password", errors=exc.messages
        ) from exc


def activation_complete(
    *, challenge: str, username: str, password: str, accepted_terms: bool, ip: str, user_agent: str = ""
) -> User:
    """Create the account of a verified activation challenge; returns the new account.

    One account per person, enforced by the database (two parallel completions: one account, the
    other gets `already_activated`). Raises `challenge_expired`, `terms_not_accepted`,
    `username_invalid`, `username_taken`, `password_invalid` (extra `errors`: every rule
    broken), `already_activated`. The page may sign the person in afterwards
    (django.contrib.auth.login, then user_session_record).
    """
    if not accepted_terms:
        raise errors.error(errors.TERMS_NOT_ACCEPTED, field="accepted_terms")
    name = validate_username(username)
    now = clock.now()
    with transaction.atomic():
        row = _challenge_for_update(challenge, (Purpose.ACTIVATION,), now)
        person = row.person
        if row.verified_at is None or person is None:
            raise errors.error(errors.CHALLENGE_EXPIRED)
        person = Person.objects.select_for_update().get(pk=person.pk)
        if not person.is_alive:
            raise errors.error(errors.CHALLENGE_EXPIRED)
        if User.objects.filter(person=person).exists():
            raise errors.error(errors.ALREADY_ACTIVATED)
        if User.objects.filter(username__iexact=name).exists():
            raise errors.error(errors.USERNAME_TAKEN, field="username")
        user = User(username=name, person=person, preferred_language=_language(None), password_changed_at=now)
        _validated_password(password, user)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save(force_insert=True)
        except IntegrityError as exc:
            if User.objects.filter(person=person).exists():
                raise errors.error(errors.ALREADY_ACTIVATED) from exc
            raise errors.error(errors.USERNAME_TAKEN, field="username") from exc
        throttles.guard_ensure(user.pk)
        row.user = user
        row.used_at = now
        row.save(update_fields=["user", "used_at"])
        _event(user, Event.ACTIVATION, ip=ip, user_agent=user_agent, now=now)
    return user


# --- Sign-in -------------------------------------------------------------------------------------


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
    throttles.ip_check(ip)
    user = _user_for_login(login)
    matched = _password_matches(user, password)
    now = clock.now()
    if not matched or user is None:
        with transaction.atomic():
            _record_failure(
                user=user if user is not None and user.is_active else None,
                ip=ip,
                user_agent=user_agent,
                now=now,
                detail="password",
            )
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


# --- Passwords ------------------------------------------------------------------------------------


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
        _revoke_sessions(account, except_session_key=keep_session_key)
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
    mobile = _mobile_of(user)
    if mobile:
        sms_send(
            to=mobile,
            template="password_changed",
            context={},
            language=_language(user),
            subject_ref=_subject_ref(user, None),
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
        _revoke_sessions(account, except_session_key=None)
        guard = throttles.guard_for_update(user_id=account.pk)
        if guard.blocked_at is not None:
            guard.blocked_at = None
            guard.save(update_fields=["blocked_at"])
    return account


# --- Mobile number change -----------------------------------------------------------------------

_MOBILE_CHANGE_PURPOSES = (Purpose.MOBILE_CHANGE_OLD, Purpose.MOBILE_CHANGE_NEW)


def _sms_locked(user: User) -> bool:
    return MethodLock.objects.filter(user=user, method=Method.SMS).exists()


def _mobile_change_row(challenge: str, purpose: str, user: User, now: dt.datetime) -> OneTimeCode:
    """The holder's open challenge of this mobile-change step, locked; `challenge_expired` for
    anything else (another account's, finished, expired)."""
    row = _challenge_for_update(challenge, (purpose,), now)
    if row.user is None or row.user.pk != user.pk or row.verified_at is not None or not row.target_mobile:
        raise errors.error(errors.CHALLENGE_EXPIRED)
    return row


def _mobile_change_failure(
    row: OneTimeCode, account: User, problem: str, *, ip: str, user_agent: str, now: dt.datetime
) -> ApplicationError:
    """Count a wrong code like a wrong sign-in code; the error to raise once committed."""
    count = _record_failure(user=account, ip=ip, user_agent=user_agent, now=now, detail=Method.SMS)
    if count is not None and count.locked_until is not None and count.is_locked(now):
        return errors.account_locked(count.locked_until)
    return errors.error(problem, field="code")


def mobile_change_start(*, user: User, new_mobile: str, ip: str, user_agent: str) -> MobileChangeStep:
    """Begin changing the mobile number on record: a code goes to the CURRENT number.

    The page calls this behind `require_recent_auth` (a reauthentication in the last minutes):
    the codes to both numbers prove the phones, not the person. `new_mobile` is accepted as typed.
    Raises `account_locked`, `account_blocked`, `no_mobile` (no number on record: the page
    explains the office route), `mobile_change_in_person` (text messages are locked, so the
    current phone is presumably lost: the change is made at a civil-affairs office),
    `mobile_invalid` (field `new_mobile`), `mobile_unchanged` (field `new_mobile`),
    `too_many_codes`. Next: `mobile_change_verify_current` (or `one_time_code_send` to resend).
    """
    now = clock.now()
    with transaction.atomic():
        _check_account_open(user, now)
        account = User.objects.select_related("person").get(pk=user.pk)
        current = _mobile_of(account)
        if not current:
            raise errors.error(errors.NO_MOBILE)
        if _sms_locked(account):
            raise errors.error(errors.MOBILE_CHANGE_IN_PERSON)
        try:
            target = normalise_mobile(new_mobile)
        except ValidationError as exc:
            raise ApplicationError(errors.MOBILE_INVALID, exc.messages[0], field="new_mobile") from exc
        if target == current:
            raise errors.error(errors.MOBILE_UNCHANGED, field="new_mobile")
        row = OneTimeCode.objects.create(
            challenge=codes.new_challenge(),
            purpose=Purpose.MOBILE_CHANGE_OLD,
            user=account,
            person=account.person,
            target_mobile=target,
            rate_key=codes.quota_key_for_account(account.pk),
            created_at=now,
            expires_at=now + CHALLENGE_LIFETIME,
        )
        sent = _send_code(
            row,
            now=now,
            to=current,
            language=_language(account),
            masked_mobile=mask_mobile(current),
            real=True,
        )
        _event(account, Event.CODE_SENT, ip=ip, user_agent=user_agent, now=now, detail=row.purpose)
    return MobileChangeStep(
        challenge=row.challenge,
        step="current",
        masked_current=mask_mobile(current),
        masked_new=mask_mobile(target),
        sent=sent,
    )


def mobile_change_verify_current(
    *, user: User, challenge: str, code: str, ip: str, user_agent: str
) -> MobileChangeStep:
    """Check the code sent to the current number; then a code goes to the NEW number.

    Returns the new-number step with a NEW `challenge` (the first one is used up). A wrong code
    counts as a failure with wrong passwords, as at sign-in (the failure that locks raises
    `account_locked`); success does not reset the count. Raises `code_invalid`,
    `code_attempts_exceeded`, `code_required`, `challenge_expired` (also for another account's
    challenge, or when the number on record changed since the code was sent), `no_mobile`,
    `mobile_change_in_person`, `account_locked`, `account_blocked`, `ip_throttled`,
    `too_many_codes` (the code was right but stays unused: try again later).
    """
    throttles.ip_check(ip)
    value = _normalised_code(code)
    now = clock.now()
    with transaction.atomic():
        row = _mobile_change_row(challenge, Purpose.MOBILE_CHANGE_OLD, user, now)
        account = User.objects.select_related("person").get(pk=user.pk)
        _check_account_open(account, now)
        current = _mobile_of(account)
        if not current:
            raise errors.error(errors.NO_MOBILE)
        if _sms_locked(account):
            raise errors.error(errors.MOBILE_CHANGE_IN_PERSON)
        # The code must prove the number on record now, not one an office has since replaced.
        if row.sms is not None and row.sms.to != current:
            raise errors.error(errors.CHALLENGE_EXPIRED)
        if current == row.target_mobile:
            raise errors.error(errors.CHALLENGE_EXPIRED)
        problem = _sms_code_problem(row, value, now)
        if problem is None:
            row.verified_at = now
            row.used_at = now
            row.save(update_fields=["verified_at", "used_at"])
            new_row = OneTimeCode.objects.create(
                challenge=codes.new_challenge(),
                purpose=Purpose.MOBILE_CHANGE_NEW,
                user=account,
                person=account.person,
                target_mobile=row.target_mobile,
                rate_key=row.rate_key,
                created_at=now,
                # The journey keeps its deadline: verifying a step does not extend it.
                expires_at=row.expires_at,
            )
            sent = _send_code(
                new_row,
                now=now,
                to=new_row.target_mobile,
                language=_language(account),
                masked_mobile=mask_mobile(new_row.target_mobile),
                real=True,
            )
            _event(account, Event.CODE_SENT, ip=ip, user_agent=user_agent, now=now, detail=new_row.purpose)
            return MobileChangeStep(
                challenge=new_row.challenge,
                step="new",
                masked_current=mask_mobile(current),
                masked_new=mask_mobile(new_row.target_mobile),
                sent=sent,
            )
        failure = _mobile_change_failure(row, account, problem, ip=ip, user_agent=user_agent, now=now)
    raise failure


def mobile_change_complete(*, user: User, challenge: str, code: str, ip: str, user_agent: str) -> None:
    """Check the code sent to the new number and put the new number on record.

    In one transaction: the register's mobile number changes, the change is recorded in the
    holder's history (`mobile_changed`), the OLD number is told by SMS (sent after commit), the
    challenge is used, and any other open mobile-change journey of the account ends. Two parallel
    completions change the number once (the other gets `challenge_expired`). From then on codes
    go to the new number. Errors and counting as `mobile_change_verify_current`.
    """
    throttles.ip_check(ip)
    value = _normalised_code(code)
    now = clock.now()
    with transaction.atomic():
        row = _mobile_change_row(challenge, Purpose.MOBILE_CHANGE_NEW, user, now)
        account = User.objects.select_related("person").get(pk=user.pk)
        _check_account_open(account, now)
        if account.person is None:
            raise errors.error(errors.NO_MOBILE)
        # Locked before the old number is read, so it is the number this change replaces.
        person = Person.objects.select_for_update().get(pk=account.person.pk)
        old_mobile = person.mobile
        if not old_mobile:
            raise errors.error(errors.NO_MOBILE)
        if _sms_locked(account):
            raise errors.error(errors.MOBILE_CHANGE_IN_PERSON)
        if old_mobile == row.target_mobile:
            raise errors.error(errors.CHALLENGE_EXPIRED)
        problem = _sms_code_problem(row, value, now)
        if problem is None:
            person_change_mobile(
                person_id=person.pk,
                mobile=row.target_mobile,
                actor=f"user:{user.pk}",
                actor_role="citizen",
                ip=ip,
            )
            row.verified_at = now
            row.used_at = now
            row.save(update_fields=["verified_at", "used_at"])
            OneTimeCode.objects.filter(
                user=account, purpose__in=_MOBILE_CHANGE_PURPOSES, used_at__isnull=True
            ).exclude(pk=row.pk).update(used_at=now)
            _event(account, Event.MOBILE_CHANGED, ip=ip, user_agent=user_agent, now=now)
            sms_send(
                to=old_mobile,
                template="mobile_changed",
                context={"last_digits": row.target_mobile[-2:]},
                language=_language(account),
                subject_ref=_subject_ref(account, None),
            )
            if user.person is not None:
                user.person.mobile = row.target_mobile
            return
        failure = _mobile_change_failure(row, account, problem, ip=ip, user_agent=user_agent, now=now)
    raise failure


# --- Authenticator app and recovery codes -------------------------------------------------------


def authenticator_enrol(*, user: User) -> AuthenticatorEnrolment:
    """Start setting up an authenticator app: a new secret, not active until confirmed.

    Starting again replaces an unconfirmed secret. Raises `authenticator_already_active`.
    The page must require a recent authentication.
    """
    with transaction.atomic():
        app = AuthenticatorApp.objects.select_for_update().filter(user=user).first()
        if app is not None and app.confirmed_at is not None:
            raise errors.error(errors.AUTHENTICATOR_ALREADY_ACTIVE)
        secret = codes.totp_new_secret()
        if app is None:
            AuthenticatorApp.objects.create(user=user, secret=secret, created_at=clock.now())
        else:
            app.secret = secret
            app.created_at = clock.now()
            app.last_used_step = None
            app.save(update_fields=["secret", "created_at", "last_used_step"])
    return AuthenticatorEnrolment(
        secret=secret, provisioning_uri=codes.totp_provisioning_uri(secret, user.username)
    )


def authenticator_enrolment_pending(*, user: User) -> AuthenticatorEnrolment | None:
    """The enrolled but not yet confirmed app, for the set-up page to show again (None if none).

    The secret is read back from its encrypted column, so the page's session never holds it.
    """
    app = AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=True).first()
    if app is None:
        return None
    return AuthenticatorEnrolment(
        secret=app.secret, provisioning_uri=codes.totp_provisioning_uri(app.secret, user.username)
    )


def authenticator_confirm(*, user: User, code: str, ip: str, user_agent: str) -> None:
    """Activate the enrolled authenticator app with a code it shows. Raises `totp_invalid`,
    `authenticator_not_found`, `authenticator_already_active`, `code_required`."""
    value = _normalised_code(code)
    now = clock.now()
    with transaction.atomic():
        app = AuthenticatorApp.objects.select_for_update().filter(user=user).first()
        if app is None:
            raise errors.error(errors.AUTHENTICATOR_NOT_FOUND)
        if app.confirmed_at is not None:
            raise errors.error(errors.AUTHENTICATOR_ALREADY_ACTIVE)
        step = codes.totp_matching_step(app.secret, value, now, after_step=app.last_used_step)
        if step is None:
            raise errors.error(errors.TOTP_INVALID, field="code")
        app.confirmed_at = now
        app.last_used_step = step
        app.save(update_fields=["confirmed_at", "last_used_step"])
        _event(user, Event.FACTOR_ADDED, ip=ip, user_agent=user_agent, now=now, detail=Method.TOTP)


def authenticator_remove(*, user: User, ip: str, user_agent: str) -> None:
    """Remove the authenticator app (active or not). Raises `authenticator_not_found`.
    The page must require a recent authentication."""
    now = clock.now()
    with transaction.atomic():
        app = AuthenticatorApp.objects.select_for_update().filter(user=user).first()
        if app is None:
            raise errors.error(errors.AUTHENTICATOR_NOT_FOUND)
        was_active = app.confirmed_at is not None
        app.delete()
        MethodLock.objects.filter(user=user, method=Method.TOTP).delete()
        if was_active:
            _event(user, Event.FACTOR_REMOVED, ip=ip, user_agent=user_agent, now=now, detail=Method.TOTP)


def recovery_codes_generate(*, user: User, ip: str, user_agent: str) -> list[str]:
    """Ten new recovery codes, returned once to be shown once; the previous set stops working.

    Stored as keyed hashes only. The page must require a recent authentication.
    """
    now = clock.now()
    new_codes = codes.recovery_codes_new()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        had_codes = RecoveryCode.objects.filter(user=user).exists()
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(
            [
                RecoveryCode(user=user, code_hash=codes.recovery_code_hash(code), created_at=now)
                for code in new_codes
            ]
        )
        _event(
            user,
            Event.FACTOR_ADDED,
            ip=ip,
            user_agent=user_agent,
            now=now,
            detail="recovery_codes_renewed" if had_codes else "recovery_codes",
        )
    return new_codes


# --- Sign-in method locks -----------------------------------------------------------------------


def sign_in_method_lock(*, user: User, method: str, ip: str, user_agent: str) -> None:
    """Lock a sign-in method (sms or totp): it can neither send nor verify until unlocked.
    Locking a locked method changes nothing. Raises `method_not_available` for another method."""
    if method not in (Method.SMS, Method.TOTP):
        raise errors.error(errors.METHOD_NOT_AVAILABLE, field="method")
    now = clock.now()
    with transaction.atomic():
        _lock, created = MethodLock.objects.get_or_create(
            user=user, method=method, defaults={"locked_at": now}
        )
        if created:
            _event(user, Event.METHOD_LOCKED, ip=ip, user_agent=user_agent, now=now, detail=method)


def sign_in_method_unlock(*, user: User, method: str, ip: str, user_agent: str) -> None:
    """Unlock a sign-in method; unlocking an unlocked one changes nothing. The page must require
    a recent authentication."""
    if method not in (Method.SMS, Method.TOTP):
        raise errors.error(errors.METHOD_NOT_AVAILABLE, field="method")
    now = clock.now()
    with transaction.atomic():
        deleted, _by_model = MethodLock.objects.filter(user=user, method=method).delete()
        if deleted:
            _event(user, Event.METHOD_UNLOCKED, ip=ip, user_agent=user_agent, now=now, detail=method)


# --- Sessions -------------------------------------------------------------------------------------


def user_session_record(*, user: User, session_key: str, ip: str, user_agent: str) -> UserSession:
    """Record the session the page has just signed in (call after django.contrib.auth.login,
    which gives the session its new key)."""
    now = clock.now()
    with transaction.atomic():
        session, _created = UserSession.objects.update_or_create(
            session_key=session_key,
            defaults={
                "user": user,
                "ip": _clean_ip(ip),
                "user_agent": (user_agent or "")[:USER_AGENT_MAX],
                "created_at": now,
                "last_seen_at": now,
            },
        )
    return session


def user_session_rekey(*, user: User, old_session_key: str, new_session_key: str) -> None:
    """Follow a session whose key Django changed (update_session_auth_hash after a password
    change cycles the key): the recorded session keeps its history under the new key."""
    with transaction.atomic():
        UserSession.objects.filter(user=user, session_key=old_session_key).update(session_key=new_session_key)


def user_session_end(*, session_key: str) -> None:
    """Forget a session the holder signed out of (call from the sign-out page, before or after
    django.contrib.auth.logout)."""
    UserSession.objects.filter(session_key=session_key).delete()


def user_session_touch(*, session_key: str) -> bool:
    """Note that the session was used now (at most once a minute; one UPDATE). Returns True when
    the session is recorded: a middleware may sign out a session that is not."""
    now = clock.now()
    UserSession.objects.filter(session_key=session_key, last_seen_at__lt=now - LAST_SEEN_RESOLUTION).update(
        last_seen_at=now
    )
    return UserSession.objects.filter(session_key=session_key).exists()


def session_revoke(*, user: User, session_id: int) -> None:
    """End one of the holder's sessions. Another account's session (or none) answers NotFound
    `session_not_found`, alike."""
    with transaction.atomic():
        session = UserSession.objects.select_for_update().filter(pk=session_id, user=user).first()
        if session is None:
            raise errors.error(errors.SESSION_NOT_FOUND)
        import_module(settings.SESSION_ENGINE).SessionStore(session_key=session.session_key).delete()
        session.delete()


def sessions_revoke_all(*, user: User, except_session_key: str | None) -> int:
    """End every session of the holder but `except_session_key` (the current one); returns how
    many ended."""
    with transaction.atomic():
        return _revoke_sessions(user, except_session_key=except_session_key)


# --- "This wasn't me" -----------------------------------------------------------------------------


def security_event_report(*, user: User, event_id: int, ip: str = "", user_agent: str = "") -> SecurityEvent:
    """The holder says an event of their history was not them.

    Sign-in to the account is blocked until the password is reset (`account_blocked`), every
    session ends (the current one too: the page signs out), and the report is recorded and
    returned. Reporting the same event again returns the first report. Another account's event
    answers NotFound `security_event_not_found`.
    """
    now = clock.now()
    with transaction.atomic():
        event = SecurityEvent.objects.select_for_update().filter(pk=event_id, user=user).first()
        if event is None or event.kind == Event.REPORT_NOT_ME:
            raise errors.error(errors.SECURITY_EVENT_NOT_FOUND)
        guard = throttles.guard_for_update(user_id=user.pk)
        guard.blocked_at = guard.blocked_at or now
        guard.save(update_fields=["blocked_at"])
        _revoke_sessions(user, except_session_key=None)
        existing = SecurityEvent.objects.filter(
            user=user, kind=Event.REPORT_NOT_ME, related_event=event
        ).first()
        if existing is not None:
            return existing
        event.reported_at = now
        event.save(update_fields=["reported_at"])
        return _event(user, Event.REPORT_NOT_ME, ip=ip, user_agent=user_agent, now=now, related=event)
