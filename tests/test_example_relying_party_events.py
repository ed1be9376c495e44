"""The example bank's receiver of Hawiya's security events (RFC 8935 push of RFC 8417 Security Event
Tokens), against a live Hawiya: a SET Hawiya signs is accepted (202) and shown on "security events
received"; a bad signature, another audience or issuer, a key Hawiya does not publish (after one
fresh read of its JWKS), a token of another type, a wrong content type are refused with RFC 8935's
error; a repeated jti is accepted and recorded once. And a real push by Hawiya's worker after a card
is reported lost."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from jwcrypto import jwk, jwt
from werkzeug.serving import make_server

from hawiya.audit.actors import Actor
from hawiya.identity.models import Consent, RelyingParty, SecurityEventDelivery
from hawiya.identity.oidc_claims import pairwise_subject
from hawiya.identity.security_signals import (
    CREDENTIAL_CHANGE,
    DOCUMENT_REPORTED_LOST,
    security_event_deliver,
    security_event_token,
)
from hawiya.identity.signing_keys import active_signing_key, signing_keys_rotate
from hawiya.identity.tests.factories import make_account
from hawiya.losses.tests.factories import make_report
from hawiya.registry.tests.factories import make_document

from .test_example_relying_party import hawiya  # noqa: F401 (a fixture)

from relying_party.app import create_app  # isort: skip (examples/ is put on the path above)

pytestmark = pytest.mark.django_db(transaction=True)

MEDIA_TYPE = "application/secevent+jwt"


def make_bank(url: str, **config: Any) -> Any:
    return create_app({"TESTING": True, "SECRET_KEY": "test", "HAWIYA_URL": url, **config})


@pytest.fixture
def bank_app(hawiya):  # noqa: F811 (the fixture imported above)
    return make_bank(hawiya.url, JWKS_REFETCH_SECONDS=0)


@pytest.fixture
def bank(bank_app):
    return bank_app.test_client()


def party() -> RelyingParty:
    return RelyingParty.objects.select_related("application").get(application__client_id="example-bank")


def hawiya_set(event_type: str = DOCUMENT_REPORTED_LOST, subject: str = "pairwise-sub-1") -> str:
    """A Security Event Token exactly as Hawiya's worker sends it to the example bank."""
    row = SecurityEventDelivery.objects.create(
        party=party(),
        event_type=event_type,
        event={"event_timestamp": int(time.time()), "document_kind": "national_id_card"},
        subject=subject,
        jti=secrets.token_urlsafe(24),
        next_attempt_at=timezone.now(),
    )
    return security_event_token(row)


