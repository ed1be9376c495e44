"""Each back-office step on its own: what it changes, what it refuses, who may take it, and that a
step taken twice answers `replacement_state_conflict` and changes nothing more."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from hawiya.appointments.models import AppointmentState, Slot
from hawiya.audit.models import AuditEvent
from hawiya.casework.backoffice import (
    REJECTION_TEMPLATES,
    appointment_check_in,
    replacement_approve,
    replacement_biometrics_capture,
    replacement_hand_over,
    replacement_handover_code_resend,
    replacement_mark_printed,
    replacement_mark_ready,
    replacement_reject,
)
from hawiya.core.calendars import add_years
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.testing import PinnedClock
from hawiya.identity.models import StaffRole
from hawiya.identity.staff import StaffForbidden
from hawiya.identity.tests.factories import make_staff
from hawiya.payments.models import Bill, BillState
from hawiya.registry.models import BiometricCapture, Document, DocumentStatus
from hawiya.registry.tests.factories import make_office
from hawiya.replacements.models import HandoverCode, Replacement, ReplacementEvent, ReplacementState
from hawiya.replacements.vocabulary import REJECTION_REASONS, rejection_reason_label

from .factories import (
    NOW,
    TODAY,
    Case,
    collection_case,
    delivery_case,
    fingerprints_of,
    handover_code,
    officer,
    photo_bytes,
    sms_templates,
    wrong,
)

pytestmark = pytest.mark.django_db
S = ReplacementState


def last_event(replacement: Replacement) -> ReplacementEvent:
    event = replacement.events.order_by("-id").first()
    assert event is not None
    return event


def conflict(step: Callable[[], object]) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        step()
    assert caught.value.code == "replacement_state_conflict"
    return caught.value


# The steps, as the officer's pages call them.
def check_in(case: Case, staff: Any) -> Replacement:
    assert case.appointment is not None
    return appointment_check_in(staff=staff, appointment_id=case.appointment.pk)


def capture(case: Case, staff: Any, **overrides: Any) -> Replacement:
    values: dict[str, Any] = {"photo": photo_bytes(), "fingerprints": fingerprints_of(case.applicant)}
    values.update(overrides)
    return replacement_biometrics_capture(staff=staff, replacement_id=case.replacement.pk, **values)


def approve(case: Case, staff: Any) -> Replacement:
    return replacement_approve(staff=staff, replacement_id=case.replacement.pk)


def printed(case: Case, staff: Any) -> Replacement:
    return replacement_mark_printed(staff=staff, replacement_id=case.replacement.pk)


def ready(case: Case, staff: Any) -> Replacement:
    return replacement_mark_ready(staff=staff, replacement_id=case.replacement.pk)


def hand_over(case: Case, staff: Any, code: str | None = None, delegate: str = "") -> Replacement:
    return replacement_hand_over(
        staff=staff,
        replacement_id=case.replacement.pk,
        code=handover_code(case.replacement) if code is None else code,
        delegate_id_number=delegate,
    )


def reject(case: Case, staff: Any, reason: str = "photo_unsuitable", note: str = "") -> Replacement:
    return replacement_reject(staff=staff, replacement_id=case.replacement.pk, reason_code=reason, note=note)


def up_to(state: str, case: Case, staff: Any) -> None:
    """Walk a collection request forward to `state` through the steps."""
    steps: list[tuple[str, Callable[[Case, Any], object]]] = [
        (S.CHECKED_IN, check_in),
        (S.BIOMETRICS_CAPTURED, capture),
        (S.APPROVED, approve),
        (S.PRINTED, printed),
        (S.READY_FOR_COLLECTION, ready),
    ]
    for reached, step in steps:
        if case.fresh().state == state:
            return
        step(case, staff)
        assert case.fresh().state == reached
    assert case.fresh().state == state


# --- Check-in ------------------------------------------------------------------------------------


def test_check_in_moves_the_appointment_and_the_request_together(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    replacement = check_in(case, staff)

    assert replacement.state == S.CHECKED_IN
    assert case.appointment is not None
    case.appointment.refresh_from_db()
    assert case.appointment.state == AppointmentState.CHECKED_IN
    event = last_event(replacement)
    assert (event.action, event.office_id) == ("checked_in", case.office.pk)
    assert event.detail == {"appointment": case.appointment.reference}
    assert sms_templates(replacement)[-1] == "replacement_checked_in"
    moved = AuditEvent.objects.filter(action="replacement.moved", detail__step="checked_in").get()
    assert moved.detail["person_id"] == replacement.document.holder_id
    assert (moved.actor, moved.actor_role, moved.actor_office) == (
        staff.actor.id,
        "officer",
        case.office.code,
    )
    audited = AuditEvent.objects.get(action="appointment.checked_in")
    assert audited.detail["person_id"] == replacement.applicant_id


def test_a_second_check_in_is_refused_clearly(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    check_in(case, staff)
    with pytest.raises(ApplicationError) as caught:
        check_in(case, staff)
    assert caught.value.code == "already_checked_in"
    with translation.override("en"):
        assert "already checked in" in str(caught.value.message)
    with translation.override("ar"):
        assert "سُجّل الحضور" in str(caught.value.message)
    assert case.replacement.events.filter(action="checked_in").count() == 1


def test_only_todays_appointment_can_be_checked_in(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    pinned.set(NOW - dt.timedelta(days=1))
    with pytest.raises(ApplicationError) as caught:
        check_in(case, officer(case.office))
    assert caught.value.code == "appointment_not_today"
    assert case.fresh().state == S.APPOINTMENT_BOOKED


def test_check_in_of_another_office_or_unknown_appointment_is_not_found(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    with pytest.raises(NotFound):
        check_in(case, officer(make_office()))
    with pytest.raises(NotFound):
        appointment_check_in(staff=officer(case.office), appointment_id=10**9)
    assert case.fresh().state == S.APPOINTMENT_BOOKED
    assert case.appointment is not None
    case.appointment.refresh_from_db()
    assert case.appointment.state == AppointmentState.BOOKED


# --- Biometrics ----------------------------------------------------------------------------------


def test_biometrics_are_kept_and_the_register_date_updated(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    check_in(case, staff)
    replacement = capture(case, staff)

    assert replacement.state == S.BIOMETRICS_CAPTURED
    kept = BiometricCapture.objects.get()
    assert kept.person_id == replacement.applicant_id
    assert kept.office_id == case.office.pk
    assert kept.context_ref == replacement.reference
    assert kept.actor == staff.actor.id
    case.applicant.refresh_from_db()
    assert case.applicant.biometrics_captured_on == TODAY
    assert case.appointment is not None
    case.appointment.refresh_from_db()
    assert case.appointment.state == AppointmentState.COMPLETED
    assert sms_templates(replacement)[-1] == "replacement_biometrics_captured"
    assert (
        AuditEvent.objects.get(action="biometrics.captured").detail["person_id"] == replacement.applicant_id
    )


def test_a_bad_photo_leaves_the_request_checked_in(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    check_in(case, staff)
    with pytest.raises(ApplicationError) as caught:
        capture(case, staff, photo=photo_bytes(200, 300))
    assert caught.value.code == "photo_too_small"
    assert case.fresh().state == S.CHECKED_IN
    assert not BiometricCapture.objects.exists()


def test_biometrics_before_check_in_and_twice_are_state_conflicts(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    conflict(lambda: capture(case, staff))
    check_in(case, staff)
    capture(case, staff)
    conflict(lambda: capture(case, staff))
    assert BiometricCapture.objects.count() == 1


# --- Approve (and issue) -------------------------------------------------------------------------


def test_approval_issues_the_next_version_of_the_document(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.BIOMETRICS_CAPTURED, case, staff)
    old = case.replacement.document
    replacement = approve(case, staff)

    assert replacement.state == S.APPROVED
    new = replacement.new_document
    assert new is not None
    new.refresh_from_db()
    old.refresh_from_db()
    assert (new.version, new.status, new.replaces_id) == (old.version + 1, DocumentStatus.VALID, old.pk)
    assert new.serial_number != old.serial_number
    assert (new.issue_date, new.expiry_date) == (TODAY, add_years(TODAY, 10))
    assert new.issuing_office_id == case.office.pk
    assert old.status == DocumentStatus.REPLACED
    assert old.reported_lost_at is not None
    assert Replacement.objects.get(pk=replacement.pk).new_document_id == new.pk
    event = last_event(replacement)
    assert event.action == "approved"
    assert event.detail == {
        "version": new.version,
        "issue_date": TODAY.isoformat(),
        "expiry_date": add_years(TODAY, 10).isoformat(),
    }
    assert sms_templates(replacement)[-1] == "replacement_approved"


def _statements_on(table: str, queries: list[dict[str, str]]) -> tuple[int, int]:
    """How many statements read the table (SELECT ... FROM it) and how many of those lock it."""
    quoted = connection.ops.quote_name(table)
    reads = [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith("SELECT") and f"FROM {quoted}" in q["sql"]
    ]
    return len(reads), sum("FOR UPDATE" in sql for sql in reads)


def test_approval_reads_and_locks_the_request_once(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.BIOMETRICS_CAPTURED, case, staff)
    with CaptureQueriesContext(connection) as captured:
        replacement = approve(case, staff)
    assert replacement.state == S.APPROVED
    reads, locks = _statements_on(Replacement._meta.db_table, captured.captured_queries)
    assert reads == 1
    # SQLite has no row locks: Django leaves FOR UPDATE out there.
    assert locks == (1 if connection.features.has_select_for_update else 0)


def test_approval_needs_biometrics_and_happens_once(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    check_in(case, staff)
    conflict(lambda: approve(case, staff))
    capture(case, staff)
    approve(case, staff)
    conflict(lambda: approve(case, staff))
    assert Document.objects.filter(holder=case.replacement.document.holder).count() == 2


def test_a_delivery_request_is_approved_from_paid(pinned: PinnedClock) -> None:
    case = delivery_case(pinned)
    replacement = approve(case, officer(case.office))
    assert replacement.state == S.APPROVED
    assert replacement.new_document is not None


# --- Reject --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "note", "code"),
    [
        ("not_a_reason", "", "rejection_reason_invalid"),
        ("other", "   ", "rejection_note_required"),
        ("documents_missing", "x" * 501, "rejection_note_too_long"),
    ],
)
def test_a_rejection_needs_a_listed_reason_and_a_short_note(
    pinned: PinnedClock, reason: str, note: str, code: str
) -> None:
    case = collection_case(pinned)
    with pytest.raises(ApplicationError) as caught:
        reject(case, officer(case.office), reason, note)
    assert caught.value.code == code
    assert case.fresh().state == S.APPOINTMENT_BOOKED


def test_rejection_refunds_the_fine_and_tells_the_person_why(pinned: PinnedClock) -> None:
    case = collection_case(pinned, losses=2)
    staff = officer(case.office)
    up_to(S.BIOMETRICS_CAPTURED, case, staff)
    replacement = reject(case, staff, "photo_unsuitable", "Shadows on the face")

    assert replacement.state == S.REJECTED
    assert replacement.end_reason == "photo_unsuitable"
    bill = Bill.objects.get(replacement=replacement)
    assert bill.state == BillState.REFUND_PENDING
    assert bill.refund_requested_sar == 100
    event = last_event(replacement)
    assert event.action == "rejected"
    assert event.detail == {
        "reason": "photo_unsuitable",
        "note": "Shadows on the face",
        "refunded_sar": "100",
    }
    assert sms_templates(replacement)[-1] == "replacement_rejected_photo"
    document = Document.objects.get(pk=replacement.document_id)
    assert document.status == DocumentStatus.REPORTED_LOST
    moved = AuditEvent.objects.get(action="replacement.moved", detail__step="rejected")
    assert moved.detail["reason"] == "photo_unsuitable"
    assert "Shadows" not in json.dumps(moved.detail)


def test_rejecting_a_booked_request_frees_its_place(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    reject(case, officer(case.office), "other", "Please visit the office with your family record")
    assert case.appointment is not None
    case.appointment.refresh_from_db()
    assert case.appointment.state == AppointmentState.CANCELLED
    assert Slot.objects.get().booked == 0
    assert sms_templates(case.replacement)[-1] == "replacement_rejected_other"


def test_a_checked_in_visit_is_completed_when_the_request_is_rejected(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    check_in(case, staff)
    reject(case, staff, "identity_not_confirmed")
    assert case.appointment is not None
    case.appointment.refresh_from_db()
    assert case.appointment.state == AppointmentState.COMPLETED


def test_an_issued_request_is_not_rejected_and_a_rejection_happens_once(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.APPROVED, case, staff)
    with pytest.raises(ApplicationError) as caught:
        reject(case, staff)
    assert caught.value.code == "replacement_already_issued"

    other = collection_case(pinned, office=case.office)
    reject(other, staff)
    conflict(lambda: reject(other, staff))


def test_every_rejection_reason_has_a_label_and_a_message() -> None:
    from hawiya.notifications.templates import TEMPLATES

    for code, label in REJECTION_REASONS:
        assert rejection_reason_label(code) == str(label)
        assert REJECTION_TEMPLATES[code] in TEMPLATES
    assert rejection_reason_label("nonsense") == ""


# --- Print, ready, hand over ---------------------------------------------------------------------


def test_print_then_ready_sends_the_collection_code(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.APPROVED, case, staff)
    assert printed(case, staff).state == S.PRINTED
    conflict(lambda: printed(case, staff))
    replacement = ready(case, staff)
    assert replacement.state == S.READY_FOR_COLLECTION
    assert sms_templates(replacement)[-2:] == ["replacement_ready_for_collection", "handover_code_collection"]
    assert HandoverCode.objects.filter(replacement=replacement, used_at__isnull=True).count() == 1
    conflict(lambda: ready(case, staff))


def test_ready_before_printing_is_a_state_conflict(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.APPROVED, case, staff)
    conflict(lambda: ready(case, staff))


def test_a_delivery_request_gets_its_shipment_when_printed(pinned: PinnedClock) -> None:
    from hawiya.delivery.models import Shipment, ShipmentState

    case = delivery_case(pinned)
    staff = officer(case.office)
    approve(case, staff)
    replacement = printed(case, staff)
    shipment = Shipment.objects.get(replacement=replacement)
    assert shipment.state == ShipmentState.AWAITING_PICKUP
    assert shipment.office_id == case.office.pk
    conflict(lambda: printed(case, staff))
    assert Shipment.objects.filter(replacement=replacement).count() == 1


def test_the_right_code_hands_the_document_over_once(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.READY_FOR_COLLECTION, case, staff)
    code = handover_code(case.replacement)
    replacement = hand_over(case, staff, code)
    assert replacement.state == S.COLLECTED
    assert replacement.ended_at is not None
    assert last_event(replacement).detail == {}
    assert sms_templates(replacement)[-1] == "replacement_collected"
    conflict(lambda: hand_over(case, staff, code))


def test_a_wrong_code_is_refused_and_stays_counted(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.READY_FOR_COLLECTION, case, staff)
    code = handover_code(case.replacement)
    with pytest.raises(ApplicationError) as caught:
        hand_over(case, staff, wrong(code))
    assert caught.value.code == "handover_code_invalid"
    assert HandoverCode.objects.get(replacement=case.replacement).attempts == 1
    assert case.fresh().state == S.READY_FOR_COLLECTION
    assert AuditEvent.objects.filter(action="handover_code.rejected").count() == 1
    assert hand_over(case, staff, code).state == S.COLLECTED


def test_five_wrong_codes_lock_it_until_a_new_code_is_sent(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.READY_FOR_COLLECTION, case, staff)
    code = handover_code(case.replacement)
    for _ in range(5):
        with pytest.raises(ApplicationError):
            hand_over(case, staff, wrong(code))
    with pytest.raises(ApplicationError) as caught:
        hand_over(case, staff, code)
    assert caught.value.code == "handover_code_locked"
    assert case.fresh().state == S.READY_FOR_COLLECTION
    replacement_handover_code_resend(staff=staff, replacement_id=case.replacement.pk)
    assert hand_over(case, staff, handover_code(case.replacement)).state == S.COLLECTED


def test_a_delegate_is_recorded_by_the_last_four_digits_only(pinned: PinnedClock) -> None:
    from hawiya.registry.tests.factories import next_id_number

    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.READY_FOR_COLLECTION, case, staff)
    delegate = next_id_number()
    replacement = hand_over(case, staff, delegate=f" {delegate[:5]} {delegate[5:]} ")
    assert last_event(replacement).detail == {"delegate_id_last4": delegate[-4:]}
    moved = AuditEvent.objects.get(action="replacement.moved", detail__step="collected")
    assert moved.detail["delegate"] is True
    trail = json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))
    assert delegate not in trail
    assert HandoverCode.objects.get(replacement=replacement).used_by_delegate


@pytest.mark.parametrize("delegate", ["12345", "1234567890", "own"])
def test_a_delegate_id_number_must_be_valid_and_not_the_applicants(
    pinned: PinnedClock, delegate: str
) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.READY_FOR_COLLECTION, case, staff)
    typed = case.applicant.id_number if delegate == "own" else delegate
    with pytest.raises(ApplicationError) as caught:
        hand_over(case, staff, delegate=typed)
    assert caught.value.code == (
        "delegate_is_applicant" if delegate == "own" else "delegate_id_number_invalid"
    )
    assert caught.value.field == "delegate_id_number"
    # Not a guess at the code: nothing was counted.
    assert HandoverCode.objects.get(replacement=case.replacement).attempts == 0


def test_a_resent_code_replaces_the_old_one(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    up_to(S.READY_FOR_COLLECTION, case, staff)
    first = handover_code(case.replacement)
    replacement_handover_code_resend(staff=staff, replacement_id=case.replacement.pk)
    second = handover_code(case.replacement)
    assert HandoverCode.objects.filter(replacement=case.replacement).count() == 2
    if first != second:
        with pytest.raises(ApplicationError):
            hand_over(case, staff, first)
    assert hand_over(case, staff, second).state == S.COLLECTED
    conflict(lambda: replacement_handover_code_resend(staff=staff, replacement_id=case.replacement.pk))


# --- Who may take the steps ----------------------------------------------------------------------

STEPS: dict[str, tuple[str, Callable[[Case, Any], object]]] = {
    "check_in": (S.APPOINTMENT_BOOKED, check_in),
    "biometrics": (S.CHECKED_IN, capture),
    "approve": (S.BIOMETRICS_CAPTURED, approve),
    "reject": (S.BIOMETRICS_CAPTURED, reject),
    "printed": (S.APPROVED, printed),
    "ready": (S.PRINTED, ready),
    "hand_over": (S.READY_FOR_COLLECTION, lambda case, staff: hand_over(case, staff, code="000000")),
    "resend": (
        S.READY_FOR_COLLECTION,
        lambda case, staff: replacement_handover_code_resend(staff=staff, replacement_id=case.replacement.pk),
    ),
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_another_office_sees_nothing_and_an_administrator_may_not_act(pinned: PinnedClock, step: str) -> None:
    case = collection_case(pinned)
    state, take = STEPS[step]
    up_to(state, case, officer(case.office))
    before = list(AuditEvent.objects.values_list("id", flat=True))

    with pytest.raises(NotFound):
        take(case, officer(make_office()))
    with pytest.raises(StaffForbidden):
        take(case, make_staff(role=StaffRole.ADMINISTRATOR, office=None))

    assert case.fresh().state == state
    assert list(AuditEvent.objects.values_list("id", flat=True)) == before


def test_a_supervisor_of_the_office_may_take_the_steps(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    supervisor = officer(case.office, role=StaffRole.SUPERVISOR)
    up_to(S.READY_FOR_COLLECTION, case, supervisor)
    assert hand_over(case, supervisor).state == S.COLLECTED


def test_an_unknown_request_is_not_found(pinned: PinnedClock) -> None:
    staff = officer(make_office())
    with pytest.raises(NotFound):
        replacement_approve(staff=staff, replacement_id=10**9)


def test_the_demo_may_check_in_ahead_of_the_day_but_never_after_it(
    pinned: PinnedClock, settings: Any
) -> None:
    settings.HAWIYA_CHECK_IN_EARLY_DAYS = 30
    case = collection_case(pinned)
    pinned.set(NOW - dt.timedelta(days=2))
    check_in(case, officer(case.office))
    assert case.fresh().state == S.CHECKED_IN
    late = collection_case(pinned)
    pinned.set(NOW + dt.timedelta(days=1))
    with pytest.raises(ApplicationError) as caught:
        check_in(late, officer(late.office))
    assert caught.value.code == "appointment_not_today"
