"""POST /api/v1/document-status and /batch: a party's client-credentials token with the
`document_status` scope, each status answered, nothing else about the person, every check
recorded, batches, 401/403/422/429, and reads from the primary database."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from oauth2_provider.models import AccessToken

from hawiya.api import document_status as document_status_api
from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.core.errors import ServiceBusy
from hawiya.document_checks.models import DocumentCheck
from hawiya.identity.models import RelyingParty
from hawiya.identity.services.relying_parties import party_register, party_suspend, party_update
from hawiya.identity.tests.factories import make_account
from hawiya.losses.models import LossPlace
from hawiya.losses.services import loss_report_submit
from hawiya.registry.models import Document, DocumentKind
from hawiya.registry.services import document_expire_due, document_reissue
from hawiya.registry.tests.factories import make_document, make_lost_document, make_office, make_person

pytestmark = pytest.mark.django_db

URL = "/api/v1/document-status"
BATCH_URL = "/api/v1/document-status/batch"
SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 1000
    cache.clear()


def register(
    name: str = "Example Bank", scopes: tuple[str, ...] = ("openid", "document_status")
) -> tuple[RelyingParty, str]:
    result = party_register(
        actor=SYSTEM,
        name_ar="بنك المثال",
        name_en=name,
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=list(scopes),
        token_endpoint_auth_method="client_secret_basic",
    )
    return result.party, result.client_secret


def token_for(client: Client, party: RelyingParty, secret: str) -> str:
    """A token the way a party gets one: client credentials at /oidc/token/."""
    basic = base64.b64encode(f"{party.application.client_id}:{secret}".encode()).decode()
    answer = client.post(
        "/oidc/token/",
        {"grant_type": "client_credentials", "scope": "document_status"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


@pytest.fixture
def party_token(client: Client) -> tuple[RelyingParty, str]:
    party, secret = register()
    return party, token_for(client, party, secret)


def check(client: Client, token: str | None, body: Any, url: str = URL, **headers: Any) -> Any:
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(url, body, content_type="application/json", **headers)


def about(document: Document, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id_number": document.holder.id_number,
        "kind": document.kind,
        "serial_number": document.serial_number,
    }
    body.update(overrides)
    return body


def status_of(client: Client, token: str, body: dict[str, Any]) -> str:
    answer = check(client, token, body)
    assert answer.status_code == 200, answer.content
    return str(answer.json()["status"])


# --- Answers ------------------------------------------------------------------------------------


def test_a_valid_card_is_valid_and_nothing_else_is_said(client, party_token):
    party, token = party_token
    document = make_document()
    before = clock.now()
    answer = check(client, token, about(document))
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"status", "checked_at"}
    assert body["status"] == "valid"
    assert dt.datetime.fromisoformat(body["checked_at"]) >= before.replace(microsecond=0)
    record = DocumentCheck.objects.get()
    assert (record.party_id, record.document_id, record.answer) == (party.pk, document.pk, "valid")


def test_each_status_is_answered(client, party_token):
    _party, token = party_token
    office = make_office()
    lost = make_lost_document(office=office)
    replaced_old = make_lost_document(office=office)
    document_reissue(
        document_id=replaced_old.pk,
        issuing_office=office,
        issue_date=clock.today(),
        expiry_date=clock.today() + dt.timedelta(days=3650),
        actor=SYSTEM,
    )
    marked_expired = make_document(issue_date=dt.date(2010, 1, 1), expiry_date=dt.date(2020, 1, 1))
    document_expire_due(today=clock.today())
    # Past its expiry date, not yet marked by the nightly job.
    past_expiry = make_document(issue_date=dt.date(2010, 1, 1), expiry_date=dt.date(2020, 1, 1))
    Document.objects.filter(pk=past_expiry.pk).update(status="valid")
    cancelled = make_document(kind=DocumentKind.BIRTH_CERTIFICATE)
    # No service cancels a document yet (the register's import does): set it as it would.
    Document.objects.filter(pk=cancelled.pk).update(status="cancelled")

    assert status_of(client, token, about(lost)) == "reported_lost"
    assert status_of(client, token, about(replaced_old)) == "replaced"
    assert status_of(client, token, about(marked_expired)) == "expired"
    assert status_of(client, token, about(past_expiry)) == "expired"
    assert status_of(client, token, about(cancelled)) == "cancelled"
    answers = dict(DocumentCheck.objects.values_list("document_id", "answer"))
    assert answers == {
        lost.pk: "reported_lost",
        replaced_old.pk: "replaced",
        marked_expired.pk: "expired",
        past_expiry.pk: "expired",
        cancelled.pk: "cancelled",
    }


def test_not_found_is_the_same_for_every_kind_of_miss(client, party_token):
    _party, token = party_token
    document = make_document()
    someone_else = make_document()
    misses = [
        about(document, id_number=make_person().id_number),  # another person
        about(document, serial_number=someone_else.serial_number),  # another's serial
        about(document, kind="birth_certificate"),  # a kind the person does not hold
        about(document, serial_number="N000000001"),  # no such serial
        {"id_number": document.holder.id_number, "kind": document.kind, "version": 7},
    ]
    for body in misses:
        answer = check(client, token, body)
        assert answer.status_code == 200
        assert answer.json()["status"] == "not_found", body
    records = list(DocumentCheck.objects.all())
    assert len(records) == len(misses)
    assert all(record.document_id is None and record.answer == "not_found" for record in records)


def test_the_version_names_a_document_when_the_serial_is_not_at_hand(client, party_token):
    _party, token = party_token
    office = make_office()
    first = make_lost_document(office=office)
    second = document_reissue(
        document_id=first.pk,
        issuing_office=office,
        issue_date=clock.today(),
        expiry_date=clock.today() + dt.timedelta(days=3650),
        actor=SYSTEM,
    )
    holder = first.holder.id_number
    assert status_of(client, token, {"id_number": holder, "kind": first.kind, "version": 1}) == "replaced"
    assert status_of(client, token, {"id_number": holder, "kind": first.kind, "version": 2}) == "valid"
    # Both given: both must match.
    assert status_of(client, token, about(second, version=1)) == "not_found"
    assert status_of(client, token, about(second, serial_number=second.serial_number.lower())) == "valid"


def test_a_card_reported_lost_a_moment_ago_is_never_valid(client, party_token):
    _party, token = party_token
    user = make_account()
    person = user.person
    assert person is not None
    card = make_document(holder=person)
    assert status_of(client, token, about(card)) == "valid"
    loss_report_submit(
        reporter=person,
        document_ids=[card.pk],
        lost_on=clock.today(),
        lost_on_approximate=False,
        place=LossPlace.IN_KINGDOM,
        city="Riyadh",
        country="",
        circumstances="Lost it while shopping at the mall.",
        declaration_accepted=True,
        idempotency_key="loss-key-000000000001",
        actor=Actor.citizen(user.pk),
    )
    assert status_of(client, token, about(card)) == "reported_lost"


class ReplicaForDocuments:
    """A router that would read documents from a replica (an alias that does not exist here):
    any read of the register that is not pinned to the primary fails."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return "replica" if model is Document else None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return None


