"""The register's rules that the database itself enforces, whoever writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from hawiya.registry.models import (
    CivilService,
    Document,
    DocumentKind,
    DocumentStatus,
    NationalAddress,
    Person,
)

from .factories import make_address, make_document, make_lost_document, make_person, make_resident

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _refused_by_database(write: Callable[[], object]) -> None:
    # A CHECK or UNIQUE constraint (IntegrityError), or on PostgreSQL a value longer than the
    # column (DataError; SQLite does not enforce lengths, so the shape constraint catches it).
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        write()


def test_database_refuses_valid_status_on_a_document_reported_lost() -> None:
    lost = make_lost_document()
    _refused_by_database(lambda: Document.objects.filter(pk=lost.pk).update(status=DocumentStatus.VALID))
    lost.refresh_from_db()
    assert lost.status == DocumentStatus.REPORTED_LOST


def test_database_refuses_a_loss_report_time_on_a_valid_document() -> None:
    document = make_document()
    _refused_by_database(
        lambda: Document.objects.filter(pk=document.pk).update(reported_lost_at=timezone.now())
    )


def test_database_refuses_reported_lost_without_a_report_time() -> None:
    document = make_document()
    _refused_by_database(
        lambda: Document.objects.filter(pk=document.pk).update(status=DocumentStatus.REPORTED_LOST)
    )


def test_database_allows_only_one_valid_document_of_a_kind_per_holder() -> None:
    first = make_document()
    _refused_by_database(
        lambda: Document.objects.create(
            kind=first.kind,
            holder=first.holder,
            serial_number="N000000001",
            version=2,
            issue_date=dt.date(2021, 1, 1),
            expiry_date=dt.date(2031, 1, 1),
            issuing_office=first.issuing_office,
        )
    )


def test_a_holder_may_hold_one_valid_document_of_each_kind() -> None:
    card = make_document()
    certificate = make_document(
        holder=card.holder, office=card.issuing_office, kind=DocumentKind.BIRTH_CERTIFICATE
    )
    assert card.is_valid
    assert certificate.is_valid


def test_database_refuses_two_documents_with_the_same_version() -> None:
    lost = make_lost_document()
    Document.objects.filter(pk=lost.pk).update(status=DocumentStatus.REPLACED)
    _refused_by_database(
        lambda: Document.objects.create(
            kind=lost.kind,
            holder=lost.holder,
            serial_number="N000000002",
            version=1,
            issue_date=dt.date(2021, 1, 1),
            expiry_date=dt.date(2031, 1, 1),
            issuing_office=lost.issuing_office,
        )
    )


def test_database_refuses_a_second_replacement_of_the_same_document() -> None:
    lost = make_lost_document()
    Document.objects.filter(pk=lost.pk).update(status=DocumentStatus.REPLACED)
    values = {
        "kind": lost.kind,
        "holder": lost.holder,
        "issue_date": dt.date(2021, 1, 1),
        "expiry_date": dt.date(2031, 1, 1),
        "issuing_office": lost.issuing_office,
        "replaces": lost,
        "status": DocumentStatus.CANCELLED,
    }
    Document.objects.create(serial_number="N000000003", version=2, **values)
    _refused_by_database(lambda: Document.objects.create(serial_number="N000000004", version=3, **values))


def test_database_refuses_a_badly_shaped_serial_number() -> None:
    document = make_document()
    _refused_by_database(lambda: Document.objects.filter(pk=document.pk).update(serial_number="12345"))


def test_database_refuses_an_id_card_without_expiry() -> None:
    document = make_document()
    _refused_by_database(lambda: Document.objects.filter(pk=document.pk).update(expiry_date=None))


def test_database_refuses_expiry_before_issue() -> None:
    document = make_document()
    _refused_by_database(
        lambda: Document.objects.filter(pk=document.pk).update(expiry_date=document.issue_date)
    )


def test_database_refuses_a_date_of_death_before_birth() -> None:
    person = make_person(date_of_birth=dt.date(1990, 5, 1))
    _refused_by_database(
        lambda: Person.objects.filter(pk=person.pk).update(date_of_death=dt.date(1990, 4, 30))
    )
    Person.objects.filter(pk=person.pk).update(date_of_death=dt.date(1990, 5, 1))


def test_model_validation_explains_a_date_of_death_before_birth() -> None:
    person = make_person(date_of_birth=dt.date(1990, 5, 1))
    person.date_of_death = dt.date(1980, 1, 1)
    with pytest.raises(ValidationError) as caught:
        person.full_clean()
    assert caught.value.message_dict == {
        "date_of_death": ["The date of death cannot be before the date of birth."]
    }


@pytest.mark.parametrize("bad_number", ["3058529940", "105852994", "10585299400", "١٠٥٨٥٢٩٩٤٠", "10585X9940"])
def test_database_refuses_a_badly_shaped_id_number(bad_number: str) -> None:
    person = make_person()
    _refused_by_database(lambda: Person.objects.filter(pk=person.pk).update(id_number=bad_number))


def test_database_refuses_a_non_saudi_citizen_and_a_saudi_resident() -> None:
    citizen = make_person()
    _refused_by_database(lambda: Person.objects.filter(pk=citizen.pk).update(nationality="EG"))
    resident = make_resident()
    _refused_by_database(lambda: Person.objects.filter(pk=resident.pk).update(nationality="SA"))


def test_database_refuses_a_mobile_not_in_e164() -> None:
    person = make_person()
    _refused_by_database(lambda: Person.objects.filter(pk=person.pk).update(mobile="0501234567"))


def test_database_refuses_two_primary_national_addresses() -> None:
    address = make_address()
    _refused_by_database(
        lambda: NationalAddress.objects.create(
            **{
                field.name: getattr(address, field.name)
                for field in NationalAddress._meta.concrete_fields
                if field.name not in {"id", "created_at", "updated_at"}
            }
        )
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("building_number", "29"),
        ("postal_code", "02345"),
        ("additional_number", "85a8"),
        ("short_address", "rrrd2929"),
    ],
)
def test_database_refuses_badly_shaped_address_codes(field: str, value: str) -> None:
    address = make_address()
    _refused_by_database(lambda: NationalAddress.objects.filter(pk=address.pk).update(**{field: value}))


def test_full_clean_reports_constraints_with_readable_messages() -> None:
    lost = make_lost_document()
    lost.status = DocumentStatus.VALID
    with pytest.raises(ValidationError) as caught:
        lost.full_clean()
    assert "A document reported lost can never become valid again." in caught.value.messages


def test_the_catalogue_of_civil_services_comes_with_the_migrations() -> None:
    codes = set(CivilService.objects.values_list("code", flat=True))
    assert {"national_id_card_replacement", "biometrics_capture", "family_record_replacement"} <= codes
