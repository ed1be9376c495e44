"""The text messages of the office steps say what the source says for the kind of document: prints
and the card after 15 days for an ID card only; a birth certificate's applicant is told their
identity is checked."""

from __future__ import annotations

import uuid

import pytest

from hawiya.appointments.tests.factories import book, make_bookable_office
from hawiya.casework.backoffice import appointment_check_in, replacement_biometrics_capture
from hawiya.casework.services import replacement_apply
from hawiya.core.testing import PinnedClock
from hawiya.identity.tests.factories import applicant_actor
from hawiya.notifications.models import SmsMessage
from hawiya.registry.models import CivilService, DocumentKind
from hawiya.replacements.models import Replacement
from hawiya.replacements.tests.factories import lost_document

from .factories import (
    APPLIED,
    IP,
    NOW,
    SLOT,
    citizen,
    collection_case,
    fingerprints_of,
    officer,
    photo_bytes,
)

pytestmark = pytest.mark.django_db


def _bodies(replacement: Replacement, template_prefix: str) -> list[str]:
    return list(
        SmsMessage.objects.filter(
            subject_ref=f"replacement:{replacement.pk}", template__startswith=template_prefix
        ).values_list("body", flat=True)
    )


def _through_biometrics(replacement: Replacement, appointment_id: int) -> None:
    staff = officer(replacement.office or make_bookable_office())
    appointment_check_in(staff=staff, appointment_id=appointment_id)
    replacement_biometrics_capture(
        staff=staff,
        replacement_id=replacement.pk,
        photo=photo_bytes(),
        fingerprints=fingerprints_of(replacement.applicant),
    )


def test_an_id_card_applicant_is_told_of_the_prints_and_the_card_after_15_days(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    assert case.appointment is not None
    _through_biometrics(case.replacement, case.appointment.pk)
    templates = set(
        SmsMessage.objects.filter(subject_ref=f"replacement:{case.replacement.pk}").values_list(
            "template", flat=True
        )
    )
    assert {"replacement_checked_in", "replacement_biometrics_captured"} <= templates
    (captured,) = _bodies(case.replacement, "replacement_biometrics_captured")
    assert "15" in captured
    assert "بصمات" in captured or "fingerprints" in captured


def test_a_birth_certificate_applicant_is_never_told_of_prints_a_card_or_15_days(pinned: PinnedClock) -> None:
    office = make_bookable_office()
    office.services.set(CivilService.objects.filter(code__endswith="_replacement"))
    pinned.set(APPLIED)
    person = citizen()
    document = lost_document(holder=person, kind=DocumentKind.BIRTH_CERTIFICATE, office=office)
    replacement = replacement_apply(
        applicant=person,
        document_id=document.pk,
        method="collection",
        photo=None,
        white_background_declared=False,
        address_confirmed=True,
        mobile_confirmed=True,
        idempotency_key=uuid.uuid4().hex,
        actor=applicant_actor(person.pk, ip=IP),
    )
    appointment = book(replacement, office, SLOT, at=APPLIED)
    pinned.set(NOW)
    replacement.refresh_from_db()
    _through_biometrics(replacement, appointment.pk)
    messages = SmsMessage.objects.filter(subject_ref=f"replacement:{replacement.pk}")
    templates = list(messages.order_by("id").values_list("template", flat=True))
    assert templates[0] == "replacement_submitted_no_fee"
    assert "replacement_checked_in_document" in templates
    assert "replacement_identity_confirmed" in templates
    for body in messages.values_list("body", flat=True):
        for word in ("بصم", "بطاقة", "15 يوم", "fingerprint", "card", "15 days", "ادفع", "Pay "):
            assert word not in body, (word, body)
