"""Services an officer performs at the counter for a person who is there in person, because they
cannot be done online: re-binding the mobile number on record (the phone was lost, so no code can
reach it) and starting the activation of a digital identity.

The person's identity is confirmed by their fingerprints: the fingerprint matcher (an ABIS, or
the demo matcher; registry.matchers) compares a new capture with their latest capture on file and
its score must reach the configured threshold. The matcher is called before the transaction (it
is an outside system; no row is locked while it answers). A failed check is recorded in the audit
trail with the score and the decision (the transaction commits it) before the error is raised; a
matcher that does not answer is not the person's failure and is not counted. Both services need
PERM_COUNTER_IDENTITY; the officer's office is in every audit event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.models import AuditEvent
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.notifications.services import notify, sms_send
from hawiya.registry import errors as registry_errors
from hawiya.registry.biometrics import PERSON_DECEASED, FingerprintCapture, fingerprint_verify
from hawiya.registry.matchers import Verification
from hawiya.registry.models import Person
from hawiya.registry.phones import normalise_mobile
from hawiya.registry.selectors import biometric_capture_latest
from hawiya.registry.services import person_change_mobile

from . import errors
from .models import OneTimeCode, Purpose, SecurityEvent, User
from .selectors import person_language
from .services._common import sms_subject_ref
from .services.activation import activation_start
from .services.sessions import SessionEnd, sessions_revoke_all
from .staff import PERM_COUNTER_IDENTITY, StaffActor

FINGERPRINT_MISMATCH = "fingerprint_mismatch"
NO_BIOMETRICS_ON_FILE = "no_biometrics_on_file"

AUDIT_IDENTITY_CHECK_FAILED = "counter.identity_check_failed"
AUDIT_MOBILE_REBOUND = "counter.mobile_rebound"
AUDIT_ACTIVATION_STARTED = "counter.activation_started"
OBJECT_TYPE = "registry.person"
MAX_FAILED_CHECKS = 5
IDENTITY_CHECKS_EXHAUSTED = "identity_checks_exhausted"
# What the holder's security history says about a change made at the counter.
SECURITY_DETAIL_COUNTER = "counter"


def _locked_person(person_id: int) -> Person:
    person = Person.objects.select_for_update().filter(pk=person_id).first()
    if person is None:
        raise NotFound(
            registry_errors.PERSON_NOT_FOUND, _("No person with this ID number is in the register.")
        )
    if not person.is_alive:
        raise ApplicationError(PERSON_DECEASED, _("The register records this person as deceased."))
    return person


def _failed_checks(person_id: int) -> int:
    return AuditEvent.objects.filter(
        action=AUDIT_IDENTITY_CHECK_FAILED,
        object_type=OBJECT_TYPE,
        object_id=str(person_id),
        occurred_at__gte=clock.now() - dt.timedelta(hours=24),
    ).count()


def _refuse_when_exhausted(person_id: int) -> None:
    """After MAX_FAILED_CHECKS failed checks of one person in 24 hours (at any office) the counter
    refuses to try again that day: someone presenting another's fingers is not given unlimited tries."""
    if _failed_checks(person_id) >= MAX_FAILED_CHECKS:
        raise ApplicationError(
            IDENTITY_CHECKS_EXHAUSTED,
            _(
                "This person's fingerprints did not match too many times in the last 24 hours. "
                "Do not continue today; refer the case to the office supervisor."
            ),
            field="fingerprints",
        )


@dataclass(frozen=True)
class _IdentityCheck:
    """What the fingerprints said, found before the transaction: a verification, or the problem
    (no biometrics on file, or no match) to record as a failed check."""

    verification: Verification | None
    problem: ApplicationError | None

    def audit_detail(self) -> dict[str, str]:
        return self.verification.audit_detail() if self.verification is not None else {}


