"""Writes to the civil register. Every change a person or officer causes goes through here.

Each service is keyword-only, runs in one transaction, locks the rows it reads to decide
(`select_for_update`) and raises `ApplicationError` with a code from `registry.errors` when a rule
says no. Input is normalised here (Eastern digits, spaces, hyphens, lower case) and then checked
by the models' `full_clean`, so the admin, the portal and the API all get the same rules.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core.errors import ApplicationError, NotFound

from . import errors
from .addresses import normalise_address_code
from .id_numbers import CITIZEN_PREFIX, normalise_id_number
from .models import (
    SAUDI_NATIONALITY,
    SERIAL_PREFIXES,
    Calendar,
    DatePrecision,
    Document,
    DocumentKind,
    DocumentStatus,
    FamilyRecord,
    NationalAddress,
    Office,
    Person,
)
from .phones import normalise_mobile

# With 10^9 serials per kind a collision is already rare; a handful of draws makes a failure
# a sign of something broken (a bad random source), not bad luck.
SERIAL_NUMBER_ATTEMPTS = 8
REISSUABLE_STATUSES = frozenset({DocumentStatus.REPORTED_LOST, DocumentStatus.EXPIRED})

# Audit action codes written by this module (stable: reports and alerts match on them).
AUDIT_PERSON_CREATED = "person.created"
AUDIT_PERSON_MOBILE_CHANGED = "person.mobile_changed"
AUDIT_NATIONAL_ADDRESS_SET = "national_address.set"
AUDIT_DOCUMENT_REPORTED_LOST = "document.reported_lost"
AUDIT_DOCUMENT_REISSUED = "document.reissued"


def _invalid(code: str, exc: ValidationError) -> ApplicationError:
    """A model's ValidationError as an ApplicationError: the first message, and all by field."""
    by_field = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    field, messages = next(iter(by_field.items()))
    return ApplicationError(
        code, messages[0], field=None if field == NON_FIELD_ERRORS else field, errors=by_field
    )


# --- Persons -------------------------------------------------------------------------------------


@transaction.atomic
def person_create(
    *,
    id_number: str,
    first_name_ar: str,
    father_name_ar: str = "",
    grandfather_name_ar: str = "",
    family_name_ar: str,
    first_name_en: str,
    father_name_en: str = "",
    grandfather_name_en: str = "",
    family_name_en: str,
    sex: str,
    date_of_birth: dt.date,
    date_of_birth_precision: str = DatePrecision.DAY,
    date_of_birth_calendar: str | None = None,
    place_of_birth_ar: str,
    place_of_birth_en: str,
    nationality: str | None = None,
    date_of_death: dt.date | None = None,
    mobile: str = "",
    email: str = "",
    photo_ref: str = "",
    biometrics_captured_on: dt.date | None = None,
    actor: Actor,
) -> Person:
    """Enter a person in the register after validating every field.

    The ID number and mobile are accepted as typed (Eastern digits, spaces, hyphens). By
    default a citizen's nationality is SA and their date of birth is of record in the Hijri
    calendar; a resident's is Gregorian and their nationality must be given.
    `actor` (who enters the person) goes to the audit event `person.created`.
    Raises ApplicationError `person_already_registered` or `person_invalid` (with `errors`
    by field in `extra`).
    """
    number = normalise_id_number(id_number)
    is_citizen = number.startswith(CITIZEN_PREFIX)
    try:
        mobile_e164 = normalise_mobile(mobile) if mobile.strip() else ""
    except ValidationError as exc:
        raise _invalid(errors.PERSON_INVALID, ValidationError({"mobile": exc})) from exc
    person = Person(
        id_number=number,
        first_name_ar=first_name_ar.strip(),
        father_name_ar=father_name_ar.strip(),
        grandfather_name_ar=grandfather_name_ar.strip(),
        family_name_ar=family_name_ar.strip(),
        first_name_en=first_name_en.strip(),
        father_name_en=father_name_en.strip(),
        grandfather_name_en=grandfather_name_en.strip(),
        family_name_en=family_name_en.strip(),
        sex=sex,
        date_of_birth=date_of_birth,
        date_of_birth_precision=date_of_birth_precision,
        date_of_birth_calendar=date_of_birth_calendar
        or (Calendar.HIJRI if is_citizen else Calendar.GREGORIAN),
        place_of_birth_ar=place_of_birth_ar.strip(),
        place_of_birth_en=place_of_birth_en.strip(),
        nationality=(nationality or (SAUDI_NATIONALITY if is_citizen else "")).strip().upper(),
        date_of_death=date_of_death,
        mobile=mobile_e164,
        email=email.strip(),
        photo_ref=photo_ref,
        biometrics_captured_on=biometrics_captured_on,
    )
    if Person.objects.filter(id_number=number).exists():
        raise ApplicationError(
            errors.PERSON_ALREADY_REGISTERED,
            _("A person with this ID number is already in the register."),
            field="id_number",
        )
    try:
        person.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise _invalid(errors.PERSON_INVALID, exc) from exc
    try:
        # A savepoint, so that losing the race for the same number leaves the transaction usable.
        with transaction.atomic():
            person.save(force_insert=True)
    except IntegrityError as exc:
        if Person.objects.filter(id_number=number).exists():
            raise ApplicationError(
                errors.PERSON_ALREADY_REGISTERED,
                _("A person with this ID number is already in the register."),
                field="id_number",
            ) from exc
        raise
    audit_record(
        actor=actor,
        action=AUDIT_PERSON_CREATED,
        object_type="registry.person",
        object_id=person.pk,
        detail={"citizen": is_citizen, "deceased": date_of_death is not None},
    )
    return person


