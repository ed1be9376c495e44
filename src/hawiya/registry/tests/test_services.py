"""Writes to the register through the services: persons, addresses and the document chain."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from hawiya.audit.actors import Actor
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.registry import errors
from hawiya.registry.models import Calendar, Document, DocumentKind, DocumentStatus, NationalAddress, Person
from hawiya.registry.services import (
    document_expire_due,
    document_issue,
    document_mark_reported_lost,
    document_reissue,
    national_address_set,
    person_change_mobile,
)

from .factories import (
    make_address,
    make_document,
    make_family_record,
    make_lost_document,
    make_office,
    make_person,
    make_resident,
    next_id_number,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _refused(code: str, call: Callable[[], Any]) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    assert caught.value.code == code, caught.value
    return caught.value


def _reissue(document: Document, **overrides: Any) -> Document:
    values: dict[str, Any] = {
        "document_id": document.pk,
        "issuing_office": document.issuing_office,
        "issue_date": dt.date(2025, 2, 1),
        "expiry_date": dt.date(2035, 2, 1),
        "actor": Actor.system("tests"),
    }
    values.update(overrides)
    return document_reissue(**values)


# --- person_create -------------------------------------------------------------------------------


def test_person_create_accepts_the_id_number_and_mobile_as_typed() -> None:
    person = make_person(id_number="١٠٥٨ ٥٢٩ ٩٤٠", mobile="٠٥٠-١٢٣-٤٥٦٧")
    person.refresh_from_db()
    assert person.id_number == "1058529940"
    assert person.mobile == "+966501234567"
    assert person.is_citizen
    assert person.nationality == "SA"
    assert person.date_of_birth_calendar == Calendar.HIJRI


def test_person_create_gives_residents_a_gregorian_calendar_of_record() -> None:
    resident = make_resident()
    assert not resident.is_citizen
    assert resident.date_of_birth_calendar == Calendar.GREGORIAN
    assert resident.full_name_en == "Ahmed Hassan"


def test_person_create_refuses_a_number_already_registered() -> None:
    make_person(id_number="1058529940")
    error = _refused(errors.PERSON_ALREADY_REGISTERED, lambda: make_person(id_number="1058 529 940"))
    assert error.field == "id_number"
    assert Person.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"id_number": "1058529941"},
            "id_number",
            "This is not a valid ID number: check the digits and try again.",
        ),
        (
            {"mobile": "0112345678"},
            "mobile",
            "This is a landline number; enter a mobile number that can receive text messages.",
        ),
        ({"first_name_ar": "Mohammed"}, "first_name_ar", "Write this name in Arabic letters."),
        ({"family_name_en": "العتيبي"}, "family_name_en", "Write this name in English (Latin) letters."),
        ({"father_name_ar": ""}, "father_name_ar", "A citizen's name has four parts; enter this one."),
        (
            {"nationality": "EG"},
            "nationality",
            "A citizen's nationality is Saudi (SA): the ID number starts with 1.",
        ),
        (
            {"date_of_birth": dt.date(2999, 1, 1)},
            "date_of_birth",
            "The date of birth cannot be in the future.",
        ),
        (
            {"date_of_death": dt.date(1980, 1, 1)},
            "date_of_death",
            "The date of death cannot be before the date of birth.",
        ),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"sex": "X"}, "sex", "Value 'X' is not a valid choice."),
    ],
)
def test_person_create_refuses_bad_input_with_a_message_for_the_field(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    error = _refused(errors.PERSON_INVALID, lambda: make_person(**overrides))
    assert error.field == field
    assert message in error.extra["errors"][field]
    assert not Person.objects.exists()


def test_person_create_needs_a_residents_nationality() -> None:
    error = _refused(errors.PERSON_INVALID, lambda: make_resident(nationality=None))
    assert error.field == "nationality"


def test_person_create_refuses_saudi_nationality_for_a_resident() -> None:
    error = _refused(errors.PERSON_INVALID, lambda: make_resident(nationality="sa"))
    assert error.extra["errors"]["nationality"] == [
        "A resident (ID number starting with 2) cannot have Saudi nationality."
    ]


# --- national_address_set ------------------------------------------------------------------------


def test_national_address_set_normalises_the_codes() -> None:
    address = make_address(
        building_number="٢٩٢٩", postal_code="12 345", additional_number="8538", short_address="rrrd-2929"
    )
    address.refresh_from_db()
    assert (address.building_number, address.postal_code, address.short_address) == (
        "2929",
        "12345",
        "RRRD2929",
    )
    assert address.is_primary


def test_a_new_national_address_becomes_primary_and_the_old_one_is_kept() -> None:
    old = make_address()
    new = make_address(person=old.person, building_number="1111", short_address="RAAA1111")
    old.refresh_from_db()
    assert new.is_primary
    assert not old.is_primary
    assert old.person.national_addresses.count() == 2


def test_a_refused_national_address_leaves_the_old_primary_in_place() -> None:
    old = make_address()
    error = _refused(
        errors.NATIONAL_ADDRESS_INVALID, lambda: make_address(person=old.person, postal_code="21234")
    )
    assert error.field == "postal_code"
    assert error.extra["errors"]["postal_code"] == [
        "Postal codes in Riyadh start with 1; check the postal code."
    ]
    old.refresh_from_db()
    assert old.is_primary
    assert NationalAddress.objects.count() == 1


def test_short_address_must_end_with_the_building_number() -> None:
    error = _refused(errors.NATIONAL_ADDRESS_INVALID, lambda: make_address(building_number="1234"))
    assert error.field == "short_address"


def test_every_bad_address_part_is_reported_at_once() -> None:
    error = _refused(
        errors.NATIONAL_ADDRESS_INVALID,
        lambda: make_address(building_number="29", additional_number="x", short_address="2929"),
    )
    assert set(error.extra["errors"]) == {"building_number", "additional_number", "short_address"}
    assert error.extra["errors"]["building_number"] == ["The building number must be 4 digits, like 2929."]


# --- document_issue ------------------------------------------------------------------------------


def test_document_issue_starts_a_chain_at_version_one_with_a_kind_prefixed_serial() -> None:
    card = make_document()
    certificate = make_document(kind=DocumentKind.BIRTH_CERTIFICATE)
    assert card.version == 1
    assert card.status == DocumentStatus.VALID
    assert card.replaces is None
    assert card.serial_number.startswith("N")
    assert len(card.serial_number) == 10
    assert certificate.serial_number.startswith("B")
    assert certificate.expiry_date is None


def test_a_second_first_issue_of_the_same_kind_is_refused() -> None:
    card = make_document()
    _refused(errors.DOCUMENT_ALREADY_ISSUED, lambda: make_document(holder=card.holder))


def test_a_family_record_document_is_held_by_the_head() -> None:
    record = make_family_record()
    document = make_document(holder=record.head, kind=DocumentKind.FAMILY_RECORD, family_record=record)
    assert document.serial_number.startswith("F")
    other = make_person()
    error = _refused(
        errors.DOCUMENT_INVALID,
        lambda: make_document(holder=other, kind=DocumentKind.FAMILY_RECORD, family_record=record),
    )
    assert error.field == "holder"


def test_a_death_certificate_needs_a_deceased_holder() -> None:
    _refused(errors.DOCUMENT_INVALID, lambda: make_document(kind=DocumentKind.DEATH_CERTIFICATE))
    deceased = make_person(date_of_death=dt.date(2024, 1, 1))
    assert make_document(holder=deceased, kind=DocumentKind.DEATH_CERTIFICATE).serial_number.startswith("D")


def test_document_issue_refuses_an_id_card_without_expiry() -> None:
    error = _refused(errors.DOCUMENT_INVALID, lambda: make_document(expiry_date=None))
    assert error.field == "expiry_date"


def test_a_serial_number_collision_draws_again(monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_document()
    taken = int(first.serial_number[1:])
    draws = iter([taken, taken, 123456789])
    monkeypatch.setattr(secrets, "randbelow", lambda _limit: next(draws))
    second = make_document()
    assert second.serial_number == "N123456789"


def test_serial_numbers_give_up_after_bounded_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_document()
    monkeypatch.setattr(secrets, "randbelow", lambda _limit: int(first.serial_number[1:]))
    _refused(errors.SERIAL_NUMBER_UNAVAILABLE, make_document)


# --- document_mark_reported_lost -----------------------------------------------------------------


def test_reporting_a_loss_invalidates_the_document_at_once() -> None:
    document = make_document()
    at = timezone.now()
    lost = document_mark_reported_lost(actor=Actor.system("tests"), document_id=document.pk, at=at)
    lost.refresh_from_db()
    assert lost.status == DocumentStatus.REPORTED_LOST
    assert lost.reported_lost_at == at
    assert not lost.is_valid


@pytest.mark.parametrize("status", [DocumentStatus.REPORTED_LOST, DocumentStatus.EXPIRED])
def test_only_a_valid_document_can_be_reported_lost(status: str) -> None:
    document = make_lost_document() if status == DocumentStatus.REPORTED_LOST else make_document()
    if status == DocumentStatus.EXPIRED:
        document_expire_due(today=dt.date(2031, 1, 1))
    _refused(
        errors.DOCUMENT_NOT_VALID,
        lambda: document_mark_reported_lost(
            actor=Actor.system("tests"), document_id=document.pk, at=timezone.now()
        ),
    )


def test_reporting_a_loss_needs_an_aware_time() -> None:
    document = make_document()
    with pytest.raises(ValueError, match="timezone-aware"):
        document_mark_reported_lost(
            actor=Actor.system("tests"),
            document_id=document.pk,
            at=dt.datetime(2025, 1, 1),  # noqa: DTZ001
        )


def test_an_unknown_document_is_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        document_mark_reported_lost(actor=Actor.system("tests"), document_id=987654, at=timezone.now())
    assert caught.value.code == errors.DOCUMENT_NOT_FOUND


# --- document_reissue ----------------------------------------------------------------------------


def test_reissue_links_a_new_version_and_replaces_the_old_one() -> None:
    lost = make_lost_document()
    new = _reissue(lost, issuing_office=make_office())
    lost.refresh_from_db()
    assert lost.status == DocumentStatus.REPLACED
    assert lost.reported_lost_at is not None
    assert new.status == DocumentStatus.VALID
    assert new.version == 2
    assert new.replaces == lost
    assert lost.replaced_by == new
    assert new.serial_number != lost.serial_number
    assert (new.holder_id, new.kind) == (lost.holder_id, lost.kind)


def test_every_version_stays_linked_through_repeated_losses() -> None:
    current = make_document()
    versions = [current]
    for _ in range(3):
        document_mark_reported_lost(actor=Actor.system("tests"), document_id=current.pk, at=timezone.now())
        current = _reissue(current)
        versions.append(current)
    stored = list(Document.objects.filter(holder=current.holder).order_by("version"))
    assert [document.version for document in stored] == [1, 2, 3, 4]
    assert [document.status for document in stored] == ["replaced", "replaced", "replaced", "valid"]
    assert all(later.replaces_id == earlier.pk for earlier, later in itertools.pairwise(stored))
    assert all(document.reported_lost_at for document in stored[:3])
    assert len({document.serial_number for document in stored}) == 4


def test_a_lost_document_is_never_reissued_twice() -> None:
    lost = make_lost_document()
    _reissue(lost)
    _refused(errors.DOCUMENT_ALREADY_REPLACED, lambda: _reissue(lost))
    assert Document.objects.filter(holder=lost.holder).count() == 2


def test_a_valid_document_is_not_reissued() -> None:
    document = make_document()
    _refused(errors.DOCUMENT_STILL_VALID, lambda: _reissue(document))


def test_an_expired_document_is_renewed_by_reissue() -> None:
    document = make_document(expiry_date=dt.date(2024, 1, 1))
    assert document_expire_due(today=dt.date(2024, 6, 1)) == 1
    renewed = _reissue(document)
    document.refresh_from_db()
    assert document.status == DocumentStatus.REPLACED
    assert document.reported_lost_at is None
    assert renewed.version == 2
    assert renewed.is_valid


def test_a_cancelled_document_is_not_reissued() -> None:
    document = make_document()
    Document.objects.filter(pk=document.pk).update(status=DocumentStatus.CANCELLED)
    _refused(errors.DOCUMENT_NOT_REISSUABLE, lambda: _reissue(document))


def test_an_id_card_is_not_reissued_for_a_deceased_person() -> None:
    lost = make_lost_document()
    Person.objects.filter(pk=lost.holder_id).update(date_of_death=dt.date(2025, 1, 1))
    _refused(errors.HOLDER_DECEASED, lambda: _reissue(lost))


def test_a_refused_reissue_changes_nothing() -> None:
    lost = make_lost_document()
    error = _refused(errors.DOCUMENT_INVALID, lambda: _reissue(lost, expiry_date=dt.date(2020, 1, 1)))
    assert error.field == "expiry_date"
    lost.refresh_from_db()
    assert lost.status == DocumentStatus.REPORTED_LOST
    assert Document.objects.count() == 1


def test_reissuing_an_unknown_document_is_not_found() -> None:
    office = make_office()
    with pytest.raises(NotFound):
        document_reissue(
            actor=Actor.system("tests"),
            document_id=987654,
            issuing_office=office,
            issue_date=dt.date(2025, 1, 1),
            expiry_date=None,
        )


# --- document_expire_due -------------------------------------------------------------------------


def test_expire_due_marks_only_valid_documents_past_their_expiry() -> None:
    office = make_office()
    due = make_document(office=office, expiry_date=dt.date(2025, 6, 30))
    last_day = make_document(office=office, expiry_date=dt.date(2025, 7, 1))
    lost = make_lost_document(office=office, expiry_date=dt.date(2025, 6, 1))
    certificate = make_document(office=office, kind=DocumentKind.BIRTH_CERTIFICATE)

    assert document_expire_due(today=dt.date(2025, 7, 1)) == 1
    assert document_expire_due(today=dt.date(2025, 7, 1)) == 0

    statuses = {d.pk: d.status for d in Document.objects.all()}
    assert statuses[due.pk] == DocumentStatus.EXPIRED
    assert statuses[last_day.pk] == DocumentStatus.VALID  # valid through its expiry date
    assert statuses[lost.pk] == DocumentStatus.REPORTED_LOST
    assert statuses[certificate.pk] == DocumentStatus.VALID


def test_issue_needs_an_unused_holder_kind_even_for_residents() -> None:
    resident = make_resident(id_number=next_id_number(resident=True))
    card = document_issue(
        holder=resident,
        kind=DocumentKind.NATIONAL_ID_CARD,
        issuing_office=make_office(),
        issue_date=dt.date(2024, 1, 1),
        expiry_date=dt.date(2026, 1, 1),
    )
    assert card.holder == resident


def test_national_address_set_locks_and_replaces_for_the_same_person_only() -> None:
    first = make_address()
    other = make_address()
    national_address_set(
        actor=Actor.system("tests"),
        person=first.person,
        building_number="1111",
        street_ar="شارع العليا",
        street_en="Olaya Street",
        district_ar="العليا",
        district_en="Al Olaya",
        city_ar="الرياض",
        city_en="Riyadh",
        region="riyadh",
        postal_code="12211",
        additional_number="1234",
        short_address="RAAA1111",
    )
    other.refresh_from_db()
    assert other.is_primary


# --- person_change_mobile ------------------------------------------------------------------------


def test_person_change_mobile_accepts_the_number_as_typed() -> None:
    person = make_person(mobile="0501234567")
    changed = person_change_mobile(actor=Actor.system("tests"), person_id=person.pk, mobile="٠٥٥ ٩٨٧ ٦٥٤٣")
    assert changed.mobile == "+966559876543"
    person.refresh_from_db()
    assert person.mobile == "+966559876543"
    assert person.updated_at >= person.created_at


@pytest.mark.parametrize("typed", ["0112345678", "", "+447700900123"])
def test_person_change_mobile_refuses_what_is_not_a_saudi_mobile(typed: str) -> None:
    person = make_person(mobile="0501234567")
    failure = _refused(
        errors.PERSON_INVALID,
        lambda: person_change_mobile(actor=Actor.system("tests"), person_id=person.pk, mobile=typed),
    )
    assert failure.field == "mobile"
    person.refresh_from_db()
    assert person.mobile == "+966501234567"


def test_person_change_mobile_of_an_unknown_person_is_not_found() -> None:
    with pytest.raises(NotFound):
        person_change_mobile(actor=Actor.system("tests"), person_id=0, mobile="0501234567")
