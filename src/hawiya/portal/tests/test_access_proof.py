"""Who accessed my data: the inclusion proof of a sealed entry, for the person it is about only."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit import merkle
from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.audit.services import audit_record, audit_seal
from hawiya.identity.models import User
from hawiya.identity.tests.factories import make_account, person_of

from .html import find_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_AUDIT_SIGNING_KEY = base64.b64encode(bytes(32)).decode()
    settings.HAWIYA_AUDIT_SEAL_SETTLE_SECONDS = 0
    cache.clear()


def _event(person_id: int, *, role: str = "officer", about: int | None = None) -> AuditEvent:
    with transaction.atomic():
        return audit_record(
            actor=Actor.staff(7, role=role, office_code="RUH-01", ip="192.0.2.7"),
            action="person.record_viewed",
            object_type="registry.person",
            object_id=person_id,
            detail={"person_id": person_id if about is None else about},
        )


def _proof_url(event_id: int, language: str = "en") -> str:
    with translation.override(language):
        return reverse("portal:account-access-proof", args=[event_id])


def _page(client: Client) -> str:
    with translation.override("en"):
        return client.get(reverse("portal:account-access-history")).content.decode()


@pytest.fixture
def user() -> User:
    return make_account()


def test_a_sealed_entry_links_to_its_proof_and_a_pending_one_does_not(client: Client, user: User) -> None:
    person = person_of(user)
    sealed = _event(person.pk)
    audit_seal()
    _event(person.pk)  # not sealed yet
    client.force_login(user)
    cards = find_all(_page(client), "li", "hw-account-card")
    assert len(cards) == 2
    assert _proof_url(sealed.pk) not in str(cards[0])
    assert _proof_url(sealed.pk) in _page(client)


def test_the_citizen_downloads_a_proof_that_verifies(client: Client, user: User) -> None:
    person = person_of(user)
    event = _event(person.pk)
    _event(person_of(make_account()).pk)
    audit_seal()
    client.force_login(user)
    response = client.get(_proof_url(event.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="hawiya-audit-proof-{event.pk}.json"'
    assert "no-store" in response["Cache-Control"]
    proof = json.loads(response.content)
    assert json.loads(proof["leaf"])["id"] == event.pk
    assert "user:7" not in response.content.decode()
    assert "192.0.2.7" not in response.content.decode()
    leaf = merkle.leaf_hash(proof["leaf"].encode())
    merkle.verify_inclusion(
        leaf,
        proof["leaf_index"],
        proof["tree_size"],
        [bytes.fromhex(node) for node in proof["audit_path"]],
        bytes.fromhex(proof["signed_tree_head"]["root_hash"]),
    )


def test_another_persons_entry_is_a_404(client: Client, user: User) -> None:
    other = person_of(make_account())
    theirs = _event(other.pk)
    child_entry = _event(person_of(user).pk, about=other.pk)  # object is theirs, entry about another
    own_citizen_event = _event(person_of(user).pk, role="citizen")
    audit_seal()
    client.force_login(user)
    for event_id in (theirs.pk, child_entry.pk, own_citizen_event.pk, 10**9):
        assert client.get(_proof_url(event_id)).status_code == 404, event_id


def test_a_pending_entry_is_a_404_until_sealed(client: Client, user: User) -> None:
    event = _event(person_of(user).pk)
    client.force_login(user)
    assert client.get(_proof_url(event.pk)).status_code == 404
    audit_seal()
    assert client.get(_proof_url(event.pk)).status_code == 200


def test_anonymous_visitors_get_no_proof(client: Client, user: User) -> None:
    event = _event(person_of(user).pk)
    audit_seal()
    response = client.get(_proof_url(event.pk))
    assert response.status_code == 302
    assert "leaf" not in response.content.decode()


def test_past_the_window_limit_a_citizen_gets_a_429_and_others_still_get_theirs(
    client: Client, user: User, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hawiya.portal import account_views

    monkeypatch.setattr(account_views, "ACCESS_PROOFS_PER_WINDOW", 3)
    event = _event(person_of(user).pk)
    other = make_account()
    theirs = _event(person_of(other).pk)
    audit_seal()
    client.force_login(user)
    assert [client.get(_proof_url(event.pk)).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(_proof_url(event.pk, "ar"))
    assert refused.status_code == 429
    assert refused["Retry-After"] == "600"
    assert "leaf" not in refused.content.decode()
    assert 'lang="ar"' in refused.content.decode()
    assert "طلبت مستندات كثيرة" in refused.content.decode()  # the site's 429 page
    other_client = Client()
    other_client.force_login(other)
    assert other_client.get(_proof_url(theirs.pk)).status_code == 200
