"""POST /api/v1/approvals and GET /api/v1/approvals/{id}: a party's client-credentials token with
the `approvals` scope, the answers, the statuses, another party's id, the limits (429, 409)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.approvals.models import ApprovalRequest, ApprovalStatus
from hawiya.approvals.services import approval_answer
from hawiya.approvals.tests.helpers import register, token_for
from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.core.testing import pin_clock
from hawiya.identity.tests.factories import make_account, make_citizen, person_of

pytestmark = pytest.mark.django_db

URL = "/api/v1/approvals"


@pytest.fixture(autouse=True)
def _settings(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The limits' windows are aligned to the clock: a test must not straddle two of them.
    still = time.time()
    monkeypatch.setattr("hawiya.approvals.limits.wall_clock", lambda: still)
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_APPROVALS_RATE_LIMIT = 1000
    settings.HAWIYA_APPROVALS_LOOPBACK_CALLBACKS = False
    cache.clear()


@pytest.fixture
def party_token(client: Client) -> tuple[Any, str]:
    party, secret = register()
    return party, token_for(client, party, secret)


def create(client: Client, token: str | None, id_number: str, **extra: Any) -> Any:
    headers: dict[str, Any] = {}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    body = {
        "id_number": id_number,
        "purpose_ar": "تسجيل الدخول إلى البنك",
        "purpose_en": "Sign in to the bank",
    }
    body.update(extra)
    return client.post(URL, body, content_type="application/json", **headers)


def status(client: Client, token: str, approval_id: str) -> Any:
    return client.get(f"{URL}/{approval_id}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_request_is_created_waiting_with_a_two_digit_number(client, party_token):
    party, token = party_token
    user = make_account()
    before = clock.now()
    answer = create(client, token, person_of(user).id_number)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert set(body) == {"id", "number", "status", "expires_at"}
    assert body["status"] == "WAITING"
    assert 10 <= body["number"] <= 99
    assert len(body["id"]) >= 32
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert before + dt.timedelta(minutes=3) - dt.timedelta(seconds=1) <= expires
    row = ApprovalRequest.objects.get(public_id=body["id"])
    assert (row.party_id, row.user_id, row.number) == (party.pk, user.pk, body["number"])
    assert row.number in row.choices
    assert len(set(row.choices)) == 3
    assert all(10 <= number <= 99 for number in row.choices)
    # The ID number itself is not kept.
    assert person_of(user).id_number not in str(ApprovalRequest.objects.values().get())


def test_the_party_reads_each_status(client, party_token, monkeypatch):
    _party, token = party_token
    pinned = pin_clock(monkeypatch, clock.now())
    users = [make_account() for _ in range(3)]
    ids = [create(client, token, person_of(user).id_number).json()["id"] for user in users]
    rows = [ApprovalRequest.objects.get(public_id=one) for one in ids]
    assert status(client, token, ids[0]).json()["status"] == "WAITING"
    approval_answer(
        actor=Actor.citizen(users[0].pk), user=users[0], approval_id=ids[0], number=rows[0].number
    )
    approval_answer(actor=Actor.citizen(users[1].pk), user=users[1], approval_id=ids[1], number=None)
    first = status(client, token, ids[0])
    assert first.status_code == 200
    assert first.json()["status"] == "COMPLETED"
    assert first.json()["decided_at"] is not None
    assert status(client, token, ids[1]).json()["status"] == "REJECTED"
    assert status(client, token, ids[2]).json()["status"] == "WAITING"
    pinned.advance(minutes=3)
    expired = status(client, token, ids[2]).json()
    assert expired["status"] == "EXPIRED"
    assert ApprovalRequest.objects.get(public_id=ids[2]).status == ApprovalStatus.EXPIRED


def test_another_party_gets_404_like_an_unknown_id(client, party_token):
    _party, token = party_token
    other, other_secret = register(name="Other Bank")
    other_token = token_for(client, other, other_secret)
    approval_id = create(client, token, person_of(make_account()).id_number).json()["id"]
    theirs = status(client, other_token, approval_id)
    unknown = status(client, other_token, "A" * 32)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()
    assert theirs.json()["code"] == "not_found"


def test_an_id_number_without_an_account_is_answered_alike_and_only_expires(client, party_token, monkeypatch):
    _party, token = party_token
    pinned = pin_clock(monkeypatch, clock.now())
    not_activated = make_citizen()
    answers = [create(client, token, not_activated.id_number), create(client, token, "1999999999")]
    for answer in answers:
        assert answer.status_code == 201
        assert answer.json()["status"] == "WAITING"
        assert set(answer.json()) == {"id", "number", "status", "expires_at"}
    pinned.advance(minutes=3, seconds=1)
    assert [status(client, token, one.json()["id"]).json()["status"] for one in answers] == ["EXPIRED"] * 2


def test_a_second_request_for_the_same_person_is_409_and_a_fourth_party_too(client, party_token):
    _party, token = party_token
    id_number = person_of(make_account()).id_number
    assert create(client, token, id_number).status_code == 201
    again = create(client, token, id_number)
    assert again.status_code == 409
    assert again.json()["code"] == "approval_pending"
    others = []
    for name in ("B", "C", "D"):
        party, secret = register(name=name)
        others.append(token_for(client, party, secret))
    assert create(client, others[0], id_number).status_code == 201
    assert create(client, others[1], id_number).status_code == 201
    fourth = create(client, others[2], id_number)
    assert fourth.status_code == 409
    assert fourth.json()["code"] == "approvals_pending_for_person"


def test_once_expired_the_party_may_ask_again(client, party_token, monkeypatch):
    _party, token = party_token
    pinned = pin_clock(monkeypatch, clock.now())
    id_number = person_of(make_account()).id_number
    first = create(client, token, id_number).json()["id"]
    pinned.advance(minutes=3)
    second = create(client, token, id_number)
    assert second.status_code == 201
    assert ApprovalRequest.objects.get(public_id=first).status == ApprovalStatus.EXPIRED


def test_flooding_by_a_party_is_429_with_retry_after(client, party_token, settings):
    _party, token = party_token
    settings.HAWIYA_APPROVALS_RATE_LIMIT = 3
    answers = [create(client, token, person_of(make_account()).id_number).status_code for _ in range(3)]
    assert answers == [201, 201, 201]
    refused = create(client, token, person_of(make_account()).id_number)
    assert refused.status_code == 429
    assert refused.json()["code"] == "approvals_throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_polling_one_request_more_than_60_times_a_minute_is_429_with_retry_after(client, party_token):
    _party, token = party_token
    other = create(client, token, make_citizen().id_number).json()["id"]
    approval_id = create(client, token, person_of(make_account()).id_number).json()["id"]
    for _ in range(60):
        assert status(client, token, approval_id).status_code == 200
    refused = status(client, token, approval_id)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "approvals_throttled"
    assert "مرات كثيرة" in refused.json()["message"]  # Arabic unless the party asks for English
    # Counted per request: the party's other request is still answered.
    assert status(client, token, other).status_code == 200


def test_flooding_one_person_is_429_whichever_party_asks(client, monkeypatch):
    pinned = pin_clock(monkeypatch, clock.now())
    user = make_account()
    tokens = []
    for index in range(4):
        party, secret = register(name=f"Bank {index}")
        tokens.append(token_for(client, party, secret))
    codes = []
    for _round in range(4):
        for token in tokens[:3]:
            codes.append(create(client, token, person_of(user).id_number).status_code)
        pinned.advance(minutes=3)
    # Ten requests for one person in ten minutes; the eleventh and later are refused.
    assert codes[:10] == [201] * 10
    assert codes[10:] == [429, 429]


def test_tokens_and_scope(client, party_token):
    id_number = person_of(make_account()).id_number
    assert create(client, None, id_number).status_code == 401
    assert create(client, "nonsense", id_number).status_code == 401
    status_party, secret = register(name="Status only", scopes=("openid", "document_status"))
    status_token = token_for(client, status_party, secret, scope="document_status")
    refused = create(client, status_token, id_number)
    assert refused.status_code == 403
    assert refused.json()["code"] == "scope_missing"
    assert 'scope="approvals"' in refused["WWW-Authenticate"]
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://bank.example/cb",
        "ftp://bank.example/cb",
        "https://user:pw@bank.example/cb",
        "https:///nohost",
        "https://elsewhere.example/cb",
        "https://10.0.0.5/internal",
        "http://127.0.0.1:9/cb",
        "not a url",
    ],
)
def test_a_callback_url_must_be_https(client, party_token, url):
    _party, token = party_token
    refused = create(client, token, person_of(make_account()).id_number, callback_url=url)
    assert refused.status_code == 422
    assert refused.json()["code"] == "callback_url_invalid"


def test_a_callback_on_a_registered_host_is_kept(client, party_token):
    _party, token = party_token
    answer = create(
        client, token, person_of(make_account()).id_number, callback_url="https://BANK.example/hawiya/done"
    )
    assert answer.status_code == 201
    assert ApprovalRequest.objects.get().callback_url == "https://BANK.example/hawiya/done"


def test_bad_bodies_are_422(client, party_token):
    _party, token = party_token
    assert create(client, token, "12345").status_code == 422
    assert create(client, token, person_of(make_account()).id_number, purpose_en="").status_code == 422
    assert status(client, token, "short").status_code == 422


def test_the_openapi_declares_the_endpoints(client):
    schema = client.get("/api/v1/openapi.json").json()
    post = schema["paths"]["/api/v1/approvals"]["post"]
    assert {"201", "401", "403", "409", "422", "429"} <= set(post["responses"])
    get = schema["paths"]["/api/v1/approvals/{approval_id}"]["get"]
    assert {"200", "401", "403", "404"} <= set(get["responses"])