def signed(claims: dict[str, Any], *, typ: str = "secevent+jwt", key: jwk.JWK | None = None) -> str:
    """`claims` signed with Hawiya's active RS256 key (or `key`), as Hawiya would."""
    if key is None:
        kid, key = active_signing_key("RS256")
    else:
        kid = key["kid"]
    token = jwt.JWT(header={"typ": typ, "alg": "RS256", "kid": kid}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def set_claims(live_url: str, **changes: Any) -> dict[str, Any]:
    claims = {
        "iss": live_url,
        "aud": "example-bank",
        "iat": int(time.time()),
        "jti": secrets.token_urlsafe(16),
        "sub_id": {"format": "iss_sub", "iss": live_url, "sub": "pairwise-sub-2"},
        "events": {CREDENTIAL_CHANGE: {"event_timestamp": int(time.time())}},
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def push(bank: Any, token: str, content_type: str = MEDIA_TYPE) -> Any:
    return bank.post("/security-events", data=token, content_type=content_type)


def refused(answer: Any, err: str) -> None:
    assert answer.status_code == 400, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["err"] == err
    assert body["description"]


def events_page(bank: Any, lang: str = "en") -> str:
    return bank.get(f"/security-events?lang={lang}").get_data(as_text=True)


def test_a_set_hawiya_signed_is_accepted_and_shown_in_both_languages(bank):
    answer = push(bank, hawiya_set(subject="pairwise-sub-1"))
    assert answer.status_code == 202
    assert answer.get_data() == b""
    page = events_page(bank)
    assert page.count("data-event-type=") == 1
    assert f'data-event-type="{DOCUMENT_REPORTED_LOST}"' in page
    assert "A document was reported lost (National ID card)" in page
    assert "pairwise-sub-1" in page
    assert "(Riyadh time)</td>" in page
    arabic = events_page(bank, "ar")
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "أُبلغ عن فقد وثيقة (بطاقة الهوية الوطنية)" in arabic
    # Linked from the home page.
    assert 'href="/security-events"' in bank.get("/").get_data(as_text=True)


def test_a_repeated_jti_is_accepted_but_recorded_once(bank):
    token = hawiya_set()
    assert push(bank, token).status_code == 202
    assert push(bank, token).status_code == 202  # Hawiya retried: it must not try again
    assert events_page(bank).count("data-event-type=") == 1


def test_a_tampered_token_fails_authentication(bank, hawiya):  # noqa: F811
    header, _payload, signature = hawiya_set().split(".")
    forged = base64.urlsafe_b64encode(json.dumps(set_claims(hawiya.url)).encode()).rstrip(b"=").decode()
    refused(push(bank, f"{header}.{forged}.{signature}"), "authentication_failed")
    assert "data-no-events" in events_page(bank)


def test_another_audience_or_issuer_is_refused(bank, hawiya):  # noqa: F811
    refused(push(bank, signed(set_claims(hawiya.url, aud="another-bank"))), "invalid_audience")
    refused(push(bank, signed(set_claims(hawiya.url, aud=None))), "invalid_audience")
    refused(push(bank, signed(set_claims("https://not-hawiya.example"))), "invalid_issuer")
    # A list of audiences naming the bank is fine.
    assert push(bank, signed(set_claims(hawiya.url, aud=["example-bank", "x"]))).status_code == 202


def test_claims_that_are_not_a_security_event_are_refused(bank, hawiya):  # noqa: F811
    for changes in (
        {"events": None},
        {"events": {}},
        {"events": {CREDENTIAL_CHANGE: "not an object"}},
        {"iat": None},
        {"iat": int(time.time()) + 3600},  # from the future
        {"jti": None},
    ):
        refused(push(bank, signed(set_claims(hawiya.url, **changes))), "invalid_request")
    # Hawiya's ID tokens are signed with the same keys and name the bank as audience: the type
    # keeps one from passing for a security event.
    refused(push(bank, signed(set_claims(hawiya.url), typ="JWT")), "invalid_request")
    refused(push(bank, "not.a.token"), "invalid_request")
    refused(push(bank, "a" * 20_000 + ".b.c"), "invalid_request")  # longer than any SET
    refused(push(bank, ""), "invalid_request")
    assert "data-no-events" in events_page(bank)


def test_the_wrong_content_type_is_refused(bank):
    refused(push(bank, hawiya_set(), content_type="application/jwt"), "invalid_request")
    refused(push(bank, hawiya_set(), content_type="application/x-www-form-urlencoded"), "invalid_request")


def test_a_key_hawiya_does_not_publish_is_refused_after_one_fresh_read_of_the_jwks(bank, bank_app, hawiya):  # noqa: F811
    keys = bank_app.extensions["hawiya_keys"]
    assert push(bank, hawiya_set()).status_code == 202
    assert keys.fetches == 1
    stranger = jwk.JWK.generate(kty="RSA", size=2048, kid="not-one-of-hawiyas")
    refused(push(bank, signed(set_claims(hawiya.url), key=stranger)), "invalid_key")
    assert keys.fetches == 2  # read again, once, in case Hawiya had rotated its keys
    # A token naming no key at all.
    nameless = jwt.JWT(header={"typ": "secevent+jwt", "alg": "RS256"}, claims=set_claims(hawiya.url))
    nameless.make_signed_token(stranger)
    refused(push(bank, nameless.serialize()), "invalid_key")


def test_a_key_hawiya_rotated_in_is_found_by_reading_the_jwks_again(bank, bank_app):
    keys = bank_app.extensions["hawiya_keys"]
    assert push(bank, hawiya_set()).status_code == 202
    signing_keys_rotate("RS256")  # Hawiya's new key, unknown to the bank so far
    assert push(bank, hawiya_set(event_type=CREDENTIAL_CHANGE)).status_code == 202
    assert keys.fetches == 2
    assert events_page(bank).count("data-event-type=") == 2


def test_unknown_keys_do_not_make_the_bank_read_the_jwks_at_every_token(hawiya):  # noqa: F811
    app = make_bank(hawiya.url, JWKS_REFETCH_SECONDS=3600)
    bank = app.test_client()
    assert push(bank, hawiya_set()).status_code == 202
    stranger = jwk.JWK.generate(kty="RSA", size=2048, kid="made-up")
    for _ in range(3):
        refused(push(bank, signed(set_claims(hawiya.url), key=stranger)), "invalid_key")
    assert app.extensions["hawiya_keys"].fetches == 1


def test_hawiya_unreachable_is_a_503_so_hawiya_tries_again_later():
    bank = make_bank("http://127.0.0.1:9").test_client()
    stranger = jwk.JWK.generate(kty="RSA", size=2048, kid="k1")
    answer = push(bank, signed(set_claims("http://127.0.0.1:9"), key=stranger))
    assert answer.status_code == 503
    assert answer.get_json()["err"] == "temporarily_unavailable"


# --- A real push: Hawiya's worker, over HTTP, to the bank served on a port -----------------------


@pytest.fixture
def served_bank(hawiya) -> Iterator[tuple[Any, str]]:  # noqa: F811
    app = make_bank(hawiya.url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    RelyingParty.objects.filter(application__client_id="example-bank").update(
        signals_endpoint=f"{base}/security-events"
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, base
    server.shutdown()
    thread.join(timeout=10)


def test_a_card_reported_lost_is_pushed_by_hawiyas_worker_and_shown_once(served_bank):
    app, _base = served_bank
    user = make_account()
    card = make_document(holder=user.person)
    Consent.objects.create(user=user, party=party(), scopes=["openid"])  # signed in to the bank

    make_report(user.person, [card], actor=Actor.citizen(user.pk))
    row = SecurityEventDelivery.objects.get(event_type=DOCUMENT_REPORTED_LOST)
    assert security_event_deliver.call(row.pk) == "sent"
    # A repeat (a worker killed after the push, before it noted it) is taken once.
    SecurityEventDelivery.objects.filter(pk=row.pk).update(state="pending")
    assert security_event_deliver.call(row.pk) == "sent"

    events = app.extensions["security_events"].recent()
    assert [(event.event_type, event.subject) for event in events] == [
        (DOCUMENT_REPORTED_LOST, pairwise_subject(user, party()))
    ]
    assert events[0].detail["document_kind"] == "national_id_card"
