"""What one document-status call costs the database, pinned: the token with its party in one
read, the documents in one read, the records in one insert, whatever the batch's size; no sort
nobody needs (bench/document_status.py measures the endpoint against a bare view)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hawiya.registry.tests.factories import make_document, make_person

from .test_document_status_api import BATCH_URL, about, check, register, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def party_token(client: Client) -> tuple[Any, str]:
    party, secret = register()
    return party, token_for(client, party, secret)


def statements(client: Client, token: str, body: Any, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        answer = check(client, token, body, url=url)
    assert answer.status_code == 200, answer.content
    # The transaction's own statements (a savepoint inside the test's transaction) aside.
    return [query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"].upper()]


TABLES = ("oauth2_provider_accesstoken", "registry_document", "document_checks_documentcheck")


def kinds(sql: list[str]) -> list[str]:
    """Each statement as its verb and the first of TABLES it names before any WHERE."""
    return [
        f"{statement.split()[0]} "
        + next((table for table in TABLES if f'"{table}"' in statement.split(" WHERE ")[0]), "?")
        for statement in sql
    ]


def test_one_check_is_three_statements_and_nothing_is_sorted(client: Client, party_token: Any) -> None:
    _party, token = party_token
    card = make_document(holder=make_person())
    check(client, token, about(card))  # the first call of a process may load what later ones reuse
    sql = statements(client, token, about(card), url="/api/v1/document-status")
    assert kinds(sql) == [
        "SELECT oauth2_provider_accesstoken",
        "SELECT registry_document",
        "INSERT document_checks_documentcheck",
    ]
    assert not [statement for statement in sql if "ORDER BY" in statement]


def test_a_batch_of_100_costs_what_one_check_costs(client: Client, party_token: Any) -> None:
    _party, token = party_token
    cards = [make_document(holder=make_person()) for _ in range(4)]
    body = {"documents": [about(cards[index % len(cards)]) for index in range(100)]}
    sql = statements(client, token, body, url=BATCH_URL)
    assert kinds(sql) == [
        "SELECT oauth2_provider_accesstoken",
        "SELECT registry_document",
        "INSERT document_checks_documentcheck",
    ]


def test_the_query_counts_hold_with_the_assertion_helper(
    client: Client, party_token: Any, django_assert_num_queries: Any
) -> None:
    _party, token = party_token
    card = make_document(holder=make_person())
    check(client, token, about(card))
    # Three statements and the transaction's savepoint and its release.
    with django_assert_num_queries(5):
        assert check(client, token, about(card)).status_code == 200