def test_the_answer_is_read_from_the_primary_even_with_a_replica_router(client, party_token):
    _party, token = party_token
    document = make_lost_document()
    with override_settings(
        DATABASE_ROUTERS=[f"{ReplicaForDocuments.__module__}.{ReplicaForDocuments.__qualname__}"]
    ):
        assert status_of(client, token, about(document)) == "reported_lost"


# --- Input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"id_number": "1012345678", "kind": "national_id_card"},  # neither serial nor version
        {"id_number": "101234567", "kind": "national_id_card", "version": 1},
        {"id_number": "1012345678", "kind": "passport", "version": 1},
        {"id_number": "1012345678", "kind": "national_id_card", "serial_number": "N12"},
        {"id_number": "1012345678", "kind": "national_id_card", "version": 0},
    ],
)
def test_a_malformed_query_is_422_and_not_recorded(client, party_token, body):
    _party, token = party_token
    answer = check(client, token, body)
    assert answer.status_code == 422
    assert answer.json()["code"] == "request_invalid"
    assert not DocumentCheck.objects.exists()


# --- Authentication and scope ---------------------------------------------------------------------


def test_without_a_token_401_with_a_bearer_challenge(client):
    document = make_document()
    answer = check(client, None, about(document))
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_missing"
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert not DocumentCheck.objects.exists()


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic abc", "Bearer ", "bearer"])
def test_a_bad_token_is_401(client, header):
    answer = client.post(URL, {}, content_type="application/json", HTTP_AUTHORIZATION=header)
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_invalid"


def test_an_expired_token_is_401(client, party_token):
    _party, token = party_token
    AccessToken.objects.update(expires=clock.now() - dt.timedelta(seconds=1))
    assert check(client, token, about(make_document())).status_code == 401


def test_a_suspended_partys_token_is_401(client, party_token):
    party, token = party_token
    party_suspend(actor=SYSTEM, party_id=party.pk)
    assert check(client, token, about(make_document())).status_code == 401


