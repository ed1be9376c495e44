"""The whole lives of a replacement request through the services, as the issue describes them:
collected at an office (check-in → biometrics → approve and issue → print → ready → collected),
and delivered to the door with two failed attempts, returned, then collected. Each asserts the
register, the timeline, the messages and the audit chain."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.appointments.models import AppointmentState
from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.audit.selectors import audit_chain_verify
from hawiya.casework.backoffice import (
    appointment_check_in,
    replacement_approve,
    replacement_biometrics_capture,
    replacement_hand_over,
    replacement_mark_printed,
    replacement_mark_ready,
    replacement_reject,
)
from hawiya.core.calendars import add_years
from hawiya.core.testing import PinnedClock
from hawiya.delivery.models import Shipment, ShipmentState
from hawiya.delivery.services import shipment_event_apply
from hawiya.identity.services.sessions import user_session_record
from hawiya.identity.tests.factories import activate
from hawiya.notifications.models import InboxNotification
from hawiya.payments.models import Bill, BillState
from hawiya.registry.models import Document, DocumentStatus
from hawiya.registry.selectors import document_history
from hawiya.replacements.models import ReplacementState
from hawiya.replacements.selectors import replacement_timeline

from .factories import (
    NOW,
    TODAY,
    collection_case,
    delivery_case,
    fingerprints_of,
    handover_code,
    officer,
    photo_bytes,
    sms_templates,
)

pytestmark = pytest.mark.django_db
S = ReplacementState


def test_a_collection_request_goes_from_check_in_to_collected(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    staff = officer(case.office)
    lost = case.replacement.document
    assert case.appointment is not None

    appointment_check_in(staff=staff, appointment_id=case.appointment.pk)
    replacement_biometrics_capture(
        staff=staff,
        replacement_id=case.replacement.pk,
        photo=photo_bytes(),
        fingerprints=fingerprints_of(case.applicant),
    )
    replacement_approve(staff=staff, replacement_id=case.replacement.pk)
    replacement_mark_printed(staff=staff, replacement_id=case.replacement.pk)
    replacement_mark_ready(staff=staff, replacement_id=case.replacement.pk)
    pinned.set(NOW + dt.timedelta(days=3))
    replacement = replacement_hand_over(
        staff=staff, replacement_id=case.replacement.pk, code=handover_code(case.replacement)
    )

    # The request
    assert replacement.state == S.COLLECTED
    assert replacement.ended_at == NOW + dt.timedelta(days=3)
    case.appointment.refresh_from_db()
    assert case.appointment.state == AppointmentState.COMPLETED

    # The register: the lost version replaced and still invalid, the new one valid for 10 years.
    lost.refresh_from_db()
    new = Document.objects.get(replaces=lost)
    assert replacement.new_document_id == new.pk
    assert lost.status == DocumentStatus.REPLACED
    assert lost.reported_lost_at is not None
    assert new.status == DocumentStatus.VALID
    assert new.version == lost.version + 1
    assert new.serial_number != lost.serial_number
    assert new.serial_number.startswith("N")
    assert (new.issue_date, new.expiry_date) == (TODAY, add_years(TODAY, 10))
    assert new.issuing_office_id == case.office.pk
    assert [document.pk for document in document_history(new)] == [lost.pk, new.pk]
    case.applicant.refresh_from_db()
    assert case.applicant.biometrics_captured_on == TODAY

    # The citizen's timeline, oldest first, every step at the office.
    timeline = replacement_timeline(replacement=replacement)
    actions = [entry.action for entry in reversed(timeline.entries)]
    assert actions == [
        "submitted",
        "no_fee",
        "appointment_booked",
        "checked_in",
        "biometrics_captured",
        "approved",
        "printed",
        "ready_for_collection",
        "collected",
    ]
    assert all(entry.office == case.office for entry in timeline.entries[:6])
    approved = next(entry for entry in timeline.entries if entry.action == "approved")
    assert approved.detail["version"] == new.version
    assert approved.detail["expiry_date"] == add_years(TODAY, 10).isoformat()
    assert timeline.upcoming == []

    # The messages: one per step, the code in its own secret SMS.
    assert sms_templates(replacement) == [
        "replacement_submitted_no_fee",  # a first loss: nothing to pay
        "appointment_booked",
        "replacement_checked_in",
        "replacement_biometrics_captured",
        "replacement_approved",
        "replacement_printed",
        "replacement_ready_for_collection",
        "handover_code_collection",
        "replacement_collected",
    ]
    inbox = list(
        InboxNotification.objects.filter(person_id=replacement.applicant_id)
        .order_by("id")
        .values_list("template", flat=True)
    )
    assert "handover_code_collection" not in inbox
    assert inbox[-1] == "replacement_collected"

    # The audit trail: every officer step names the person, from the officer's office; unbroken.
    steps = AuditEvent.objects.filter(actor=staff.actor.id)
    assert steps.count() >= 8
    for event in steps:
        assert event.detail["person_id"] == replacement.applicant_id, event.action
        assert (event.actor_role, event.actor_office, event.ip) == ("officer", case.office.code, staff.ip)
    assert list(
        steps.filter(action="replacement.moved").order_by("id").values_list("detail__step", flat=True)
    ) == ["checked_in", "biometrics_captured", "approved", "printed", "ready_for_collection", "collected"]
    assert audit_chain_verify().ok


def test_a_rejected_request_is_refunded_and_the_document_stays_lost(pinned: PinnedClock) -> None:
    case = collection_case(pinned, losses=2)
    staff = officer(case.office)
    assert case.appointment is not None
    appointment_check_in(staff=staff, appointment_id=case.appointment.pk)
    replacement = replacement_reject(
        staff=staff,
        replacement_id=case.replacement.pk,
        reason_code="documents_missing",
        note="Bring the police report of the loss",
    )

    assert replacement.state == S.REJECTED
    bill = Bill.objects.get(replacement=replacement)
    assert bill.state == BillState.REFUND_PENDING
    assert bill.refund_requested_sar == Decimal(100)
    lost = Document.objects.get(pk=replacement.document_id)
    assert lost.status == DocumentStatus.REPORTED_LOST
    assert not Document.objects.filter(replaces=lost).exists()
    entry = replacement_timeline(replacement=replacement).entries[0]
    assert entry.action == "rejected"
    assert entry.detail["reason"] == "documents_missing"
    assert entry.detail["note"] == "Bring the police report of the loss"
    assert sms_templates(replacement)[-1] == "replacement_rejected_documents"
    assert AuditEvent.objects.filter(action="bill.refund_requested").count() == 1
    assert audit_chain_verify().ok


def _courier(shipment: Shipment, kind: str, **extra: Any) -> None:
    shipment_event_apply(
        reference=shipment.reference,
        event_id=uuid.uuid4().hex,
        kind=kind,
        at=NOW,
        actor=Actor.courier("acme"),
        **extra,
    )


def test_a_delivery_request_fails_twice_returns_and_is_collected(pinned: PinnedClock) -> None:
    case = delivery_case(pinned)
    staff = officer(case.office)

    replacement_approve(staff=staff, replacement_id=case.replacement.pk)
    replacement_mark_printed(staff=staff, replacement_id=case.replacement.pk)
    shipment = Shipment.objects.get(replacement=case.replacement)
    assert shipment.state == ShipmentState.AWAITING_PICKUP

    _courier(shipment, "picked_up")
    for _attempt in range(2):
        _courier(shipment, "out_for_delivery")
        _courier(shipment, "failed_attempt", reason="nobody_home")
    shipment.refresh_from_db()
    assert shipment.state == ShipmentState.RETURNED
    assert case.fresh().state == S.RETURNED_TO_OFFICE

    replacement_mark_ready(staff=staff, replacement_id=case.replacement.pk)
    replacement = replacement_hand_over(
        staff=staff, replacement_id=case.replacement.pk, code=handover_code(case.replacement)
    )

    assert replacement.state == S.COLLECTED
    assert replacement.new_document_id is not None
    new = Document.objects.get(pk=replacement.new_document_id)
    assert new.status == DocumentStatus.VALID
    assert new.expiry_date == add_years(TODAY, 10)
    actions = [entry.action for entry in reversed(replacement_timeline(replacement=replacement).entries)]
    assert actions == [
        "submitted",
        "paid",
        "approved",
        "printed",
        "dispatched",
        "out_for_delivery",
        "delivery_failed",
        "out_for_delivery_again",
        "delivery_failed",
        "returned_to_office",
        "ready_for_collection",
        "collected",
    ]
    # The courier's delivery code died when the card came back; the collection code did the rest.
    assert sms_templates(replacement).count("handover_code_delivery") == 2
    assert sms_templates(replacement)[-2:] == ["handover_code_collection", "replacement_collected"]
    assert audit_chain_verify().ok


@pytest.mark.parametrize(("language", "label"), [("en", "Another reason"), ("ar", "سبب آخر")])
def test_the_citizen_reads_the_rejection_reason_and_note_in_their_language(
    pinned: PinnedClock, client: Client, language: str, label: str
) -> None:
    case = collection_case(pinned)
    user = activate(case.applicant)
    replacement_reject(
        staff=officer(case.office),
        replacement_id=case.replacement.pk,
        reason_code="other",
        note="Bring your old passport",
    )
    client.force_login(user)
    session = client.session
    session.save()
    user_session_record(user=user, session_key=session.session_key or "", ip="192.0.2.1", user_agent="test")
    with translation.override(language):
        page = client.get(reverse("portal:requests-detail", args=[case.replacement.reference]))
    assert page.status_code == 200
    html = page.content.decode()
    assert label in html
    assert "Bring your old passport" in html