@transaction.atomic
def person_change_mobile(
    *,
    person_id: int,
    mobile: str,
    actor: Actor,
) -> Person:
    """Put a new mobile number on record (accepted as typed, stored in E.164); returns the person.

    The caller has decided that the change is allowed: identity's `mobile_change_complete` after
    codes to the old and the new number, or an officer at a civil-affairs office. One-time codes
    go to this number from then on. Writes the audit event `person.mobile_changed` (with the last
    two digits of the new number only, and the `person_id` "who accessed my data" reads) for
    `actor`. Raises ApplicationError `person_invalid` (field `mobile`,
    with `errors` by field in `extra`), NotFound `person_not_found`.
    """
    try:
        mobile_e164 = normalise_mobile(mobile)
    except ValidationError as exc:
        raise _invalid(errors.PERSON_INVALID, ValidationError({"mobile": exc})) from exc
    # Locked: two concurrent changes must not interleave with what their callers read.
    person = Person.objects.select_for_update().filter(pk=person_id).first()
    if person is None:
        raise NotFound(errors.PERSON_NOT_FOUND, _("No person with this ID number is in the register."))
    person.mobile = mobile_e164
    try:
        person.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise _invalid(errors.PERSON_INVALID, exc) from exc
    person.save(update_fields=["mobile", "updated_at"])
    audit_record(
        actor=actor,
        action=AUDIT_PERSON_MOBILE_CHANGED,
        object_type="registry.person",
        object_id=person.pk,
        detail={"person_id": person.pk, "mobile_last2": mobile_e164[-2:]},
    )
    return person


# --- National addresses -------------------------------------------------------------------------