def _identity_check(person_id: int, fingerprints: FingerprintCapture) -> _IdentityCheck:
    """Compare the fingerprints with the person's latest capture on file, before any transaction.

    Raises NotFound `person_not_found`, `person_deceased`, `identity_checks_exhausted`,
    `biometrics_enrolled_elsewhere`, the capture's errors and MatcherUnavailable (none of them
    counted as a failed check)."""
    person = Person.objects.filter(pk=person_id).only("pk", "date_of_death").first()
    if person is None:
        raise NotFound(
            registry_errors.PERSON_NOT_FOUND, _("No person with this ID number is in the register.")
        )
    if not person.is_alive:
        raise ApplicationError(PERSON_DECEASED, _("The register records this person as deceased."))
    _refuse_when_exhausted(person_id)
    on_file = biometric_capture_latest(person_id=person_id)
    if on_file is None:
        return _IdentityCheck(
            None,
            ApplicationError(
                NO_BIOMETRICS_ON_FILE,
                _(
                    "No fingerprints are on file for this person, so their identity cannot be confirmed "
                    "this way. Take their biometrics first (for example with a replacement request)."
                ),
            ),
        )
    verification = fingerprint_verify(capture=on_file, fingerprints=fingerprints)
    if verification.matched:
        return _IdentityCheck(verification, None)
    return _IdentityCheck(
        verification,
        ApplicationError(
            FINGERPRINT_MISMATCH,
            _(
                "The fingerprints do not match the ones on file for this person. Capture them again; "
                "if they still do not match, do not continue."
            ),
            field="fingerprints",
        ),
    )


def _record_failed_check(
    staff: StaffActor, person: Person, problem: ApplicationError, check: _IdentityCheck, step: str
) -> None:
    audit_record(
        action=AUDIT_IDENTITY_CHECK_FAILED,
        object_type=OBJECT_TYPE,
        object_id=person.pk,
        detail={"person_id": person.pk, "step": step, "problem": problem.code, **check.audit_detail()},
        actor=staff.actor,
    )


def counter_mobile_rebind(
    *, staff: StaffActor, person_id: int, new_mobile: str, fingerprints: FingerprintCapture
) -> None:
    """Put a new mobile number on record for a person at the counter whose fingerprints match.

    In one transaction: the register's number changes (`registry.services.person_change_mobile`),
    and if the person has an account every session of it ends, open mobile-change journeys end and
    the change is in their security history; the NEW number is told (notification centre + SMS)
    and, if there was one, the OLD number too (it may be in a thief's hands: the text says what to
    do if this was not them). Raises ApplicationError `mobile_invalid` (field `new_mobile`),
    `mobile_unchanged`, `no_biometrics_on_file`, `fingerprint_mismatch` (both recorded first, the
    latter with the matcher's score), `identity_checks_exhausted`, `biometrics_enrolled_elsewhere`,
    MatcherUnavailable (502, not counted), `person_deceased`; NotFound `person_not_found`;
    StaffForbidden without PERM_COUNTER_IDENTITY.
    """
    staff.require(PERM_COUNTER_IDENTITY)
    try:
        mobile = normalise_mobile(new_mobile)
    except ValidationError as exc:
        raise ApplicationError(errors.MOBILE_INVALID, exc.messages[0], field="new_mobile") from exc
    check = _identity_check(person_id, fingerprints)
    with transaction.atomic():
        person = _locked_person(person_id)
        # Tries made meanwhile at another counter count too.
        _refuse_when_exhausted(person.pk)
        if check.problem is not None:
            _record_failed_check(staff, person, check.problem, check, "mobile_rebind")
        else:
            old_mobile = person.mobile
            if old_mobile == mobile:
                raise ApplicationError(
                    errors.MOBILE_UNCHANGED,
                    _("This is already the person's mobile number on record. Enter the new number."),
                    field="new_mobile",
                )
            person_change_mobile(
                person_id=person.pk,
                mobile=mobile,
                actor=staff.actor,
            )
            now = clock.now()
            account = User.objects.filter(person=person).first()
            sessions_ended = 0
            if account is not None:
                sessions_ended = sessions_revoke_all(
                    user=account, except_session_key=None, reason=SessionEnd.MOBILE_REBOUND
                )
                OneTimeCode.objects.filter(
                    user=account,
                    purpose__in=[Purpose.MOBILE_CHANGE_OLD, Purpose.MOBILE_CHANGE_NEW],
                    used_at__isnull=True,
                ).update(used_at=now)
                SecurityEvent.objects.create(
                    user=account,
                    kind=SecurityEvent.Kind.MOBILE_CHANGED,
                    occurred_at=now,
                    detail=SECURITY_DETAIL_COUNTER,
                )
            language = person_language(person=person)
            subject_ref = sms_subject_ref(account, person)
            notify(
                person_id=person.pk,
                mobile=mobile,
                language=language,
                template="mobile_rebound_new",
                context={},
                subject_ref=subject_ref,
            )
            if old_mobile:
                sms_send(
                    to=old_mobile,
                    template="mobile_rebound_old",
                    context={"last_digits": mobile[-2:]},
                    language=language,
                    subject_ref=subject_ref,
                )
            audit_record(
                action=AUDIT_MOBILE_REBOUND,
                object_type=OBJECT_TYPE,
                object_id=person.pk,
                detail={
                    "person_id": person.pk,
                    "had_mobile": bool(old_mobile),
                    "account": account is not None,
                    "sessions_ended": sessions_ended,
                    **check.audit_detail(),
                },
                actor=staff.actor,
            )
    if check.problem is not None:
        raise check.problem


