"""The signed callback when a request ends: over real HTTP to a fake party, verified with the JWKS
Hawiya publishes; retries with the same jti after the party's 500s; give-up after a refusal; one
callback per request whatever happens after."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from joserfc import jwt
from joserfc.jwk import KeySet

from hawiya.approvals.callbacks import POLICY, TOKEN_TYPE, approval_callback_deliver, approval_callbacks_sweep
from hawiya.approvals.models import ApprovalCallback, ApprovalRequest
from hawiya.approvals.services import approval_answer, approval_of_party
from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.fakepartner import FakePartner, Reply
from hawiya.core.outbound import close_clients
from hawiya.core.testing import pin_clock
from hawiya.identity.tests.factories import make_account, person_of

from .helpers import ask, register

pytestmark = pytest.mark.django_db

State = ApprovalCallback.State


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> Any:
    settings.HAWIYA_APPROVALS_RATE_LIMIT = 1000
    settings.HAWIYA_APPROVALS_LOOPBACK_CALLBACKS = True
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()
    yield
    close_clients()


def _token(received: Any) -> str:
    assert received.headers["Content-Type"].startswith("application/json")
    assert set(received.payload) == {"token"}
    return str(received.payload["token"])


def verified(client: Client, token: str, algorithms: list[str], now: int | None = None) -> dict[str, Any]:
    keys = KeySet.import_key_set(client.get("/oidc/jwks/").json())
    decoded = jwt.decode(token, keys, algorithms=algorithms)
    assert decoded.header["typ"] == TOKEN_TYPE
    assert decoded.header["kid"] in {key["kid"] for key in client.get("/oidc/jwks/").json()["keys"]}
    jwt.JWTClaimsRegistry(
        now=now, iss={"essential": True, "value": django_settings.HAWIYA_OIDC_ISSUER}, exp={"essential": True}
    ).validate(decoded.claims)
    return dict(decoded.claims)


def _approve(user: Any, row: ApprovalRequest, number: int | None) -> ApprovalRequest:
    return approval_answer(actor=Actor.citizen(user.pk), user=user, approval_id=row.public_id, number=number)


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_the_end_is_posted_signed_and_verifies_with_the_jwks(client: Client, alg: str) -> None:
    party, _secret = register(alg=alg)
    user = make_account()
    with FakePartner() as bank:
        row = ask(party, person_of(user).id_number, callback_url=f"{bank.url}/approvals/done")
        assert not ApprovalCallback.objects.exists()  # nothing while it waits
        _approve(user, row, row.number)
        callback = ApprovalCallback.objects.get()
        assert approval_callback_deliver.call(callback.pk) == "sent"
    assert [one.path for one in bank.received] == ["/approvals/done"]
    received = bank.received[0]
    assert received.headers["Idempotency-Key"] == callback.jti
    assert "Authorization" not in received.headers
    claims = verified(client, _token(received), [alg])
    assert claims["aud"] == party.application.client_id
    assert claims["jti"] == callback.jti
    assert claims["approval_id"] == row.public_id
    assert claims["status"] == "COMPLETED"
    assert claims["exp"] > claims["iat"]
    assert AuditEvent.objects.filter(action="approvals.callback_sent", object_id=str(callback.pk)).exists()


def test_a_refused_and_an_expired_request_are_posted_too(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = pin_clock(monkeypatch, clock.now())
    party, _secret = register()
    denier, idle = make_account(), make_account()
    with FakePartner() as bank:
        denied = ask(party, person_of(denier).id_number, callback_url=f"{bank.url}/cb")
        ignored = ask(party, person_of(idle).id_number, callback_url=f"{bank.url}/cb")
        _approve(denier, denied, None)
        pinned.advance(minutes=3)
        # The party's poll expires it, and the callback is owed as well.
        assert approval_of_party(party=party, approval_id=ignored.public_id).status == "EXPIRED"
        for callback in ApprovalCallback.objects.order_by("pk"):
            assert approval_callback_deliver.call(callback.pk) == "sent"
    statuses = {
        claims["approval_id"]: claims["status"]
        for claims in (
            verified(client, _token(one), ["RS256"], now=int(pinned.now().timestamp()))
            for one in bank.received
        )
    }
    # The tokens were signed at the pinned time; they verify against it.
    assert statuses == {denied.public_id: "REJECTED", ignored.public_id: "EXPIRED"}


def test_a_party_that_fails_gets_a_repeat_with_the_same_jti(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = pin_clock(monkeypatch, clock.now())
    party, _secret = register()
    user = make_account()
    with FakePartner() as bank:
        row = ask(party, person_of(user).id_number, callback_url=f"{bank.url}/cb")
        _approve(user, row, row.number)
        callback = ApprovalCallback.objects.get()
        bank.answer(Reply(status=500), Reply(status=503))
        assert approval_callback_deliver.call(callback.pk) == "pending"
        # A duplicate task ahead of the backoff does nothing.
        assert approval_callback_deliver.call(callback.pk) == "skipped"
        pinned.advance(seconds=POLICY.backoff(1).total_seconds())
        assert approval_callback_deliver.call(callback.pk) == "pending"
        pinned.advance(seconds=POLICY.backoff(2).total_seconds())
        assert approval_callback_deliver.call(callback.pk) == "sent"
        # Delivered: a replayed task sends nothing more.
        assert approval_callback_deliver.call(callback.pk) == "skipped"
    assert len(bank.received) == 3
    keys = KeySet.import_key_set(client.get("/oidc/jwks/").json())
    jtis = {jwt.decode(_token(one), keys).claims["jti"] for one in bank.received}
    assert jtis == {callback.jti}
    assert {one.headers["Idempotency-Key"] for one in bank.received} == {callback.jti}
    assert ApprovalCallback.objects.get().attempts == 3


def test_a_refusal_gives_up_and_is_audited() -> None:
    party, _secret = register()
    user = make_account()
    with FakePartner() as bank:
        row = ask(party, person_of(user).id_number, callback_url=f"{bank.url}/cb")
        _approve(user, row, None)
        callback = ApprovalCallback.objects.get()
        bank.answer(Reply(status=404))
        assert approval_callback_deliver.call(callback.pk) == "failed"
    callback.refresh_from_db()
    assert (callback.state, callback.last_error_code) == (State.FAILED, "party_refused_404")
    event = AuditEvent.objects.get(action="approvals.callback_given_up")
    assert event.detail["refused"] is True


def test_one_callback_per_request_and_none_without_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = pin_clock(monkeypatch, clock.now())
    party, _secret = register()
    user, other = make_account(), make_account()
    row = ask(party, person_of(user).id_number, callback_url="http://127.0.0.1:9/cb")
    silent = ask(party, person_of(other).id_number)
    _approve(user, row, row.number)
    # Later reads and sweeps never owe a second one.
    pinned.advance(minutes=5)
    approval_of_party(party=party, approval_id=row.public_id)
    approval_of_party(party=party, approval_id=silent.public_id)
    assert ApprovalCallback.objects.count() == 1
    assert ApprovalRequest.objects.get(pk=silent.pk).status == "EXPIRED"


def test_the_sweep_hands_lost_rows_to_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = pin_clock(monkeypatch, clock.now())
    party, _secret = register()
    user = make_account()
    row = ask(party, person_of(user).id_number, callback_url="http://127.0.0.1:9/cb")
    _approve(user, row, row.number)
    callback = ApprovalCallback.objects.get()
    assert approval_callbacks_sweep() == []
    pinned.advance(minutes=3)
    assert approval_callbacks_sweep() == [callback.pk]
    assert ApprovalCallback.objects.get().next_attempt_at == pinned.now()