def test_a_token_of_a_party_no_longer_allowed_the_scope_is_403(client, party_token):
    party, token = party_token
    party_update(
        actor=SYSTEM,
        party_id=party.pk,
        name_ar=party.name_ar,
        name_en=party.name_en,
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=["openid", "profile"],
        token_endpoint_auth_method="client_secret_basic",
    )
    answer = check(client, token, about(make_document()))
    assert answer.status_code == 403
    assert answer.json()["code"] == "scope_missing"
    assert 'error="insufficient_scope"' in answer["WWW-Authenticate"]
    assert not DocumentCheck.objects.exists()


def test_a_citizens_token_is_403(client):
    party, _secret = register(scopes=("openid", "profile", "document_status"))
    citizen = make_account()
    token = AccessToken(
        user=citizen,
        application=party.application,
        scope="openid profile",
        expires=clock.now() + dt.timedelta(minutes=5),
    )
    token.token = "citizen-token-" + "x" * 30
    token.save()
    assert check(client, "citizen-token-" + "x" * 30, about(make_document())).status_code == 403


# --- Batches ------------------------------------------------------------------------------------


def test_a_batch_answers_in_the_order_asked_and_records_each(client, party_token):
    party, token = party_token
    valid, lost = make_document(), make_lost_document()
    body = {"documents": [about(lost), about(valid), about(valid, id_number=make_person().id_number)]}
    answer = check(client, token, body, BATCH_URL)
    assert answer.status_code == 200, answer.content
    results = answer.json()["results"]
    assert [result["status"] for result in results] == ["reported_lost", "valid", "not_found"]
    assert all(set(result) == {"status", "checked_at"} for result in results)
    assert DocumentCheck.objects.filter(party=party).count() == 3


def test_a_batch_of_100_is_answered_and_101_is_refused_clearly(client, party_token):
    _party, token = party_token
    document = make_document()
    answer = check(client, token, {"documents": [about(document)] * 100}, BATCH_URL)
    assert answer.status_code == 200
    assert len(answer.json()["results"]) == 100
    # A party's server has no cookies: the language is its Accept-Language.
    too_many = check(
        Client(), token, {"documents": [about(document)] * 101}, BATCH_URL, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert too_many.status_code == 422
    assert too_many.json()["code"] == "batch_too_large"
    assert too_many.json()["message"].startswith("A batch may hold at most 100 documents")
    in_arabic = check(
        Client(), token, {"documents": [about(document)] * 101}, BATCH_URL, HTTP_ACCEPT_LANGUAGE="ar"
    )
    assert in_arabic.json()["message"].startswith("تتسع الدفعة الواحدة لـ 100")
    assert DocumentCheck.objects.count() == 100


def test_an_empty_batch_is_422(client, party_token):
    _party, token = party_token
    assert check(client, token, {"documents": []}, BATCH_URL).status_code == 422


# --- Rate limit -----------------------------------------------------------------------------------


def test_past_the_partys_limit_429_with_retry_after_and_other_parties_unaffected(
    client, settings, party_token
):
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 3
    _party, token = party_token
    document = make_document()
    assert check(client, token, {"documents": [about(document)] * 2}, BATCH_URL).status_code == 200
    assert check(client, token, about(document)).status_code == 200
    refused = check(client, token, about(document))
    assert refused.status_code == 429
    assert refused.json()["code"] == "checks_throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert DocumentCheck.objects.count() == 3
    other, secret = register("Other Bank")
    assert check(client, token_for(client, other, secret), about(document)).status_code == 200


def test_a_batch_counts_each_document_toward_the_limit(client, settings, party_token):
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 5
    _party, token = party_token
    document = make_document()
    assert check(client, token, {"documents": [about(document)] * 5}, BATCH_URL).status_code == 200
    assert check(client, token, about(document)).status_code == 429


def test_hawiya_busy_is_a_503_with_retry_after_in_the_same_shape(client, party_token, monkeypatch):
    """ServiceBusy is not an ApplicationError: the API answers it with a handler of its own."""
    _party, token = party_token

    def busy(**kwargs: Any) -> Any:
        raise ServiceBusy("password_hashing_busy", "Wait a moment.", retry_after=2)

    monkeypatch.setattr(document_status_api, "document_status_check", busy)
    answer = check(client, token, about(make_document()))
    assert answer.status_code == 503
    assert answer["Retry-After"] == "2"
    assert answer.json() == {"code": "password_hashing_busy", "message": "Wait a moment."}


def test_the_openapi_document_describes_both_operations(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path in (URL, BATCH_URL):
        operation = schema["paths"][path]["post"]
        assert {"200", "401", "403", "422", "429"} <= set(operation["responses"])
        assert "Retry-After" in operation["responses"]["429"]["headers"]
        assert operation["security"]
