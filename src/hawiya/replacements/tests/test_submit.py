"""Submitting a replacement request: idempotency, one open request per document, the photo rules,
what is stored (fee lines, office, address), the timeline, the audit event and the SMS."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hawiya.audit.models import AuditEvent
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.idempotency import IDEMPOTENCY_KEY_REUSED
from hawiya.notifications.models import InboxNotification, SmsMessage
from hawiya.registry.models import CivilFine
from hawiya.registry.tests.factories import make_person
from hawiya.replacements import errors
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.selectors import (
    replacement_get_for_person,
    replacement_timeline,
    replacements_for_person,
)

from .factories import (
    TODAY,
    applicant_with_address,
    lost_id_card,
    photo_bytes,
    photo_upload,
    service_office,
    submit,
)

pytestmark = pytest.mark.django_db


def test_collection_request_awaits_payment_with_its_fee_and_timeline():
    person = applicant_with_address()
    document = lost_id_card(holder=person, losses=2)
    replacement = submit(applicant=person, document=document)
    assert replacement.reference.startswith("RP")
    assert len(replacement.reference) == 10
    assert replacement.state == ReplacementState.AWAITING_PAYMENT
    assert replacement.loss_number == 2
    assert replacement.fee_lines == [{"code": "id_card_loss_2", "amount_sar": "100.00", "refundable": True}]
    assert replacement.total_sar == Decimal(100)
    assert replacement.office is None
    assert replacement.delivery_address is None
    assert replacement.address_confirmed_at
    assert replacement.mobile_confirmed_at
    timeline = replacement_timeline(replacement=replacement)
    assert [entry.action for entry in timeline.entries] == ["submitted"]
    assert [step.state for step in timeline.upcoming][:2] == ["paid", "appointment_booked"]
    assert timeline.upcoming[-1].state == "collected"
    event = AuditEvent.objects.get(action="replacement.submitted")
    assert event.object_id == str(replacement.pk)
    assert person.id_number not in str(event.detail)
    assert SmsMessage.objects.filter(to=person.mobile, template="replacement_submitted").exists()
    assert InboxNotification.objects.filter(person_id=person.pk).exists()


def test_delivery_stores_the_photo_the_address_and_an_issuing_office():
    person = applicant_with_address()
    office = service_office(city_en="Riyadh")
    document = lost_id_card(holder=person, office=office)
    replacement = submit(applicant=person, document=document, method="delivery", photo=photo_upload())
    assert replacement.method == "delivery"
    assert replacement.delivery_address is not None
    assert replacement.delivery_address.person_id == person.pk
    assert replacement.office is not None
    assert replacement.photo.name.startswith("replacement-photos/")
    assert replacement.photo.name.endswith(".jpg")
    assert str(person.id_number) not in replacement.photo.name
    assert replacement.photo_white_background_declared
    assert [line["code"] for line in replacement.fee_lines] == ["id_card_loss_1", "delivery"]
    upcoming = [step.state for step in replacement_timeline(replacement=replacement).upcoming]
    assert upcoming == ["paid", "approved", "printed", "dispatched", "out_for_delivery", "delivered"]


def test_the_same_key_returns_the_first_request():
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    key = uuid.uuid4().hex
    first = submit(applicant=person, document=document, key=key)
    again = submit(applicant=person, document=document, key=key)
    assert again.pk == first.pk
    assert Replacement.objects.count() == 1
    assert AuditEvent.objects.filter(action="replacement.submitted").count() == 1


def test_the_same_key_with_other_answers_is_refused():
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    key = uuid.uuid4().hex
    submit(applicant=person, document=document, key=key)
    with pytest.raises(ApplicationError) as caught:
        submit(applicant=person, document=document, key=key, method="delivery", photo=photo_upload())
    assert caught.value.code == IDEMPOTENCY_KEY_REUSED


def test_one_open_request_per_document_even_with_two_keys():
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    first = submit(applicant=person, document=document)
    with pytest.raises(ApplicationError) as caught:
        submit(applicant=person, document=document)
    assert caught.value.code == errors.BLOCKER_OPEN_REQUEST
    assert first.reference in str(caught.value.message)
    assert caught.value.extra["how_to_fix"]
    assert Replacement.objects.count() == 1


def test_a_blocker_is_checked_again_at_submit():
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    CivilFine.objects.create(
        person=person, amount_sar=Decimal(50), reason_ar="غرامة", reason_en="Fine", issued_on=TODAY
    )
    with pytest.raises(ApplicationError) as caught:
        submit(applicant=person, document=document)
    assert caught.value.code == errors.BLOCKER_UNPAID_FINES
    assert not Replacement.objects.exists()


def test_a_strangers_document_is_not_found():
    document = lost_id_card()
    with pytest.raises(NotFound):
        submit(applicant=applicant_with_address(), document=document)


def test_delivery_refused_when_biometrics_are_old():
    person = applicant_with_address(biometrics_captured_on=TODAY - dt.timedelta(days=6 * 365))
    document = lost_id_card(holder=person)
    with pytest.raises(ApplicationError) as caught:
        submit(applicant=person, document=document, method="delivery", photo=photo_upload())
    assert caught.value.code == errors.DELIVERY_NOT_ALLOWED
    assert caught.value.field == "method"


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (None, errors.PHOTO_MISSING),
        (SimpleUploadedFile("me.jpg", b"not an image at all", "image/jpeg"), errors.PHOTO_INVALID),
        (SimpleUploadedFile("me.gif", b"GIF89a" + b"\x00" * 100, "image/gif"), errors.PHOTO_INVALID),
        (SimpleUploadedFile("me.jpg", photo_bytes(600, 800, "GIF"), "image/jpeg"), errors.PHOTO_INVALID),
        (SimpleUploadedFile("me.jpg", photo_bytes(599, 800), "image/jpeg"), errors.PHOTO_TOO_SMALL),
        (SimpleUploadedFile("me.jpg", photo_bytes(600, 799), "image/jpeg"), errors.PHOTO_TOO_SMALL),
        (SimpleUploadedFile("me.png", photo_bytes(900, 900, "PNG"), "image/png"), errors.PHOTO_NOT_PORTRAIT),
        (SimpleUploadedFile("me.jpg", photo_bytes()[:200], "image/jpeg"), errors.PHOTO_INVALID),
        (SimpleUploadedFile("me.jpg", b"\xff" * (5 * 1024 * 1024 + 1), "image/jpeg"), errors.PHOTO_TOO_LARGE),
    ],
    ids=[
        "missing",
        "text",
        "gif",
        "gif-named-jpg",
        "too-narrow",
        "too-short",
        "square",
        "truncated",
        "over-5mb",
    ],
)
def test_bad_photos_are_refused_with_a_clear_error(upload, code):
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    with pytest.raises(ApplicationError) as caught:
        submit(applicant=person, document=document, method="delivery", photo=upload)
    assert caught.value.code == code
    assert caught.value.field == "photo"
    assert str(caught.value.message)
    assert not Replacement.objects.exists()


def test_a_png_photo_is_accepted():
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    upload = SimpleUploadedFile("me.png", photo_bytes(700, 900, "PNG"), "image/png")
    replacement = submit(applicant=person, document=document, method="delivery", photo=upload)
    assert replacement.photo.name.endswith(".png")


def test_delivery_needs_the_white_background_declared():
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    with pytest.raises(ApplicationError) as caught:
        submit(
            applicant=person,
            document=document,
            method="delivery",
            photo=photo_upload(),
            white_background_declared=False,
        )
    assert caught.value.code == errors.PHOTO_BACKGROUND_NOT_DECLARED


def test_the_address_and_mobile_must_be_confirmed():
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    for field in ("address_confirmed", "mobile_confirmed"):
        answers: dict[str, Any] = {field: False}
        with pytest.raises(ApplicationError) as caught:
            submit(applicant=person, document=document, **answers)
        assert caught.value.code == errors.CONFIRMATION_MISSING
        assert caught.value.field == field


def test_a_request_is_found_only_by_its_applicant():
    person = applicant_with_address()
    replacement = submit(applicant=person, document=lost_id_card(holder=person))
    assert replacement_get_for_person(person=person, reference=replacement.reference) == replacement
    assert replacements_for_person(person=person) == [replacement]
    with pytest.raises(NotFound):
        replacement_get_for_person(person=make_person(), reference=replacement.reference)
    with pytest.raises(NotFound):
        replacement_get_for_person(person=person, reference="RP00000000")


def test_a_second_click_finds_the_first_request_before_checking_the_photo_again(monkeypatch):
    from hawiya.replacements import services

    person = applicant_with_address()
    document = lost_id_card(holder=person)
    key = uuid.uuid4().hex
    first = submit(applicant=person, document=document, method="delivery", photo=photo_upload(), key=key)

    def not_again(upload):
        raise AssertionError("the photo was checked again")

    monkeypatch.setattr(services, "photo_checked", not_again)
    again = submit(applicant=person, document=document, method="delivery", photo=photo_upload(), key=key)

    assert again.pk == first.pk
    assert Replacement.objects.count() == 1


def test_the_same_key_with_another_photo_is_refused():
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    key = uuid.uuid4().hex
    submit(applicant=person, document=document, method="delivery", photo=photo_upload(), key=key)
    with pytest.raises(ApplicationError) as caught:
        submit(applicant=person, document=document, method="delivery", photo=photo_upload(700, 900), key=key)
    assert caught.value.code == IDEMPOTENCY_KEY_REUSED


def test_the_submission_is_audited_as_the_citizens():
    person = applicant_with_address()
    replacement = submit(applicant=person, document=lost_id_card(holder=person))
    event = AuditEvent.objects.get(action="replacement.submitted", object_id=str(replacement.pk))
    assert event.actor_role == "citizen"