def counter_activation_start(*, staff: StaffActor, person_id: int, fingerprints: FingerprintCapture) -> str:
    """Start activating the digital identity of a person at the counter whose fingerprints match;
    returns the activation challenge id the portal's activation journey continues with.

    The portal's own `activation_start` runs with the register's details, so the one-time code
    goes by SMS to the mobile number on record (only there) and the same limits apply. Raises
    ApplicationError `already_activated`, `no_mobile` (re-bind a number first),
    `no_biometrics_on_file`, `fingerprint_mismatch` (recorded first), `identity_checks_exhausted`,
    `biometrics_enrolled_elsewhere`, MatcherUnavailable (502, not counted), `person_deceased`, and what
    `activation_start` raises (`too_many_codes`, `ip_throttled`; ServiceBusy `code_send_busy`);
    NotFound `person_not_found`; StaffForbidden without PERM_COUNTER_IDENTITY.
    """
    staff.require(PERM_COUNTER_IDENTITY)
    challenge = ""
    check = _identity_check(person_id, fingerprints)
    with transaction.atomic():
        person = _locked_person(person_id)
        _refuse_when_exhausted(person.pk)
        if check.problem is not None:
            _record_failed_check(staff, person, check.problem, check, "activation")
        else:
            if User.objects.filter(person=person).exists():
                raise ApplicationError(
                    errors.ALREADY_ACTIVATED,
                    _("This person already has an account. They can sign in, or reset their password."),
                )
            if not person.mobile:
                raise ApplicationError(
                    errors.NO_MOBILE,
                    _(
                        "This person has no mobile number on record for the code. "
                        "Re-bind a mobile number first."
                    ),
                )
            sent = activation_start(
                id_number=person.id_number,
                date_of_birth=person.date_of_birth,
                mobile=person.mobile,
                ip=staff.ip or "",
                language=person_language(person=person),
            )
            challenge = sent.challenge
            audit_record(
                action=AUDIT_ACTIVATION_STARTED,
                object_type=OBJECT_TYPE,
                object_id=person.pk,
                detail={"person_id": person.pk, **check.audit_detail()},
                actor=staff.actor,
            )
    if check.problem is not None:
        raise check.problem
    return challenge
