"""An officer takes a replacement request from check-in to handover (the back-office's services).

Every function takes the signed-in `staff` first, checks `PERM_WORK_CASES` and that the request
belongs to the officer's office (another office's request is NotFound, like a missing one), and
returns the request. Each step is one transaction that locks the request, checks the state it is
in (a step taken twice answers `replacement_state_conflict`), does its work in the domain apps,
moves the request with `replacement_move_locked` (timeline entry, audit event with the holder's
`person_id`, the applicant's notification) and commits; messages leave after commit.

Collection: appointment_booked → checked_in → biometrics_captured → approved → printed →
ready_for_collection → collected. Delivery: paid → approved → printed (+ shipment) → … and, after
two failed attempts, returned_to_office → ready_for_collection → collected.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from hawiya.appointments import errors as appointment_errors
from hawiya.appointments.models import Appointment
from hawiya.appointments.services.citizen import appointment_cancel_for_replacement
from hawiya.appointments.services.counter import appointment_check_in as appointment_mark_checked_in
from hawiya.appointments.services.counter import appointment_complete_for_replacement
from hawiya.core import clock
from hawiya.core.calendars import add_years
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.delivery.services import shipment_create
from hawiya.identity.security_signals import DOCUMENT_REPLACED, security_event_emit_for_person
from hawiya.identity.staff import PERM_WORK_CASES, StaffActor
from hawiya.payments.models import BillState
from hawiya.payments.services import bill_locked_for_replacement, bill_refund_fine
from hawiya.registry.biometrics import (
    FingerprintCapture,
    biometric_photo_checked,
    biometrics_record,
    fingerprints_enrol,
)
from hawiya.registry.id_numbers import parse_id_number
from hawiya.registry.models import DocumentKind, Office
from hawiya.registry.offices import office_in_notice
from hawiya.registry.services import document_reissue
from hawiya.replacements import errors as replacement_errors
from hawiya.replacements.fees import format_amount
from hawiya.replacements.handover import (
    HandoverCodeRejected,
    HandoverPurpose,
    handover_code_issue,
    handover_code_verify,
)
from hawiya.replacements.models import REJECTABLE_STATES, ReceiveMethod, Replacement, ReplacementState
from hawiya.replacements.requirements import (
    ID_CARD_READY_DAYS,
    captured_template,
    checked_in_template,
    takes_biometrics,
)
from hawiya.replacements.services import replacement_move_locked
from hawiya.replacements.vocabulary import REJECTION_OTHER, REJECTION_REASONS

S = ReplacementState

# The message each reason sends (template names are at most 40 characters).
REJECTION_TEMPLATES: dict[str, str] = {
    "photo_unsuitable": "replacement_rejected_photo",
    "identity_not_confirmed": "replacement_rejected_identity",
    "documents_missing": "replacement_rejected_documents",
    "other": "replacement_rejected_other",
}
MAX_NOTE = 500
ID_CARD_VALIDITY_YEARS = 10

# Error codes of this module (the others come from the domain apps).
REJECTION_REASON_INVALID = "rejection_reason_invalid"
REJECTION_NOTE_REQUIRED = "rejection_note_required"
REJECTION_NOTE_TOO_LONG = "rejection_note_too_long"
REPLACEMENT_ALREADY_ISSUED = "replacement_already_issued"
DELEGATE_ID_NUMBER_INVALID = "delegate_id_number_invalid"
DELEGATE_IS_APPLICANT = "delegate_is_applicant"

APPROVABLE_FROM = {
    ReceiveMethod.COLLECTION: frozenset({S.BIOMETRICS_CAPTURED}),
    ReceiveMethod.DELIVERY: frozenset({S.PAID}),
}
READY_FROM = {
    ReceiveMethod.COLLECTION: frozenset({S.PRINTED}),
    ReceiveMethod.DELIVERY: frozenset({S.RETURNED_TO_OFFICE}),
}


# --- Small pieces --------------------------------------------------------------------------------


def _not_found() -> NotFound:
    return NotFound(replacement_errors.REPLACEMENT_NOT_FOUND, _("This request was not found."))


def _conflict(replacement: Replacement) -> ApplicationError:
    return ApplicationError(
        replacement_errors.REPLACEMENT_STATE_CONFLICT,
        _("This request is now “%(state)s”, so this step is no longer possible.")
        % {"state": replacement.get_state_display()},
    )


def _visible(staff: StaffActor, replacement_id: int) -> Replacement:
    """The request, if the officer may work on it (permission first, then the office)."""
    staff.require(PERM_WORK_CASES)
    replacement = Replacement.objects.filter(pk=replacement_id).only("pk", "office_id").first()
    if replacement is None:
        raise _not_found()
    staff.require_office(replacement.office_id)
    return replacement


def _locked(staff: StaffActor, replacement_id: int, *, expected: frozenset[str] | None = None) -> Replacement:
    """The request locked for this step (inside the caller's transaction), checked again for the
    office, and in one of the `expected` states (else `replacement_state_conflict`)."""
    replacement = (
        Replacement.objects.select_for_update(of=("self",))
        .select_related("applicant", "document", "document__holder", "office")
        .filter(pk=replacement_id)
        .first()
    )
    if replacement is None:
        raise _not_found()
    staff.require_office(replacement.office_id)
    if expected is not None and replacement.state not in expected:
        raise _conflict(replacement)
    return replacement


def _office_of(replacement: Replacement) -> Office:
    """The request's office (a request without one is in no office's queue: not found)."""
    if replacement.office is None:
        raise _not_found()
    return replacement.office


def _move(
    staff: StaffActor,
    replacement: Replacement,
    *,
    to: ReplacementState,
    action: str,
    expected: frozenset[str],
    detail: dict[str, object] | None = None,
    audit_detail: dict[str, object] | None = None,
    reason: str = "",
    notify_template: str | None = None,
    notify_context: dict[str, object] | None = None,
    also_save: tuple[str, ...] = (),
) -> Replacement:
    """Move the request this step holds (`_locked`): its row is neither read nor locked again."""
    return replacement_move_locked(
        replacement=replacement,
        to=to,
        action=action,
        office=replacement.office,
        detail=detail,
        audit_detail={"person_id": replacement.document.holder_id, **(audit_detail or {})},
        reason=reason,
        notify_template=notify_template,
        notify_context=notify_context,
        expected_from=expected,
        actor=staff.actor,
        also_save=also_save,
    )


# --- Check-in and biometrics ---------------------------------------------------------------------


def appointment_check_in(*, staff: StaffActor, appointment_id: int) -> Replacement:
    """The person has arrived: today's booked appointment at the officer's office becomes
    `checked_in`, and its request `appointment_booked → checked_in`, in one transaction.

    Raises ApplicationError `already_checked_in` (a second check-in), `appointment_not_today`,
    `appointment_not_active`, `replacement_state_conflict`; NotFound for an unknown appointment
    or one at another office; StaffForbidden without PERM_WORK_CASES.
    """
    staff.require(PERM_WORK_CASES)
    found = (
        Appointment.objects.filter(pk=appointment_id).values_list("replacement_id", "slot__office_id").first()
    )
    if found is None:
        raise NotFound(appointment_errors.APPOINTMENT_NOT_FOUND, _("This appointment was not found."))
    replacement_id, office_id = found
    staff.require_office(office_id)
    with transaction.atomic():
        appointment = appointment_mark_checked_in(
            appointment_id=appointment_id,
            actor=staff.actor,
        )
        replacement = _locked(staff, replacement_id, expected=frozenset({S.APPOINTMENT_BOOKED}))
        return _move(
            staff,
            replacement,
            to=S.CHECKED_IN,
            action="checked_in",
            expected=frozenset({S.APPOINTMENT_BOOKED}),
            detail={"appointment": appointment.reference},
            notify_template=checked_in_template(replacement.document.kind),
            notify_context={},
        )


def replacement_biometrics_capture(
    *, staff: StaffActor, replacement_id: int, photo: bytes, fingerprints: FingerprintCapture
) -> Replacement:
    """Take the photo and fingerprints of the person at the counter: `checked_in →
    biometrics_captured`. The fingerprints are enrolled with the matcher first (an outside system:
    before the transaction, and only once the photo is acceptable); then the capture is kept (photo
    re-encoded, the matcher's reference), the register's "biometrics captured on" date is set and
    the appointment is completed, in one transaction. If that transaction is refused (the state
    changed meanwhile), the ABIS keeps an enrolment nobody refers to.

    The biometrics are the applicant's, the person standing at the counter (for an ID card, the
    holder). Raises the photo and capture errors of `registry.biometrics.biometrics_record`
    (`photo_invalid`, `photo_too_small`, `photo_uniform`, `photo_too_dark`, `photo_too_bright`,
    `fingerprint_quality_low`…), MatcherUnavailable (502) and `replacement_state_conflict`;
    NotFound / StaffForbidden as every step.
    """
    seen = _visible(staff, replacement_id)
    seen.refresh_from_db(fields=["state"])
    if seen.state != S.CHECKED_IN:  # no enrolment for a stale page (checked again below, locked)
        raise _conflict(seen)
    biometric_photo_checked(photo)
    enrolment = fingerprints_enrol(fingerprints)
    with transaction.atomic():
        expected = frozenset({S.CHECKED_IN})
        replacement = _locked(staff, replacement_id, expected=expected)
        capture = biometrics_record(
            person_id=replacement.applicant_id,
            office=_office_of(replacement),
            photo=photo,
            fingerprints=fingerprints,
            enrolment=enrolment,
            context_ref=replacement.reference,
            actor=staff.actor,
        )
        appointment_complete_for_replacement(replacement_id=replacement.pk, actor=staff.actor)
        return _move(
            staff,
            replacement,
            to=S.BIOMETRICS_CAPTURED,
            action="biometrics_captured",
            expected=expected,
            audit_detail={"capture_id": capture.pk},
            notify_template=captured_template(replacement.document.kind),
            notify_context=(
                {"days": ID_CARD_READY_DAYS} if takes_biometrics(replacement.document.kind) else {}
            ),
        )


# --- Decide --------------------------------------------------------------------------------------


def replacement_approve(*, staff: StaffActor, replacement_id: int) -> Replacement:
    """Approve the request and issue the new document in the register, in one transaction.

    Collection requests need `biometrics_captured`; delivery requests go `paid → approved` (their
    biometrics on file were checked at submit). The register gets the next version of the lost
    document (new serial, version + 1, issued today at the request's office; an ID card expires in
    10 years, certificates and family records do not), the lost one becomes `replaced` and stays
    invalid, the request is linked to the new version, and the timeline entry carries the version
    and expiry date. Raises `replacement_state_conflict` and the register's
    `document_already_replaced`, `holder_deceased`…; NotFound / StaffForbidden as every step.
    """
    # The permission first; the office is checked on the row `_locked` reads and locks, once.
    staff.require(PERM_WORK_CASES)
    with transaction.atomic():
        locked = _locked(staff, replacement_id)
        expected = APPROVABLE_FROM.get(ReceiveMethod(locked.method), frozenset())
        if locked.state not in expected:
            raise _conflict(locked)
        today = clock.today()
        kind = locked.document.kind
        expiry = add_years(today, ID_CARD_VALIDITY_YEARS) if kind == DocumentKind.NATIONAL_ID_CARD else None
        new_document = document_reissue(
            document_id=locked.document_id,
            issuing_office=_office_of(locked),
            issue_date=today,
            expiry_date=expiry,
            actor=staff.actor,
        )
        locked.new_document = new_document
        # The parties the holder signed in to, subscribed to it, learn it (the kind, no serial).
        security_event_emit_for_person(
            new_document.holder_id, DOCUMENT_REPLACED, {"document_kind": new_document.kind}
        )
        replacement = _move(
            staff,
            locked,
            to=S.APPROVED,
            action="approved",
            expected=expected,
            detail={
                "version": new_document.version,
                "issue_date": today.isoformat(),
                "expiry_date": expiry.isoformat() if expiry else None,
            },
            audit_detail={"document_id": new_document.pk, "version": new_document.version},
            notify_template="replacement_approved",
            notify_context={},
            also_save=("new_document",),
        )
    return replacement


def _checked_rejection(reason_code: str, note: str) -> str:
    if reason_code not in dict(REJECTION_REASONS):
        raise ApplicationError(
            REJECTION_REASON_INVALID, _("Choose a reason from the list."), field="reason_code"
        )
    note = (note or "").strip()
    if reason_code == REJECTION_OTHER and not note:
        raise ApplicationError(
            REJECTION_NOTE_REQUIRED, _("Explain the reason for the person in the note."), field="note"
        )
    if len(note) > MAX_NOTE:
        raise ApplicationError(
            REJECTION_NOTE_TOO_LONG,
            _("The note must be %(max)s characters or fewer; it has %(count)s.")
            % {"max": MAX_NOTE, "count": len(note)},
            field="note",
        )
    return note


def replacement_reject(*, staff: StaffActor, replacement_id: int, reason_code: str, note: str) -> Replacement:
    """Reject the request with a reason from REJECTION_REASONS and a note (required for `other`,
    at most 500 characters).

    In one transaction: the appointment is released (or completed, if the person was checked in),
    a paid bill's fine is refunded as for a cancellation (the delivery fee is kept; the gateway is
    asked after commit), and the request ends `rejected` with the reason code and note on its
    timeline; the applicant is told why and what to do. The lost document stays reported lost.
    A request whose new document is already issued (approved) can no longer be rejected:
    `replacement_already_issued`. Raises `rejection_reason_invalid`, `rejection_note_required`,
    `rejection_note_too_long`, `replacement_state_conflict`; NotFound / StaffForbidden.
    """
    clean_note = _checked_rejection(reason_code, note)
    _visible(staff, replacement_id)
    with transaction.atomic():
        # Lock order as everywhere: the bill, then the request (payment callbacks do the same).
        bill = bill_locked_for_replacement(replacement_id=replacement_id)
        replacement = _locked(staff, replacement_id, expected=REJECTABLE_STATES)
        if replacement.new_document_id is not None:
            raise ApplicationError(
                REPLACEMENT_ALREADY_ISSUED,
                _("The new document is already issued for this request, so it can no longer be rejected."),
            )
        appointment_complete_for_replacement(replacement_id=replacement.pk, actor=staff.actor)
        appointment_cancel_for_replacement(replacement_id=replacement.pk, actor=staff.actor)
        detail: dict[str, object] = {"note": clean_note} if clean_note else {}
        if bill is not None and bill.state == BillState.PAID:
            bill = bill_refund_fine(replacement_id=replacement.pk, actor=staff.actor)
            if bill.state == BillState.REFUND_PENDING and bill.refund_requested_sar:
                detail["refunded_sar"] = format_amount(bill.refund_requested_sar)
        return _move(
            staff,
            replacement,
            to=S.REJECTED,
            action="rejected",
            expected=REJECTABLE_STATES,
            reason=reason_code,
            detail=detail,
            notify_template=REJECTION_TEMPLATES[reason_code],
            notify_context={},
        )


# --- Print, ready, hand over ---------------------------------------------------------------------


def replacement_mark_printed(*, staff: StaffActor, replacement_id: int) -> Replacement:
    """The new document is printed: `approved → printed`. A delivery request also gets its
    shipment to the national address (the courier is told after commit), in the same transaction.
    Raises `replacement_state_conflict`; NotFound / StaffForbidden as every step."""
    _visible(staff, replacement_id)
    with transaction.atomic():
        expected = frozenset({S.APPROVED})
        locked = _locked(staff, replacement_id, expected=expected)
        replacement = _move(
            staff,
            locked,
            to=S.PRINTED,
            action="printed",
            expected=expected,
            notify_template="replacement_printed",
            notify_context={},
        )
        if replacement.method == ReceiveMethod.DELIVERY:
            shipment_create(replacement_id=replacement.pk, actor=staff.actor)
    return replacement


def replacement_mark_ready(*, staff: StaffActor, replacement_id: int) -> Replacement:
    """The document waits at the office: collection `printed → ready_for_collection`, delivery
    `returned_to_office → ready_for_collection`. The applicant is told, and gets a one-time
    collection handover code by SMS to bring to the counter. Raises `replacement_state_conflict`;
    NotFound / StaffForbidden as every step."""
    _visible(staff, replacement_id)
    with transaction.atomic():
        locked = _locked(staff, replacement_id)
        expected = READY_FROM.get(ReceiveMethod(locked.method), frozenset())
        if locked.state not in expected:
            raise _conflict(locked)
        replacement = _move(
            staff,
            locked,
            to=S.READY_FOR_COLLECTION,
            action="ready_for_collection",
            expected=expected,
            notify_template="replacement_ready_for_collection",
            notify_context={"office": office_in_notice(locked.office)},
        )
        handover_code_issue(
            replacement_id=replacement.pk, purpose=HandoverPurpose.COLLECTION, actor=staff.actor
        )
    return replacement


def _checked_delegate(replacement: Replacement, delegate_id_number: str) -> str:
    """The delegate's ID number, normalised ("" when the applicant collects in person)."""
    if not (delegate_id_number or "").strip():
        return ""
    try:
        number = parse_id_number(delegate_id_number)
    except ValidationError as exc:
        raise ApplicationError(
            DELEGATE_ID_NUMBER_INVALID, exc.messages[0], field="delegate_id_number"
        ) from exc
    if number == replacement.applicant.id_number:
        raise ApplicationError(
            DELEGATE_IS_APPLICANT,
            _(
                "This is the applicant's own ID number. Leave the delegate's ID number empty when "
                "they collect in person."
            ),
            field="delegate_id_number",
        )
    return number


