"""Handover codes (رمز التسليم): the new document is handed over only to whoever reads the code
that was sent to the applicant's mobile, at the office's counter (collection) or at the door to
the courier (delivery).

Rules:
- six digits from `secrets`; only a keyed hash is stored (HMAC-SHA256 under SECRET_KEY, the
  hashing of one-time codes in `identity.codes`, bound to a random nonce of the row);
- one live code per request: issuing a new one invalidates the earlier unused ones (of any
  purpose), so a code sent for the courier is dead once the card is back at the office;
- a code serves one purpose (a collection code is refused at the door and the other way round),
  is consumed once, expires (collection 30 days, delivery 7 days), and is locked after
  MAX_ATTEMPTS wrong tries (an officer or the next delivery round issues a new one);
- the code travels only in the SMS (a template marked secret, hidden in the admin and logs),
  never in the notification centre, the audit trail or a log line.

Counting wrong tries when the caller's transaction rolls back
--------------------------------------------------------------
A wrong code raises `HandoverCodeRejected` AFTER the try was counted in a savepoint of its own.
Called outside any transaction, the count is committed before the error leaves. Called inside
the caller's transaction, the count commits only with the caller's transaction, so a caller that
lets the error escape its `transaction.atomic()` block would roll the count back and allow
unlimited guesses. Callers therefore catch it inside the block and raise it after:

    failure: HandoverCodeRejected | None = None
    with transaction.atomic():
        try:
            handover_code_verify(replacement_id=..., code=..., purpose=..., actor=...)
        except HandoverCodeRejected as exc:
            failure = exc            # the counted try commits with the block
        else:
            replacement_move(...)    # the right code: hand the document over
    if failure is not None:
        raise failure
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity.codes import code_hash, code_matches, new_code, normalise_code
from hawiya.identity.selectors import person_language
from hawiya.notifications.services import sms_send

from . import errors
from .models import HandoverCode, HandoverPurpose, Replacement

__all__ = [
    "HANDOVER_CODE_EXPIRED",
    "HANDOVER_CODE_INVALID",
    "HANDOVER_CODE_LOCKED",
    "HANDOVER_CODE_USED",
    "MAX_ATTEMPTS",
    "HandoverCodeRejected",
    "HandoverPurpose",
    "handover_code_issue",
    "handover_code_verify",
    "handover_codes_invalidate",
]

HANDOVER_CODE_INVALID = "handover_code_invalid"
HANDOVER_CODE_EXPIRED = "handover_code_expired"
HANDOVER_CODE_USED = "handover_code_used"
HANDOVER_CODE_LOCKED = "handover_code_locked"
HANDOVER_CODE_TOO_MANY = "handover_code_too_many"

MAX_ATTEMPTS = 5
# Codes one request may be sent in 24 hours: each new code brings MAX_ATTEMPTS fresh tries and an
# SMS, so without a cap resending would allow unlimited guessing and flood the holder's phone.
MAX_CODES_PER_DAY = 6
LIFETIME: dict[str, dt.timedelta] = {
    HandoverPurpose.COLLECTION: dt.timedelta(days=30),
    HandoverPurpose.DELIVERY: dt.timedelta(days=7),
}
SMS_TEMPLATE: dict[str, str] = {
    HandoverPurpose.COLLECTION: "handover_code_collection",
    HandoverPurpose.DELIVERY: "handover_code_delivery",
}

AUDIT_ISSUED = "handover_code.issued"
AUDIT_USED = "handover_code.used"
AUDIT_REJECTED = "handover_code.rejected"


class HandoverCodeRejected(ApplicationError):
    """The code was not accepted; `code` says why (invalid, expired, used, locked).

    422: the request was well formed but the code is not the right one (the courier API answers
    this status as it is). See the module docstring for how callers keep the count of wrong tries.
    """

    status_code = 422


def _hash(nonce: str, code: str) -> str:
    return code_hash(f"handover:{nonce}", code)


def _rejected(code: str) -> HandoverCodeRejected:
    messages = {
        HANDOVER_CODE_INVALID: _("This handover code is not right. Check it with the holder and try again."),
        HANDOVER_CODE_EXPIRED: _("This handover code has expired. A new code must be sent to the holder."),
        HANDOVER_CODE_USED: _("This handover code was already used. A new code must be sent to the holder."),
        HANDOVER_CODE_LOCKED: _(
            "This handover code is locked after too many wrong tries. A new code must be sent to the holder."
        ),
    }
    return HandoverCodeRejected(code, messages[code], field="code")


def _purpose_checked(purpose: str) -> HandoverPurpose:
    if purpose not in HandoverPurpose.values:
        raise ValueError(f"purpose must be one of {HandoverPurpose.values}, not {purpose!r}")
    return HandoverPurpose(purpose)


def handover_code_issue(
    *,
    replacement_id: int,
    purpose: str,
    actor: Actor,
) -> None:
    """Send the applicant a new handover code for `purpose` (collection or delivery).

    Runs inside the caller's transaction (or opens its own): the earlier unused codes of the
    request are invalidated, the new code's keyed hash is stored with its expiry, the SMS (a
    secret template) is queued to the applicant's mobile and leaves after commit, and an audit
    event (without the code) is written. A rolled-back caller sends nothing. NotFound for an
    unknown request.
    """
    chosen = _purpose_checked(purpose)
    now = clock.now()
    with transaction.atomic():
        replacement = (
            Replacement.objects.select_for_update(of=("self",))
            .select_related("applicant", "document")
            .filter(pk=replacement_id)
            .first()
        )
        if replacement is None:
            raise NotFound(errors.REPLACEMENT_NOT_FOUND, _("This request was not found."))
        sent_today = HandoverCode.objects.filter(
            replacement=replacement, created_at__gt=now - dt.timedelta(hours=24)
        ).count()
        if sent_today >= MAX_CODES_PER_DAY:
            raise ApplicationError(
                HANDOVER_CODE_TOO_MANY,
                _(
                    "Too many handover codes were sent for this request in the last 24 hours. "
                    "The holder can use the last code sent; a new one can be sent tomorrow."
                ),
            )
        invalidated = HandoverCode.objects.filter(
            replacement=replacement, used_at__isnull=True, invalidated_at__isnull=True
        ).update(invalidated_at=now, updated_at=now)
        code = new_code()
        nonce = secrets.token_urlsafe(32)
        expires_at = now + LIFETIME[chosen]
        handover = HandoverCode.objects.create(
            replacement=replacement,
            purpose=chosen,
            nonce=nonce,
            code_hash=_hash(nonce, code),
            expires_at=expires_at,
        )
        applicant = replacement.applicant
        sent = bool(applicant.mobile)
        if sent:
            sms_send(
                to=applicant.mobile,
                template=SMS_TEMPLATE[chosen],
                context={"reference": replacement.reference, "code": code, "expires_at": expires_at},
                language=person_language(person=applicant),
                subject_ref=f"replacement:{replacement.pk}",
                is_secret=True,
                expires_at=expires_at,
            )
        audit_record(
            actor=actor,
            action=AUDIT_ISSUED,
            object_type="replacements.handovercode",
            object_id=handover.pk,
            detail={
                "person_id": replacement.document.holder_id,
                "replacement_id": replacement.pk,
                "purpose": chosen.value,
                "invalidated": invalidated,
                "sms_sent": sent,
            },
        )


def handover_code_verify(
    *,
    replacement_id: int,
    code: str,
    purpose: str,
    actor: Actor,
    delegate: bool = False,
) -> None:
    """Consume the request's live handover code if `code` is it (and it serves `purpose`).

    `code` may be typed with Eastern digits, spaces or hyphens. `delegate` records that the
    holder's delegate read it. Raises HandoverCodeRejected (an ApplicationError, status 422) with
    code `handover_code_invalid` (wrong code, no code, or a code of the other purpose),
    `handover_code_expired`, `handover_code_used` or `handover_code_locked` (MAX_ATTEMPTS wrong
    tries: a new code must be issued); NotFound for an unknown request. A wrong try is counted
    before the error is raised: see the module docstring for callers inside a transaction.
    """
    chosen = _purpose_checked(purpose)
    typed = normalise_code(code)
    now = clock.now()
    failure: HandoverCodeRejected | None = None
    # The savepoint commits (or is released into the caller's transaction) before the error
    # leaves, so the counted try is not undone by the exception itself.
    with transaction.atomic():
        replacement = (
            Replacement.objects.select_for_update(of=("self",))
            .select_related("applicant", "document")
            .filter(pk=replacement_id)
            .first()
        )
        if replacement is None:
            raise NotFound(errors.REPLACEMENT_NOT_FOUND, _("This request was not found."))
        handover = (
            HandoverCode.objects.select_for_update()
            .filter(replacement=replacement, invalidated_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        reason = ""
        if handover is None or handover.purpose != chosen:
            reason = HANDOVER_CODE_INVALID
        elif handover.used_at is not None:
            reason = HANDOVER_CODE_USED
        elif handover.attempts >= MAX_ATTEMPTS:
            reason = HANDOVER_CODE_LOCKED
        elif handover.expires_at <= now:
            reason = HANDOVER_CODE_EXPIRED
        elif not code_matches(f"handover:{handover.nonce}", typed, handover.code_hash):
            # One statement: two wrong tries at the same moment both count.
            HandoverCode.objects.filter(pk=handover.pk).update(attempts=F("attempts") + 1, updated_at=now)
            handover.refresh_from_db(fields=["attempts"])
            reason = HANDOVER_CODE_LOCKED if handover.attempts >= MAX_ATTEMPTS else HANDOVER_CODE_INVALID
        detail: dict[str, object] = {
            "person_id": replacement.document.holder_id,
            "replacement_id": replacement.pk,
            "purpose": chosen.value,
        }
        if reason:
            detail["reason"] = reason
            if handover is not None:
                detail["attempts"] = handover.attempts
            failure = _rejected(reason)
        elif handover is not None:  # always, when no reason was found
            handover.used_at = now
            handover.used_by_delegate = bool(delegate)
            handover.save(update_fields=["used_at", "used_by_delegate", "updated_at"])
            detail["delegate"] = bool(delegate)
        audit_record(
            actor=actor,
            action=AUDIT_REJECTED if reason else AUDIT_USED,
            object_type="replacements.handovercode" if handover else "replacements.replacement",
            object_id=handover.pk if handover else replacement.pk,
            detail=detail,
        )
    if failure is not None:
        raise failure


def handover_codes_invalidate(*, replacement_id: int) -> int:
    """Invalidate the request's live code, if any (e.g. the delivery code once the card is back
    at the office: nobody may use it at a door any more). Runs in the caller's transaction; no
    SMS, no audit (the caller's step is audited). Returns how many codes were invalidated."""
    now = clock.now()
    return HandoverCode.objects.filter(
        replacement_id=replacement_id, used_at__isnull=True, invalidated_at__isnull=True
    ).update(invalidated_at=now, updated_at=now)
