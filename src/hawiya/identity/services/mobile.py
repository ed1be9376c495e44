"""Changing the mobile number on record: a code to the current number, then one to the new number."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from hawiya.core import clock
from hawiya.core.errors import ApplicationError
from hawiya.core.text import mask_mobile
from hawiya.notifications.services import sms_send
from hawiya.registry.models import Person
from hawiya.registry.phones import normalise_mobile
from hawiya.registry.services import person_change_mobile

from .. import codes, errors, throttles
from ..models import Method, OneTimeCode, Purpose, User
from ._common import (
    CHALLENGE_LIFETIME,
    Event,
    _challenge_for_update,
    _check_account_open,
    _event,
    _language,
    _mobile_of,
    _normalised_code,
    _record_failure,
    _sms_locked,
    _subject_ref,
)
from .one_time_codes import CodeSent, _send_code, _sms_code_problem


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
_MOBILE_CHANGE_PURPOSES = (Purpose.MOBILE_CHANGE_OLD, Purpose.MOBILE_CHANGE_NEW)


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
