"""Factories for the replacement tests: lost documents through the register's services, a photo
made with Pillow, a loss report row, and submits through `replacement_submit`."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from hawiya.audit.actors import Actor
from hawiya.identity.tests.factories import applicant_actor
from hawiya.losses.models import LossPlace, LossReport, LossReportItem
from hawiya.notifications.models import SmsMessage
from hawiya.registry.models import Document, DocumentKind, Office, Person
from hawiya.registry.services import document_issue, document_mark_reported_lost, document_reissue
from hawiya.registry.tests.factories import make_address, make_office, make_person
from hawiya.replacements.models import Replacement
from hawiya.replacements.services import replacement_submit

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
_SIX_DIGITS = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")


def handover_code_sent(replacement_id: int, template: str = "handover_code") -> str:
    """The code in the latest handover SMS about the request (whose template starts with
    `template`: "handover_code_delivery" for the courier's code only)."""
    message = (
        SmsMessage.objects.filter(subject_ref=f"replacement:{replacement_id}", template__startswith=template)
        .order_by("-id")
        .first()
    )
    assert message is not None, f"no {template} message was sent"
    match = _SIX_DIGITS.search(message.body)
    assert match is not None
    return match.group(1)


def service_office(**overrides: Any) -> Office:
    """An office offering every replacement (the services rows come from registry migration 0002)."""
    from hawiya.registry.models import CivilService

    office = make_office(**overrides)
    office.services.set(CivilService.objects.filter(code__endswith="_replacement"))
    return office


def lost_id_card(*, holder: Person | None = None, losses: int = 1, office: Office | None = None) -> Document:
    """The holder's ID card reported lost for the `losses`-th time (earlier losses were replaced)."""
    holder = holder or make_person(biometrics_captured_on=TODAY - dt.timedelta(days=400))
    office = office or service_office()
    document = document_issue(
        holder=holder,
        kind=DocumentKind.NATIONAL_ID_CARD,
        issuing_office=office,
        issue_date=dt.date(2016, 1, 5),
        expiry_date=dt.date(2026, 1, 5) if losses > 1 else dt.date(2030, 1, 5),
    )
    for number in range(1, losses + 1):
        document = document_mark_reported_lost(
            actor=Actor.system("tests"), document_id=document.pk, at=timezone.now()
        )
        if number < losses:
            issued = dt.date(2016 + number, 2, 1)
            document = document_reissue(
                actor=Actor.system("tests"),
                document_id=document.pk,
                issuing_office=office,
                issue_date=issued,
                expiry_date=issued.replace(year=issued.year + 10),
            )
    return document


def lost_document(*, holder: Person, kind: str, office: Office | None = None, **extra: Any) -> Document:
    document = document_issue(
        holder=holder,
        kind=kind,
        issuing_office=office or service_office(),
        issue_date=dt.date(2015, 3, 1),
        **extra,
    )
    return document_mark_reported_lost(
        actor=Actor.system("tests"), document_id=document.pk, at=timezone.now()
    )


def loss_report_for(document: Document, *, late: bool = False) -> LossReport:
    """A loss report naming `document` (rows written as the losses service would)."""
    report = LossReport.objects.create(
        reference=f"LR{uuid.uuid4().int % 10**8:08d}",
        reporter=document.holder,
        lost_on=TODAY - dt.timedelta(days=30 if late else 2),
        place=LossPlace.IN_KINGDOM,
        city="الرياض",
        circumstances="Lost in the market",
        declaration_accepted_at=NOW,
        is_late=late,
        idempotency_key=uuid.uuid4().hex,
        request_fingerprint="x",
    )
    LossReportItem.objects.create(report=report, document=document)
    return report


def photo_bytes(width: int = 600, height: int = 800, image_format: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format=image_format)
    return buffer.getvalue()


def photo_upload(
    width: int = 600, height: int = 800, image_format: str = "JPEG", name: str = "me.jpg"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, photo_bytes(width, height, image_format), "image/jpeg")


def applicant_with_address(**overrides: Any) -> Person:
    overrides.setdefault("biometrics_captured_on", TODAY - dt.timedelta(days=400))
    person = make_person(**overrides)
    make_address(person)
    return person


def submit(
    *,
    applicant: Person,
    document: Document,
    method: str = "collection",
    photo: SimpleUploadedFile | None = None,
    key: str | None = None,
    **overrides: Any,
) -> Replacement:
    values: dict[str, Any] = {
        "applicant": applicant,
        "document_id": document.pk,
        "method": method,
        "photo": photo,
        "white_background_declared": method == "delivery",
        "address_confirmed": True,
        "mobile_confirmed": True,
        "idempotency_key": key or uuid.uuid4().hex,
        "at": NOW,
        "actor": applicant_actor(applicant.pk, ip="192.0.2.1"),
    }
    values.update(overrides)
    return replacement_submit(**values)