def replacement_hand_over(
    *, staff: StaffActor, replacement_id: int, code: str, delegate_id_number: str = ""
) -> Replacement:
    """Hand the new document over at the counter: `ready_for_collection → collected`, only with a
    valid collection handover code (read by the applicant, or their delegate).

    A delegate's ID number must be valid and not the applicant's; the timeline keeps its last four
    digits, the audit trail only that a delegate collected. A wrong code is counted even though
    the step fails: the code check runs in this transaction, which then COMMITS (the failure
    counter and its audit event with it) before the error is raised; nothing else is written.
    Raises the handover errors (`handover_code_invalid`, `handover_code_expired`,
    `handover_code_used`, `handover_code_locked`), `delegate_id_number_invalid`,
    `delegate_is_applicant`, `replacement_state_conflict`; NotFound / StaffForbidden.
    """
    _visible(staff, replacement_id)
    expected = frozenset({S.READY_FOR_COLLECTION})
    failure: HandoverCodeRejected | None = None
    replacement: Replacement | None = None
    with transaction.atomic():
        locked = _locked(staff, replacement_id, expected=expected)
        delegate = _checked_delegate(locked, delegate_id_number)
        try:
            handover_code_verify(
                replacement_id=locked.pk,
                code=code,
                purpose=HandoverPurpose.COLLECTION,
                delegate=bool(delegate),
                actor=staff.actor,
            )
        except HandoverCodeRejected as exc:
            failure = exc  # the counted try commits with this block (replacements.handover)
        else:
            replacement = _move(
                staff,
                locked,
                to=S.COLLECTED,
                action="collected",
                expected=expected,
                detail={"delegate_id_last4": delegate[-4:]} if delegate else {},
                audit_detail={"delegate": bool(delegate)},
                notify_template="replacement_collected",
                notify_context={"time": clock.now()},
            )
    if failure is not None or replacement is None:
        raise failure or _conflict(locked)
    return replacement


def replacement_handover_code_resend(*, staff: StaffActor, replacement_id: int) -> None:
    """Send the applicant a new collection handover code (the earlier one stops working): for a
    lost message, an expired code, or one locked after wrong tries. Only while the request is
    `ready_for_collection`. Raises `replacement_state_conflict`; NotFound / StaffForbidden."""
    _visible(staff, replacement_id)
    with transaction.atomic():
        replacement = _locked(staff, replacement_id, expected=frozenset({S.READY_FOR_COLLECTION}))
        handover_code_issue(
            replacement_id=replacement.pk, purpose=HandoverPurpose.COLLECTION, actor=staff.actor
        )
