"""Activation: a person with a register entry creates their account (ID number, date of birth and
mobile number → a code → a username and password)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from hawiya.core import clock
from hawiya.core.digits import western_digits
from hawiya.core.errors import ApplicationError
from hawiya.core.text import mask_mobile
from hawiya.notifications.services import sms_send
from hawiya.registry.models import Person
from hawiya.registry.phones import normalise_mobile

from .. import codes, errors, throttles
from ..models import OneTimeCode, Purpose, User
from ._common import (
    CHALLENGE_LIFETIME,
    Event,
    _challenge_for_update,
    _event,
    _language,
    _parse_id_number,
    _subject_ref,
    _validated_password,
)
from .one_time_codes import CodeSent, _neutral_verify, _send_code

USERNAME_MIN, USERNAME_MAX = 4, 30
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
ActivationStart = CodeSent


@dataclass(frozen=True)
class ActivationVerified:
    """The code was right: the account can be created with this challenge until `complete_by`."""

    challenge: str
    complete_by: dt.datetime


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
