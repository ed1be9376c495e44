"""Who may report which document, and reading one's own reports."""

from __future__ import annotations

import datetime as dt

import pytest

from hawiya.core.errors import NotFound
from hawiya.losses.selectors import (
    REASON_CHILD,
    REASON_DECEASED_MEMBER,
    REASON_FAMILY_RECORD,
    REASON_OWN,
    loss_report_get_for_person,
    loss_reports_for_person,
    reportable_documents_for,
)
from hawiya.registry.models import DocumentKind, Person, Relation
from hawiya.registry.tests.factories import make_document, make_family_record, make_lost_document, make_person

from .factories import make_id_card, make_report, make_reporter

pytestmark = pytest.mark.django_db


def kinds_and_reasons(person: Person) -> list[tuple[str, int, str]]:
    return [
        (entry.document.kind, entry.holder.pk, entry.reason)
        for entry in reportable_documents_for(person=person)
    ]


def test_a_person_may_report_their_own_valid_id_card_and_birth_certificate():
    person = make_reporter()
    card = make_id_card(person)
    birth = make_document(holder=person, kind=DocumentKind.BIRTH_CERTIFICATE)

    entries = reportable_documents_for(person=person)

    assert [(e.document.pk, e.reason) for e in entries] == [(card.pk, REASON_OWN), (birth.pk, REASON_OWN)]
    assert entries[0].holder == person


def test_a_document_already_reported_lost_is_not_offered_again():
    person = make_reporter()
    make_lost_document(holder=person)

    assert reportable_documents_for(person=person) == []
    assert [e.is_valid for e in reportable_documents_for(person=person, include_not_valid=True)] == [False]


def test_the_head_of_family_may_report_the_record_the_childrens_birth_certificates_and_a_death_certificate():
    head = make_reporter()
    son = make_person(first_name_en="Fahad", date_of_birth=dt.date(2015, 1, 1), mobile="")
    daughter = make_person(sex="F", first_name_en="Nora", date_of_birth=dt.date(2017, 1, 1), mobile="")
    spouse = make_person(sex="F", first_name_en="Sara", mobile="")
    father = make_person(
        first_name_en="Saad", date_of_birth=dt.date(1940, 1, 1), date_of_death=dt.date(2024, 3, 1), mobile=""
    )
    record = make_family_record(
        head=head,
        members=[
            (son, Relation.SON),
            (daughter, Relation.DAUGHTER),
            (spouse, Relation.SPOUSE),
            (father, Relation.FATHER),
        ],
    )
    make_document(holder=head, kind=DocumentKind.FAMILY_RECORD, family_record=record)
    make_document(holder=son, kind=DocumentKind.BIRTH_CERTIFICATE, issue_date=dt.date(2015, 2, 1))
    make_document(holder=daughter, kind=DocumentKind.BIRTH_CERTIFICATE, issue_date=dt.date(2017, 2, 1))
    # Not the head's to report: the spouse's own ID card and birth certificate.
    make_id_card(spouse)
    make_document(holder=spouse, kind=DocumentKind.BIRTH_CERTIFICATE)
    make_document(holder=father, kind=DocumentKind.DEATH_CERTIFICATE, issue_date=dt.date(2024, 3, 2))

    assert kinds_and_reasons(head) == [
        (DocumentKind.FAMILY_RECORD, head.pk, REASON_FAMILY_RECORD),
        (DocumentKind.BIRTH_CERTIFICATE, son.pk, REASON_CHILD),
        (DocumentKind.BIRTH_CERTIFICATE, daughter.pk, REASON_CHILD),
        (DocumentKind.DEATH_CERTIFICATE, father.pk, REASON_DECEASED_MEMBER),
    ]


def test_a_member_who_is_not_head_of_the_family_sees_only_their_own_documents():
    head = make_reporter()
    spouse = make_reporter(sex="F", first_name_en="Sara")
    child = make_person(first_name_en="Fahad", date_of_birth=dt.date(2015, 1, 1), mobile="")
    record = make_family_record(head=head, members=[(spouse, Relation.SPOUSE), (child, Relation.SON)])
    make_document(holder=head, kind=DocumentKind.FAMILY_RECORD, family_record=record)
    make_document(holder=child, kind=DocumentKind.BIRTH_CERTIFICATE, issue_date=dt.date(2015, 2, 1))
    own = make_id_card(spouse)

    assert [e.document.pk for e in reportable_documents_for(person=spouse)] == [own.pk]


def test_a_report_is_found_only_by_its_reporter():
    owner, other = make_reporter(), make_reporter()
    report = make_report(owner, [make_id_card(owner)])

    found = loss_report_get_for_person(person=owner, reference=f" {report.reference.lower()} ")

    assert found.pk == report.pk
    assert [item.document.holder for item in found.items.all()] == [owner]
    with pytest.raises(NotFound):
        loss_report_get_for_person(person=other, reference=report.reference)
    for reference in ("LR00000000", "nonsense", "", "LR" + "9" * 40):
        with pytest.raises(NotFound):
            loss_report_get_for_person(person=owner, reference=reference)


def test_reports_are_listed_newest_first_for_their_reporter_only():
    owner, other = make_reporter(), make_reporter()
    first = make_report(owner, [make_id_card(owner)])
    second = make_report(owner, [make_document(holder=owner, kind=DocumentKind.BIRTH_CERTIFICATE)])
    make_report(other, [make_id_card(other)])

    assert [r.pk for r in loss_reports_for_person(person=owner)] == [second.pk, first.pk]


def test_the_head_of_family_may_not_report_an_adult_childs_birth_certificate():
    head = make_reporter(date_of_birth=dt.date(1960, 1, 1))
    adult_son = make_reporter(first_name_en="Khalid", date_of_birth=dt.date(1990, 1, 1))
    minor = make_person(first_name_en="Fahad", date_of_birth=dt.date(2015, 1, 1), mobile="")
    make_family_record(head=head, members=[(adult_son, Relation.SON), (minor, Relation.SON)])
    adult_birth = make_document(holder=adult_son, kind=DocumentKind.BIRTH_CERTIFICATE)
    minor_birth = make_document(
        holder=minor, kind=DocumentKind.BIRTH_CERTIFICATE, issue_date=dt.date(2015, 2, 1)
    )

    listed = [e.document.pk for e in reportable_documents_for(person=head, include_not_valid=True)]

    assert listed == [minor_birth.pk]
    # The adult son reports his own.
    assert [e.document.pk for e in reportable_documents_for(person=adult_son)] == [adult_birth.pk]


def test_a_child_is_the_heads_to_report_until_the_eighteenth_birthday():
    head = make_reporter()
    child = make_person(first_name_en="Fahad", date_of_birth=dt.date(2008, 3, 10), mobile="")
    make_family_record(head=head, members=[(child, Relation.DAUGHTER)])
    birth = make_document(holder=child, kind=DocumentKind.BIRTH_CERTIFICATE, issue_date=dt.date(2008, 4, 1))

    def listed(day: dt.date) -> list[int]:
        return [e.document.pk for e in reportable_documents_for(person=head, today=day)]

    assert listed(dt.date(2026, 3, 9)) == [birth.pk]
    assert listed(dt.date(2026, 3, 10)) == []
