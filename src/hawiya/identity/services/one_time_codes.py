"""One-time codes by SMS: sending (and resending) the code of a challenge, within the resend
limits, and checking a typed code against it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from hawiya.core import clock
from hawiya.core.retention import Batches, delete_in_batches
from hawiya.core.text import mask_mobile
from hawiya.notifications.services import sms_send

from .. import codes, errors, throttles
from ..models import CodeSendQuota, Method, MethodLock, OneTimeCode, Purpose
from ._common import (
    Event,
    _challenge_for_update,
    _check_account_open,
    _event,
    _language,
    _mobile_of,
    _normalised_code,
    _sms_locked,
    sms_subject_ref,
)

CODE_LIFETIME = dt.timedelta(minutes=5)
# Wrong entries of one code before it can no longer be used (a new one must be sent).
CODE_MAX_WRONG_ATTEMPTS = 5


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
            subject_ref=sms_subject_ref(row.user, row.person),
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


def one_time_codes_prune(
    *, now: dt.datetime, kept_for: dt.timedelta | None = None, batches: Batches | None = None
) -> int:
    """Delete the challenges (sign-in, activation, password reset, reauthentication, mobile change)
    that expired more than `kept_for` ago (HAWIYA_RETENTION_EXPIRED_HOURS); returns how many. An
    expired challenge can no longer be verified, used or resent, and a verified reauthentication is
    good for minutes, not hours: nothing reads it again. The account's security history is kept
    elsewhere (SecurityEvent, the audit trail); the hourly send quota is CodeSendQuota's."""
    kept = (
        kept_for if kept_for is not None else dt.timedelta(hours=int(settings.HAWIYA_RETENTION_EXPIRED_HOURS))
    )
    return delete_in_batches(OneTimeCode.objects.filter(expires_at__lt=now - kept), batches=batches)


def code_send_quotas_prune(*, now: dt.datetime, batches: Batches | None = None) -> int:
    """Delete the hourly send quotas (CodeSendQuota) none of whose sends is within the hour any
    more; returns how many. Such a row counts nothing towards the limit, so no period is added.

    Each batch locks its rows, skipping those a send holds, and deletes them only if still idle
    (delete_in_batches asks the condition again): a row a send refreshed before the lock is kept,
    and a send that waited on a row being deleted finds it gone and creates it again, with the
    same outcome (throttles.quota_claim). A row without a send (one filled by migration 0014 from
    an empty list) limits nothing either.
    """
    idle = CodeSendQuota.objects.filter(
        Q(last_send_at__lt=now - throttles.QUOTA_WINDOW) | Q(last_send_at__isnull=True)
    )
    return delete_in_batches(idle, batches=batches)
