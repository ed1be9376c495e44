"""Who may replace what, the pre-checks that block a request, and when delivery is possible."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from hawiya.registry.models import CivilFine, DocumentKind, Relation
from hawiya.registry.selectors import unpaid_fines_for
from hawiya.registry.tests.factories import make_address, make_family_record, make_person
from hawiya.replacements import errors
from hawiya.replacements.blockers import Blocker, delivery_allowed, replacement_blockers
from hawiya.replacements.models import ENDED_STATE_VALUES, ENDED_STATES
from hawiya.replacements.selectors import replaceable_documents_for

from .factories import TODAY, applicant_with_address, lost_document, lost_id_card, service_office, submit

pytestmark = pytest.mark.django_db


def codes(blockers: list[Blocker]) -> list[str]:
    return [blocker.code for blocker in blockers]


def test_nothing_blocks_a_holder_replacing_their_own_lost_card():
    document = lost_id_card(holder=applicant_with_address())
    assert (
        replacement_blockers(applicant=document.holder, document=document, method="delivery", today=TODAY)
        == []
    )


def test_another_open_request_blocks_and_names_it():
    document = lost_id_card(holder=applicant_with_address())
    first = submit(applicant=document.holder, document=document)
    blockers = replacement_blockers(applicant=document.holder, document=document, today=TODAY)
    assert codes(blockers) == [errors.BLOCKER_OPEN_REQUEST]
    assert blockers[0].reference == first.reference
    assert first.reference in blockers[0].message
    assert blockers[0].how_to_fix


def test_unpaid_fines_block_and_paid_ones_do_not():
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    fine = CivilFine.objects.create(
        person=person,
        amount_sar=Decimal(100),
        reason_ar="تأخير تجديد",
        reason_en="Late renewal",
        issued_on=TODAY,
    )
    assert unpaid_fines_for(person=person) == [fine]
    blockers = replacement_blockers(applicant=person, document=document, today=TODAY)
    assert codes(blockers) == [errors.BLOCKER_UNPAID_FINES]
    assert "100" in blockers[0].message
    fine.paid_at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    fine.save()
    assert unpaid_fines_for(person=person) == []
    assert replacement_blockers(applicant=person, document=document, today=TODAY) == []


@pytest.mark.parametrize(
    ("language", "listed"), [("ar", "تأخير تجديد، عدم تحديث"), ("en", "Late renewal, Update not made")]
)
def test_several_fines_are_listed_with_the_comma_of_the_language(language: str, listed: str):
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    for reason_ar, reason_en in (("تأخير تجديد", "Late renewal"), ("عدم تحديث", "Update not made")):
        CivilFine.objects.create(
            person=person, amount_sar=Decimal(100), reason_ar=reason_ar, reason_en=reason_en, issued_on=TODAY
        )
    with translation.override(language):
        blockers = replacement_blockers(applicant=person, document=document, today=TODAY)
    assert listed in blockers[0].message


def test_no_national_address_blocks_delivery_only():
    person = make_person(biometrics_captured_on=TODAY - dt.timedelta(days=100))
    document = lost_id_card(holder=person)
    assert replacement_blockers(applicant=person, document=document, method="collection", today=TODAY) == []
    assert codes(
        replacement_blockers(applicant=person, document=document, method="delivery", today=TODAY)
    ) == [errors.BLOCKER_NO_NATIONAL_ADDRESS]


def test_a_deceased_holder_blocks_their_birth_certificate():
    head = make_person()
    late = make_person(date_of_death=dt.date(2025, 1, 1))
    make_family_record(head=head, members=[(late, Relation.SON)])
    birth = lost_document(holder=late, kind=DocumentKind.BIRTH_CERTIFICATE)
    assert errors.BLOCKER_HOLDER_DECEASED in codes(
        replacement_blockers(applicant=head, document=birth, today=TODAY)
    )


def test_someone_else_is_not_entitled():
    document = lost_id_card()
    stranger = applicant_with_address()
    assert codes(replacement_blockers(applicant=stranger, document=document, today=TODAY)) == [
        errors.BLOCKER_NOT_ENTITLED
    ]


def test_a_valid_document_is_not_replaceable():
    from hawiya.registry.tests.factories import make_document

    document = make_document()
    assert codes(replacement_blockers(applicant=document.holder, document=document, today=TODAY)) == [
        errors.BLOCKER_NOT_REPORTED_LOST
    ]


def test_head_of_family_may_replace_the_record_minor_childrens_certificates_and_a_death_certificate():
    head = applicant_with_address()
    minor = make_person(date_of_birth=dt.date(2015, 1, 1))
    adult = make_person(date_of_birth=dt.date(2000, 1, 1))
    spouse = make_person(sex="F", first_name_en="Sara", first_name_ar="سارة")
    late = make_person(date_of_death=dt.date(2025, 1, 1))
    record = make_family_record(
        head=head,
        members=[
            (minor, Relation.SON),
            (adult, Relation.DAUGHTER),
            (spouse, Relation.SPOUSE),
            (late, Relation.FATHER),
        ],
    )
    office = service_office()
    family_record = lost_document(
        holder=head, kind=DocumentKind.FAMILY_RECORD, family_record=record, office=office
    )
    minor_birth = lost_document(holder=minor, kind=DocumentKind.BIRTH_CERTIFICATE, office=office)
    adult_birth = lost_document(holder=adult, kind=DocumentKind.BIRTH_CERTIFICATE, office=office)
    spouse_card = lost_id_card(holder=spouse, office=office)
    death = lost_document(holder=late, kind=DocumentKind.DEATH_CERTIFICATE, office=office)
    own = lost_id_card(holder=head, office=office)
    found = {
        item.document.pk: item.entitlement for item in replaceable_documents_for(person=head, today=TODAY)
    }
    assert found == {
        family_record.pk: "family_record",
        minor_birth.pk: "minor_child",
        death.pk: "deceased_member",
        own.pk: "own",
    }
    for document in (adult_birth, spouse_card):
        assert errors.BLOCKER_NOT_ENTITLED in codes(
            replacement_blockers(applicant=head, document=document, today=TODAY)
        )
    # The spouse replaces her own card; the adult daughter her own birth certificate.
    assert [item.document for item in replaceable_documents_for(person=spouse, today=TODAY)] == [spouse_card]
    assert [item.document for item in replaceable_documents_for(person=adult, today=TODAY)] == [adult_birth]


def test_a_document_with_an_open_request_is_listed_with_it():
    document = lost_id_card(holder=applicant_with_address())
    replacement = submit(applicant=document.holder, document=document)
    [item] = replaceable_documents_for(person=document.holder, today=TODAY)
    assert item.open_replacement == replacement


def _years_months_ago(years: int, months: int) -> dt.date:
    month_index = TODAY.year * 12 + TODAY.month - 1 - (years * 12 + months)
    return dt.date(month_index // 12, month_index % 12 + 1, TODAY.day)


def test_id_card_delivery_needs_biometrics_from_the_last_5_years():
    recent = applicant_with_address(biometrics_captured_on=_years_months_ago(4, 11))
    old = applicant_with_address(biometrics_captured_on=_years_months_ago(5, 1))
    never = applicant_with_address(biometrics_captured_on=None)
    assert delivery_allowed(document=lost_id_card(holder=recent), today=TODAY) == (True, "")
    for person in (old, never):
        allowed, reason = delivery_allowed(document=lost_id_card(holder=person), today=TODAY)
        assert not allowed
        assert "5" in reason


def test_family_record_is_collection_only_and_certificates_may_be_delivered():
    head = applicant_with_address()
    record = make_family_record(head=head)
    family_record = lost_document(holder=head, kind=DocumentKind.FAMILY_RECORD, family_record=record)
    birth = lost_document(holder=head, kind=DocumentKind.BIRTH_CERTIFICATE)
    assert delivery_allowed(document=family_record, today=TODAY)[0] is False
    assert delivery_allowed(document=birth, today=TODAY) == (True, "")


def test_delivery_needs_a_national_address():
    person = make_person(biometrics_captured_on=TODAY)
    document = lost_id_card(holder=person)
    allowed, reason = delivery_allowed(document=document, today=TODAY)
    assert not allowed
    assert reason
    make_address(person)
    assert delivery_allowed(document=document, today=TODAY) == (True, "")


def test_ended_states_have_one_fixed_order_for_the_constraint():
    assert set(ENDED_STATE_VALUES) == {state.value for state in ENDED_STATES}


def test_demo_person_with_an_expired_card_has_one_unpaid_late_renewal_fine():
    from hawiya.registry.models import Person
    from hawiya.registry.population.parameters import POPULATION_AS_OF
    from hawiya.registry.population.writer import seed_population

    seed_population(persons=0, seed=1, demo=True)
    person = Person.objects.get(id_number="1000000131")
    [fine] = unpaid_fines_for(person=person)
    assert fine.amount_sar == Decimal(100)
    assert fine.reason_en == "Late renewal of the national ID card"
    assert fine.issued_on == POPULATION_AS_OF - dt.timedelta(days=60)
    assert CivilFine.objects.count() == 1
