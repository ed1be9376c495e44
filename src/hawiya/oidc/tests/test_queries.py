"""What a code exchange and a userinfo call cost the database (bench/oidc.py measures their speed):
a deferred column read late, or a lookup the toolkit repeats, shows here as more queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hawiya.core.testing import page_queries
from hawiya.identity.signing_keys import active_signing_key
from hawiya.oidc.tests.conftest import HOST, make_flow, sign_in
from hawiya.registry.models import Person

pytestmark = pytest.mark.django_db


def _userinfo(token: str) -> dict[str, object]:
    # A client without the citizen's session: only the bearer token speaks.
    answer = Client().get("/oidc/userinfo/", headers={"host": HOST, "authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.content
    body: dict[str, object] = answer.json()
    return body


def test_userinfo_reads_the_token_party_and_person_in_one_query(
    client, party, citizen, django_assert_num_queries
):
    sign_in(client, citizen)
    flow = make_flow(client, party, scope="openid profile national_id birthdate phone")
    token = flow.tokens(flow.code_redirect())["access_token"]
    person = Person.objects.get(pk=citizen.person_id)
    with django_assert_num_queries(1):
        info = _userinfo(token)
    # Every claim came from that one query's columns.
    assert info["national_id"] == person.id_number
    assert info["name#ar"] == person.full_name_ar
    assert info["name#en"] == person.full_name_en
    assert info["birthdate"] == person.date_of_birth.isoformat()
    assert info["phone_number"] == person.mobile


def test_userinfo_with_the_address_adds_the_address_query(client, party, citizen, django_assert_num_queries):
    sign_in(client, citizen)
    flow = make_flow(client, party, scope="openid address")
    token = flow.tokens(flow.code_redirect())["access_token"]
    with django_assert_num_queries(2):
        info = _userinfo(token)
    assert isinstance(info["address"], dict)


def test_a_code_exchange_reads_the_code_once_and_writes_in_one_transaction(client, party, citizen):
    sign_in(client, citizen)
    flow = make_flow(client, party, scope="openid profile national_id")
    location = flow.code_redirect()
    active_signing_key()  # made at the first signature of a fresh database; here, already there
    # 1 of these is the test's: its party shares the citizen's test client, whose session cookie
    # the middleware reads (the account; the session's own read is left out by page_queries: it
    # comes from the cache or the table, core/session_store.py).
    with CaptureQueriesContext(connection) as captured:
        flow.tokens(location)
    statements = page_queries(captured)
    # The audit event: one INSERT on PostgreSQL (its id and hash taken in it); SQLite reads the
    # next id first (audit.services.audit_record).
    audit_id_read = 0 if connection.vendor == "postgresql" else 1
    assert len(statements) == 1 + 15 + audit_id_read, statements
    grant_reads = [sql for sql in statements if sql.startswith("SELECT") and "oauth2_provider_grant" in sql]
    assert len(grant_reads) == 1, grant_reads
    assert sum(sql.startswith("DELETE") and "oauth2_provider_grant" in sql for sql in statements) == 1


def test_the_parties_told_of_a_session_end_are_found_in_one_query_each(
    client, party, citizen, django_assert_num_queries
):
    """Every end of a citizen's session asks who to tell: back-channel logout and security signals
    each in one query (consents and tokens as subqueries), whatever the number of tokens."""
    from hawiya.identity.backchannel_logout import parties_to_tell
    from hawiya.identity.security_signals import SESSION_REVOKED, subscribed_parties

    sign_in(client, citizen)
    flow = make_flow(client, party, scope="openid profile")
    flow.tokens(flow.code_redirect())
    flow.tokens(flow.code_redirect())
    party.backchannel_logout_uri = "https://bank.example/bc"
    party.signals_endpoint = "https://bank.example/events"
    party.signals_events = [SESSION_REVOKED]
    party.save()
    with django_assert_num_queries(1):
        assert [found.pk for found in parties_to_tell(citizen)] == [party.pk]
    with django_assert_num_queries(1):
        assert [found.pk for found in subscribed_parties(citizen, SESSION_REVOKED)] == [party.pk]