@transaction.atomic
def national_address_set(
    *,
    person: Person,
    building_number: str,
    street_ar: str,
    street_en: str,
    district_ar: str,
    district_en: str,
    city_ar: str,
    city_en: str,
    region: str,
    postal_code: str,
    additional_number: str,
    short_address: str,
    unit_number: str = "",
    actor: Actor,
) -> NationalAddress:
    """Make this the person's primary national address; the previous one is kept, not primary.

    Codes are accepted as typed (Eastern digits, spaces, hyphens, lower case). Raises
    ApplicationError `national_address_invalid` (with `errors` by field) and leaves the previous
    primary address in place when anything is wrong. Writes the audit event
    `national_address.set` for `actor`.
    """
    # Lock the person: two concurrent changes would otherwise both demote the old primary and
    # race on the one-primary constraint.
    Person.objects.select_for_update().filter(pk=person.pk).get()
    previous_id = (
        NationalAddress.objects.filter(person=person, is_primary=True).values_list("pk", flat=True).first()
    )
    NationalAddress.objects.filter(person=person, is_primary=True).update(
        is_primary=False, updated_at=timezone.now()
    )
    address = NationalAddress(
        person=person,
        is_primary=True,
        building_number=normalise_address_code(building_number),
        street_ar=street_ar.strip(),
        street_en=street_en.strip(),
        district_ar=district_ar.strip(),
        district_en=district_en.strip(),
        city_ar=city_ar.strip(),
        city_en=city_en.strip(),
        region=region,
        postal_code=normalise_address_code(postal_code),
        additional_number=normalise_address_code(additional_number),
        unit_number=unit_number.strip(),
        short_address=normalise_address_code(short_address),
    )
    try:
        address.full_clean()
    except ValidationError as exc:
        raise _invalid(errors.NATIONAL_ADDRESS_INVALID, exc) from exc
    address.save(force_insert=True)
    audit_record(
        actor=actor,
        action=AUDIT_NATIONAL_ADDRESS_SET,
        object_type="registry.nationaladdress",
        object_id=address.pk,
        detail={"person_id": person.pk, "previous_address_id": previous_id},
    )
    return address


# --- Documents -----------------------------------------------------------------------------------


def new_serial_number(kind: str) -> str:
    """A fresh serial: the kind's letter and nine digits from the system's secure random source.

    Serial numbers are printed on cards and read back by relying parties, so they must not be
    guessable from one another (no counter).
    """
    return f"{SERIAL_PREFIXES[kind]}{secrets.randbelow(10**9):09d}"


def _insert_with_new_serial(document: Document) -> Document:
    for _attempt in range(SERIAL_NUMBER_ATTEMPTS):
        document.serial_number = new_serial_number(document.kind)
        try:
            with transaction.atomic():
                document.save(force_insert=True)
        except IntegrityError:
            if not Document.objects.filter(serial_number=document.serial_number).exists():
                raise
            continue
        return document
    raise ApplicationError(
        errors.SERIAL_NUMBER_UNAVAILABLE, _("No serial number could be allocated; try again.")
    )


def _validated(document: Document) -> Document:
    # The serial number is drawn at insert time; everything else must already be right.
    try:
        document.full_clean(exclude=["serial_number"])
    except ValidationError as exc:
        raise _invalid(errors.DOCUMENT_INVALID, exc) from exc
    return document


def _locked_document(document_id: int) -> Document:
    try:
        return Document.objects.select_for_update(of=("self",)).select_related("holder").get(pk=document_id)
    except Document.DoesNotExist:
        raise NotFound(errors.DOCUMENT_NOT_FOUND, _("This document is not in the register.")) from None


@transaction.atomic
def document_issue(
    *,
    holder: Person,
    kind: str,
    issuing_office: Office,
    issue_date: dt.date,
    expiry_date: dt.date | None = None,
    family_record: FamilyRecord | None = None,
) -> Document:
    """Issue the first document of a kind to a person: version 1, valid, a new serial number.

    A person's later versions come only from `document_reissue`, so every version of a kind
    forms one chain. Raises ApplicationError `document_already_issued` or `document_invalid`.
    """
    Person.objects.select_for_update().filter(pk=holder.pk).get()
    if Document.objects.filter(holder=holder, kind=kind).exists():
        raise ApplicationError(
            errors.DOCUMENT_ALREADY_ISSUED,
            _("This person already has a document of this kind; issue a replacement instead."),
        )
    document = _validated(
        Document(
            kind=kind,
            holder=holder,
            family_record=family_record,
            version=1,
            issue_date=issue_date,
            expiry_date=expiry_date,
            issuing_office=issuing_office,
            status=DocumentStatus.VALID,
        )
    )
    # Audit: record the issue here once the audit app exists.
    return _insert_with_new_serial(document)


