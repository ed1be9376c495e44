"""Reads of the civil register."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ApplicationError, NotFound

from . import errors
from .id_numbers import parse_id_number
from .models import BiometricCapture, CivilFine, Document, DocumentKind, DocumentStatus, Office, Person


def person_get_by_id_number(id_number: str) -> Person:
    """The person with this ID number, typed in any form (Eastern digits, spaces, hyphens).

    Raises ApplicationError `id_number_invalid` (with the validator's message) for a number that
    cannot exist, and NotFound `person_not_found` for a valid one that is not in the register.
    """
    try:
        number = parse_id_number(id_number)
    except ValidationError as exc:
        raise ApplicationError(errors.ID_NUMBER_INVALID, exc.messages[0], field="id_number") from exc
    try:
        return Person.objects.get(id_number=number)
    except Person.DoesNotExist:
        raise NotFound(
            errors.PERSON_NOT_FOUND, _("No person with this ID number is in the register.")
        ) from None


def document_history(document: Document) -> list[Document]:
    """Every version in the document's chain, oldest first, with their issuing offices.

    All versions of a chain share the holder and the kind, so one indexed query fetches them;
    the chain is then followed through `replaces` in memory (no query per version).
    """
    versions = {
        version.pk: version
        for version in Document.objects.filter(holder_id=document.holder_id, kind=document.kind)
        .select_related("issuing_office")
        .order_by("version")
    }
    successor = {version.replaces_id: version for version in versions.values() if version.replaces_id}
    first = versions.get(document.pk, document)
    seen = {first.pk}
    # `seen` only guards against a corrupted cycle written outside the services.
    while first.replaces_id is not None and first.replaces_id in versions and first.replaces_id not in seen:
        first = versions[first.replaces_id]
        seen.add(first.pk)
    chain: list[Document] = []
    current: Document | None = first
    while current is not None and current not in chain:
        chain.append(current)
        current = successor.get(current.pk)
    return chain


# The order a person reads their documents in: the card first, then the certificates.
DOCUMENT_ORDER = (
    DocumentKind.NATIONAL_ID_CARD,
    DocumentKind.BIRTH_CERTIFICATE,
    DocumentKind.FAMILY_RECORD,
    DocumentKind.DEATH_CERTIFICATE,
)
# How a status is shown (docs/ui.md §6 tags): success, warning (the person must act), error, neutral.
DOCUMENT_STATUS_TONES = {
    DocumentStatus.VALID: "success",
    DocumentStatus.EXPIRED: "warning",
    DocumentStatus.REPORTED_LOST: "error",
    DocumentStatus.REPLACED: "neutral",
    DocumentStatus.CANCELLED: "neutral",
}


@dataclass(frozen=True)
class HeldDocument:
    """One of a person's documents as their account page shows it: the newest version."""

    document: Document
    # The status the person must act on: a valid card past its expiry date is shown expired
    # even before the nightly `document_expire_due` has marked it.
    status: str

    @property
    def status_label(self) -> str:
        return str(DocumentStatus(self.status).label)

    @property
    def tone(self) -> str:
        return DOCUMENT_STATUS_TONES.get(DocumentStatus(self.status), "neutral")


def documents_held_by(*, person: Person, today: dt.date) -> list[HeldDocument]:
    """The newest version of each kind of document the person holds (their ID card, birth
    certificate, family record as its head…), card first. One query."""
    newest: dict[str, Document] = {}
    for version in Document.objects.filter(holder=person).order_by("kind", "-version", "-id"):
        newest.setdefault(version.kind, version)
    held = []
    for kind in DOCUMENT_ORDER:
        document = newest.get(kind)
        if document is None:
            continue
        status = document.status
        if (
            status == DocumentStatus.VALID
            and document.expiry_date is not None
            and document.expiry_date < today
        ):
            status = DocumentStatus.EXPIRED
        held.append(HeldDocument(document=document, status=status))
    return held


def unpaid_fines_for(*, person: Person) -> list[CivilFine]:
    """The person's civil-affairs fines not yet paid, oldest first."""
    return list(CivilFine.objects.filter(person=person, paid_at__isnull=True).order_by("issued_on", "id"))


def person_for_counter(*, id_number: str) -> Person:
    """The person an officer looks up at the counter by ID number (typed in any form).

    Raises ApplicationError `id_number_invalid` for a number that cannot exist and NotFound
    `person_not_found` for one that is not in the register. The page audits the view.
    """
    return person_get_by_id_number(id_number)


def biometric_capture_latest(*, person_id: int) -> BiometricCapture | None:
    """The person's latest biometrics taken at an office (photo, matcher reference), or None."""
    return (
        BiometricCapture.objects.filter(person_id=person_id)
        .select_related("office")
        .order_by("-captured_at", "-id")
        .first()
    )


def offices_by_code(*, codes: Iterable[str]) -> dict[str, Office]:
    """The offices of these codes (audit events name offices by code), one query; unknown codes
    are left out."""
    wanted = {code for code in codes if code}
    if not wanted:
        return {}
    return {office.code: office for office in Office.objects.filter(code__in=wanted)}
