"""Reads of the register: a person by ID number, a document's chain of versions."""

from __future__ import annotations

import pytest
from django.utils import timezone

from hawiya.audit.actors import Actor
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.registry import errors
from hawiya.registry.models import Document
from hawiya.registry.selectors import document_history, person_get_by_id_number
from hawiya.registry.services import document_mark_reported_lost, document_reissue

from .factories import make_document, make_office, make_person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_a_person_is_found_by_id_number_typed_in_eastern_digits() -> None:
    person = make_person(id_number="1058529940")
    assert person_get_by_id_number("١٠٥٨-٥٢٩-٩٤٠") == person


def test_an_impossible_id_number_is_refused_with_the_reason() -> None:
    with pytest.raises(ApplicationError) as caught:
        person_get_by_id_number("1058529941")
    assert caught.value.code == errors.ID_NUMBER_INVALID
    assert caught.value.field == "id_number"
    assert str(caught.value) == "This is not a valid ID number: check the digits and try again."
    assert not isinstance(caught.value, NotFound)


def test_a_valid_number_not_in_the_register_is_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        person_get_by_id_number("1001244019")
    assert caught.value.code == errors.PERSON_NOT_FOUND


def _chain_of(length: int) -> list[Document]:
    office = make_office()
    current = make_document(office=office)
    chain = [current]
    for _ in range(length - 1):
        document_mark_reported_lost(actor=Actor.system("tests"), document_id=current.pk, at=timezone.now())
        current = document_reissue(
            actor=Actor.system("tests"),
            document_id=current.pk,
            issuing_office=office,
            issue_date=current.issue_date,
            expiry_date=current.expiry_date,
        )
        chain.append(current)
    return chain


def test_history_lists_every_version_oldest_first_from_any_version() -> None:
    chain = _chain_of(4)
    expected = [document.pk for document in chain]
    for document in chain:
        assert [version.pk for version in document_history(document)] == expected


def test_history_of_a_first_issue_is_itself() -> None:
    document = make_document()
    assert document_history(document) == [document]


def test_history_takes_one_query_however_long_the_chain(django_assert_num_queries: object) -> None:
    chain = _chain_of(5)
    other_kind_same_holder = make_document(holder=chain[0].holder, kind="birth_certificate")
    with django_assert_num_queries(1):  # type: ignore[operator]
        history = document_history(chain[2])
        offices = [str(version.issuing_office) for version in history]
    assert len(offices) == 5
    assert other_kind_same_holder not in history