@transaction.atomic
def document_mark_reported_lost(
    *,
    document_id: int,
    at: dt.datetime,
    actor: Actor,
) -> Document:
    """Invalidate a valid document at once because its holder reported it lost.

    Sets status `reported_lost` and the time of the report; from then on the database refuses
    to make it valid again. Raises ApplicationError `document_not_valid` for a document that is
    not valid now (already reported, replaced, expired or cancelled), NotFound for an unknown id.
    Writes the audit event `document.reported_lost` for `actor`.
    """
    if timezone.is_naive(at):
        raise ValueError("`at` must be a timezone-aware datetime")
    document = _locked_document(document_id)
    if document.status != DocumentStatus.VALID:
        raise ApplicationError(
            errors.DOCUMENT_NOT_VALID,
            _("Only a valid document can be reported lost; this one is %(status)s.")
            % {"status": document.get_status_display()},
        )
    document.status = DocumentStatus.REPORTED_LOST
    document.reported_lost_at = at
    document.save(update_fields=["status", "reported_lost_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AUDIT_DOCUMENT_REPORTED_LOST,
        object_type="registry.document",
        object_id=document.pk,
        detail={
            "kind": document.kind,
            "version": document.version,
            "holder_id": document.holder_id,
            "previous_status": DocumentStatus.VALID.value,
            "status": document.status,
        },
    )
    return document


@transaction.atomic
def document_reissue(
    *,
    document_id: int,
    issuing_office: Office,
    issue_date: dt.date,
    expiry_date: dt.date | None,
    actor: Actor,
) -> Document:
    """Issue the next version of a document that was reported lost or has expired.

    The old row becomes `replaced` (and, if it was reported lost, keeps its report time, so it
    can never be valid again); the new row has a new serial number, version + 1 and `replaces`
    pointing at the old one. The old row is locked first, so of two concurrent reissues one
    succeeds and the other finds it already replaced.
    Raises ApplicationError `document_already_replaced`, `document_still_valid`,
    `document_not_reissuable` (cancelled), `holder_deceased` (ID cards) or `document_invalid`.
    Writes the audit event `document.reissued` (on the new version) for `actor`.
    """
    old = _locked_document(document_id)
    if old.status == DocumentStatus.REPLACED:
        raise ApplicationError(
            errors.DOCUMENT_ALREADY_REPLACED, _("This document has already been replaced by a newer version.")
        )
    if old.status == DocumentStatus.VALID:
        raise ApplicationError(
            errors.DOCUMENT_STILL_VALID,
            _("This document is still valid; report it lost or wait until it expires before reissuing it."),
        )
    if old.status not in REISSUABLE_STATUSES:
        raise ApplicationError(errors.DOCUMENT_NOT_REISSUABLE, _("A cancelled document cannot be reissued."))
    if old.kind == DocumentKind.NATIONAL_ID_CARD and not old.holder.is_alive:
        raise ApplicationError(
            errors.HOLDER_DECEASED, _("A national ID card is not reissued for a person recorded as deceased.")
        )
    new = _validated(
        Document(
            kind=old.kind,
            holder_id=old.holder_id,
            family_record_id=old.family_record_id,
            version=old.version + 1,
            issue_date=issue_date,
            expiry_date=expiry_date,
            issuing_office=issuing_office,
            status=DocumentStatus.VALID,
            replaces=old,
        )
    )
    previous_status = old.status
    old.status = DocumentStatus.REPLACED
    old.save(update_fields=["status", "updated_at"])
    _insert_with_new_serial(new)
    audit_record(
        actor=actor,
        action=AUDIT_DOCUMENT_REISSUED,
        object_type="registry.document",
        object_id=new.pk,
        detail={
            # The holder, under the key the "who accessed my data" page reads.
            "person_id": new.holder_id,
            "kind": new.kind,
            "version": new.version,
            "holder_id": new.holder_id,
            "replaces_id": old.pk,
            "replaced_previous_status": previous_status,
            "issuing_office_id": issuing_office.pk,
        },
    )
    return new


@transaction.atomic
def document_expire_due(*, today: dt.date) -> int:
    """Mark every valid document whose expiry date is before `today` as expired; the count.

    A document is valid through its expiry date. One UPDATE statement: a row locked by a
    concurrent loss report is re-checked after that commits, so it is never expired by mistake.
    """
    count = Document.objects.filter(status=DocumentStatus.VALID, expiry_date__lt=today).update(
        status=DocumentStatus.EXPIRED, updated_at=timezone.now()
    )
    # Audit: record one event with the count here once the audit app exists.
    return count
