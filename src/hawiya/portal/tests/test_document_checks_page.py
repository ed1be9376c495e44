"""Who checked my documents: the parties that checked the signed-in person's own documents, with
the document (kind, masked serial), the time in both calendars and the answer, in Arabic and
English; nobody else's checks, and nothing for checks that found no document."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.document_checks.services import StatusQuery, document_status_check
from hawiya.identity.models import RelyingParty, User
from hawiya.identity.services.relying_parties import party_register
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.registry.models import Document
from hawiya.registry.tests.factories import make_document, make_lost_document

from .html import find_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    # Accounts' passwords with a fast hasher; client secrets keep theirs (CLIENT_SECRET_HASHER).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 1000
    cache.clear()


def _party(name_en: str, name_ar: str) -> RelyingParty:
    return party_register(
        actor=Actor.system("tests"),
        name_ar=name_ar,
        name_en=name_en,
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=["openid", "document_status"],
        token_endpoint_auth_method="client_secret_basic",
    ).party


def _check(party: RelyingParty, document: Document, **overrides: Any) -> str:
    query = {
        "id_number": document.holder.id_number,
        "kind": document.kind,
        "serial_number": document.serial_number,
        **overrides,
    }
    answers = document_status_check(
        actor=Actor.relying_party(party.application.client_id), party=party, queries=[StatusQuery(**query)]
    )
    return answers[0].status


def _url(language: str = "en") -> str:
    with translation.override(language):
        return reverse("portal:account-document-checks")


def _cards(client: Client, language: str = "en", **params: Any) -> list[Any]:
    response = client.get(_url(language), params)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    return find_all(response.content.decode(), "li", "hw-account-card")


@pytest.fixture
def user() -> User:
    return make_account()


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_page_lists_party_document_time_and_answer(client: Client, user: User, language: str) -> None:
    person = person_of(user)
    card = make_document(holder=person)
    bank = _party("Example Bank", "بنك المثال")
    agency = _party("Housing Agency", "وزارة الإسكان")
    _check(bank, card)
    lost = make_lost_document(holder=person, kind="birth_certificate")
    _check(agency, lost)
    client.force_login(user)

    cards = _cards(client, language)

    assert len(cards) == 2
    newest, older = cards[0].text, cards[1].text
    masked = card.serial_number[0] + "•••••" + card.serial_number[-4:]
    assert masked in older
    assert card.serial_number not in older
    if language == "en":
        assert "Housing Agency" in newest
        assert "Birth certificate" in newest
        assert "Reported lost" in newest
        assert "Example Bank" in older
        assert "National ID card" in older
        assert "Valid" in older
        assert " AH) at " in older
    else:
        assert "وزارة الإسكان" in newest
        assert "بنك المثال" in older
        assert "هـ" in older
        assert "الساعة" in older
        assert "Example Bank" not in older


def test_only_the_persons_own_documents_are_shown(client: Client, user: User) -> None:
    bank = _party("Example Bank", "بنك المثال")
    own = make_document(holder=person_of(user))
    stranger = make_account()
    theirs = make_document(holder=person_of(stranger))
    _check(bank, own)
    _check(bank, theirs)
    _check(bank, theirs)
    # Not found: a check naming this person's ID number with a wrong serial names no document.
    assert _check(bank, own, serial_number="N000000001") == "not_found"
    client.force_login(user)

    cards = _cards(client)

    assert len(cards) == 1
    assert own.serial_number[-4:] in cards[0].text
    client.force_login(stranger)
    assert len(_cards(client)) == 2


def test_without_checks_the_page_says_so(client: Client, user: User) -> None:
    client.force_login(user)
    response = client.get(_url())
    assert "No bank or agency has checked your documents with Hawiya yet." in response.content.decode()
    assert find_all(response.content.decode(), "li", "hw-account-card") == []


def test_paginated_by_25(client: Client, user: User) -> None:
    bank = _party("Example Bank", "بنك المثال")
    card = make_document(holder=person_of(user))
    document_status_check(
        actor=Actor.relying_party(bank.application.client_id),
        party=bank,
        queries=[StatusQuery(id_number=card.holder.id_number, kind=card.kind, version=1)] * 27,
    )
    client.force_login(user)
    assert len(_cards(client)) == 25
    assert len(_cards(client, page="2")) == 2
    assert client.get(_url(), {"page": "x'; drop"}).status_code == 200
    first = client.get(_url()).content.decode()
    second = client.get(_url(), {"page": "2"}).content.decode()
    assert 'rel="next">Older checks</a>' in first
    assert 'rel="prev"' not in first
    assert 'rel="prev">Newer checks</a>' in second
    assert "Page 2 of 2" in second


def test_the_account_page_links_to_it(client: Client, user: User) -> None:
    client.force_login(user)
    with translation.override("en"):
        account = reverse("portal:account")
    assert _url() in client.get(account).content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    assert client.get(_url()).status_code == 302
