"""document_status_check called directly: who may call it, and its cost per batch."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hawiya.audit.actors import Actor
from hawiya.core.errors import ApplicationError
from hawiya.document_checks.models import DocumentCheck
from hawiya.document_checks.services import StatusQuery, document_status_check
from hawiya.identity.models import RelyingParty
from hawiya.identity.services.relying_parties import party_register
from hawiya.registry.tests.factories import make_document

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 1000
    cache.clear()


def _party(scopes: list[str]) -> RelyingParty:
    return party_register(
        actor=Actor.system("tests"),
        name_ar="بنك المثال",
        name_en="Example Bank",
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=scopes,
        token_endpoint_auth_method="client_secret_basic",
    ).party


def _query(document: Any) -> StatusQuery:
    return StatusQuery(
        id_number=document.holder.id_number, kind=document.kind, serial_number=document.serial_number
    )


def test_only_a_party_allowed_the_scope_may_check() -> None:
    document = make_document()
    allowed = _party(["openid", "document_status"])
    not_allowed = _party(["openid", "profile"])
    for actor, party in (
        (Actor.citizen(1), allowed),
        (Actor.system("tests"), allowed),
        (Actor.relying_party(not_allowed.application.client_id), not_allowed),
    ):
        with pytest.raises(ApplicationError) as caught:
            document_status_check(actor=actor, party=party, queries=[_query(document)])
        assert caught.value.code == "document_checks_forbidden"
    assert not DocumentCheck.objects.exists()


def test_a_batch_reads_the_register_once_and_writes_its_records_at_once() -> None:
    party = _party(["openid", "document_status"])
    documents = [make_document() for _ in range(5)]
    actor = Actor.relying_party(party.application.client_id)
    with CaptureQueriesContext(connection) as queries:
        answers = document_status_check(
            actor=actor, party=party, queries=[_query(item) for item in documents]
        )
    assert [answer.status for answer in answers] == ["valid"] * 5
    statements = [query["sql"] for query in queries.captured_queries]
    assert len([sql for sql in statements if "registry_document" in sql and sql.startswith("SELECT")]) == 1
    assert len([sql for sql in statements if sql.startswith("INSERT")]) == 1
    assert DocumentCheck.objects.filter(party=party).count() == 5
