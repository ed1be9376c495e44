"""ES256 beside RS256: the JWKS publishes an RSA and an EC key; a party that chose ES256
(`id_token_signed_response_alg`) gets ID tokens and Logout Tokens signed with the EC key, which an
independent library (joserfc) verifies against the published JWKS; rotation is per algorithm."""

from __future__ import annotations

import base64
import datetime as dt
import json
from io import StringIO
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, KeySet
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt
from oauth2_provider.models import AccessToken

from hawiya.core.fakepartner import FakePartner
from hawiya.core.outbound import close_clients
from hawiya.identity import signing_keys
from hawiya.identity.backchannel_logout import EVENT, backchannel_logout_deliver
from hawiya.identity.models import BackchannelLogout, RelyingParty, SigningKey, User
from hawiya.identity.oidc_claims import pairwise_subject
from hawiya.oidc.tests.conftest import HOST, ISSUER, Flow, make_flow, make_party, query_of, sign_in
from hawiya.oidc.validator import id_token_claims

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_clients() -> Any:
    yield
    close_clients()


def es256(party: RelyingParty) -> RelyingParty:
    party.id_token_signed_response_alg = "ES256"
    party.save(update_fields=["id_token_signed_response_alg"])
    return party


@pytest.fixture
def es_flow(client: Any, party: RelyingParty, citizen: User) -> Flow:
    es256(party)
    sign_in(client, citizen)
    return make_flow(client, party)


def published(flow: Flow) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = flow.session.get(f"{ISSUER}/oidc/jwks/", withhold_token=True).json()["keys"]
    return keys


def header_of(token: str) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    return header


def verified(flow: Flow, token: str, alg: str) -> Any:
    """The token decoded by joserfc with the published JWKS, only `alg` allowed, iss and exp checked."""
    keys = KeySet.import_key_set({"keys": published(flow)})
    decoded = jwt.decode(token, keys, algorithms=[alg])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}, exp={"essential": True}).validate(
        decoded.claims
    )
    return decoded


# --- The JWKS ------------------------------------------------------------------------------------


def test_the_jwks_publishes_an_rsa_and_a_p256_key(flow):
    keys = {key["alg"]: key for key in published(flow)}
    assert sorted(keys) == ["ES256", "RS256"]
    ec = keys["ES256"]
    assert (ec["kty"], ec["crv"], ec["use"]) == ("EC", "P-256", "sig")
    assert {"x", "y"} <= set(ec)
    assert "d" not in ec
    # The kid is the key's RFC 7638 thumbprint, as computed by another library.
    assert ec["kid"] == ECKey.import_key(ec).thumbprint()
    assert keys["RS256"]["kty"] == "RSA"
    assert keys["RS256"]["kid"] != ec["kid"]
    stored = dict(SigningKey.objects.filter(retired_at__isnull=True).values_list("algorithm", "kid"))
    assert stored == {"ES256": ec["kid"], "RS256": keys["RS256"]["kid"]}


# --- ID tokens -----------------------------------------------------------------------------------


def test_an_es256_party_gets_an_id_token_signed_with_the_published_ec_key(es_flow, party, citizen):
    id_token = es_flow.tokens(es_flow.code_redirect())["id_token"]
    ec_kid = next(key["kid"] for key in published(es_flow) if key["kty"] == "EC")
    assert header_of(id_token) == {"typ": "JWT", "alg": "ES256", "kid": ec_kid}
    decoded = verified(es_flow, id_token, "ES256")
    assert decoded.claims["sub"] == pairwise_subject(citizen, party)
    assert decoded.claims["aud"] == "bank"
    # It is not an RS256 token: a verifier allowing only RS256 refuses it.
    keys = KeySet.import_key_set({"keys": published(es_flow)})
    with pytest.raises(Exception):  # noqa: B017, PT011 (joserfc's error for a disallowed alg)
        jwt.decode(id_token, keys, algorithms=["RS256"])


def test_an_rs256_party_is_unchanged(flow, party):
    assert party.id_token_signed_response_alg == "RS256"  # the default
    id_token = flow.tokens(flow.code_redirect())["id_token"]
    rsa_kid = next(key["kid"] for key in published(flow) if key["kty"] == "RSA")
    assert header_of(id_token) == {"typ": "JWT", "alg": "RS256", "kid": rsa_kid}
    assert verified(flow, id_token, "RS256").claims["aud"] == "bank"


def test_the_authlib_client_validates_an_es256_id_token_end_to_end(es_flow):
    """Authlib's own ID-token checks pass, at_hash included (SHA-256, the hash of ES256 too)."""
    from authlib.oidc.core import CodeIDToken

    token = es_flow.tokens(es_flow.code_redirect())
    keys = KeySet.import_key_set({"keys": published(es_flow)})
    decoded = jwt.decode(token["id_token"], keys, algorithms=["ES256"])
    claims = CodeIDToken(decoded.claims, dict(decoded.header), {})
    claims.params = {"nonce": "n-0S6_WzA2Mj", "client_id": "bank", "access_token": token["access_token"]}
    claims.options = {"iss": {"values": [ISSUER]}}
    claims.validate(now=int(timezone.now().timestamp()))
    assert claims["at_hash"]


def test_a_party_switched_to_es256_signs_the_next_token_with_the_ec_key(flow, party):
    first = flow.tokens(flow.code_redirect())["id_token"]
    es256(party)
    second = flow.tokens(flow.code_redirect())["id_token"]
    assert header_of(first)["alg"] == "RS256"
    assert header_of(second)["alg"] == "ES256"
    # Both still verify: the keys of both algorithms are published.
    assert verified(flow, first, "RS256").claims["sub"] == verified(flow, second, "ES256").claims["sub"]


# --- Tokens Hawiya reads back: id_token_hint, RP-initiated logout --------------------------------


def test_an_es256_id_token_hint_is_accepted(es_flow):
    id_token = es_flow.tokens(es_flow.code_redirect())["id_token"]
    assert header_of(id_token)["alg"] == "ES256"
    answer = es_flow.get(es_flow.authorize_url(id_token_hint=id_token, prompt="none"))
    assert "code" in query_of(answer["Location"])


def test_an_es256_token_under_hawiyas_kid_but_another_key_is_refused(es_flow):
    id_token = es_flow.tokens(es_flow.code_redirect())["id_token"]
    header = header_of(id_token)
    claims = json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=="))
    forged = jwcrypto_jwt.JWT(header=json.dumps(header), claims=json.dumps(claims))
    forged.make_signed_token(jwk.JWK.generate(kty="EC", crv="P-256"))
    assert id_token_claims(id_token) is not None
    assert id_token_claims(forged.serialize()) is None
    answer = es_flow.get(es_flow.authorize_url(id_token_hint=forged.serialize(), prompt="none"))
    assert query_of(answer["Location"])["error"] == "login_required"
    keys = KeySet.import_key_set({"keys": published(es_flow)})
    with pytest.raises(BadSignatureError):
        jwt.decode(forged.serialize(), keys, algorithms=["ES256"])


def test_rp_initiated_logout_accepts_an_es256_id_token(es_flow, party):
    party.application.post_logout_redirect_uris = "https://bank.example/signed-out"
    party.application.save()
    id_token = es_flow.tokens(es_flow.code_redirect())["id_token"]
    assert header_of(id_token)["alg"] == "ES256"
    page = es_flow.get(
        f"{ISSUER}/oidc/logout/?id_token_hint={id_token}"
        "&post_logout_redirect_uri=https%3A%2F%2Fbank.example%2Fsigned-out&state=bye"
    )
    assert page.status_code == 200
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    answer = es_flow.browser.post(
        "/oidc/logout/?" + page.request["QUERY_STRING"], {**data, "allow": "Logout"}, headers={"host": HOST}
    )
    assert answer["Location"].startswith("https://bank.example/signed-out")
    assert "_auth_user_id" not in es_flow.browser.session
    assert not AccessToken.objects.exists()


# --- The Logout Token ----------------------------------------------------------------------------


def test_the_logout_token_of_an_es256_party_is_es256(es_flow, party, citizen):
    es_flow.tokens(es_flow.code_redirect())
    with FakePartner() as bank:
        party.backchannel_logout_uri = f"{bank.url}/backchannel"
        party.save(update_fields=["backchannel_logout_uri"])
        es_flow.browser.post(reverse("portal:sign-out"))
        assert [
            backchannel_logout_deliver.call(pk)
            for pk in BackchannelLogout.objects.values_list("pk", flat=True)
        ] == ["sent"]
    token = parse_qs(bank.received[0].payload.decode())["logout_token"][0]
    ec_kid = next(key["kid"] for key in published(es_flow) if key["kty"] == "EC")
    assert header_of(token) == {"typ": "logout+jwt", "alg": "ES256", "kid": ec_kid}
    claims = verified(es_flow, token, "ES256").claims
    assert claims["sub"] == pairwise_subject(citizen, party)
    assert claims["events"] == {EVENT: {}}


# --- Rotation, per algorithm ---------------------------------------------------------------------


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("oidc_rotate_key", *args, stdout=out)
    return out.getvalue()


def test_rotating_one_algorithm_keeps_the_other_and_the_old_key_published(es_flow):
    old_token = es_flow.tokens(es_flow.code_redirect())["id_token"]
    before = {key["alg"]: key["kid"] for key in published(es_flow)}
    output = rotate("--algorithm", "ES256")
    new_ec = SigningKey.objects.get(algorithm="ES256", retired_at__isnull=True)
    assert new_ec.kid != before["ES256"]
    assert f"New signing key {new_ec.kid} (ES256)" in output
    assert "RS256" not in output
    # The RS256 key still signs; the old EC key is retired but published, so its token verifies.
    assert SigningKey.objects.get(algorithm="RS256").kid == before["RS256"]
    assert SigningKey.objects.get(kid=before["ES256"]).retired_at is not None
    kids = [key["kid"] for key in published(es_flow)]
    assert sorted(kids) == sorted([before["RS256"], before["ES256"], new_ec.kid])
    assert verified(es_flow, old_token, "ES256").claims["aud"] == "bank"
    # The next token is signed by the new EC key at once (this process forgot the old one).
    new_token = es_flow.tokens(es_flow.code_redirect())["id_token"]
    assert header_of(new_token)["kid"] == new_ec.kid
    assert verified(es_flow, new_token, "ES256").claims["aud"] == "bank"


def test_rotating_every_algorithm_then_pruning(flow):
    flow.tokens(flow.code_redirect())
    before = {key["alg"]: key["kid"] for key in published(flow)}
    output = rotate()
    assert "(RS256)" in output
    assert "(ES256)" in output
    active = dict(SigningKey.objects.filter(retired_at__isnull=True).values_list("algorithm", "kid"))
    assert set(active) == {"RS256", "ES256"}
    assert not set(active.values()) & set(before.values())
    assert len(published(flow)) == 4
    # Retired too recently: pruning keeps them; two days later it deletes them, and only them.
    assert "Deleted 0" in rotate("--prune")
    SigningKey.objects.filter(retired_at__isnull=False).update(
        retired_at=timezone.now() - dt.timedelta(days=2)
    )
    assert "Deleted 2" in rotate("--prune")
    assert {key["alg"]: key["kid"] for key in published(flow)} == active


def test_rotating_an_unknown_algorithm_is_refused():
    with pytest.raises(CommandError, match="RS256, ES256"):
        rotate("--algorithm", "HS256")
    with pytest.raises(CommandError):
        rotate("--prune", "--algorithm", "ES256")
    assert not SigningKey.objects.exists()


# --- The per-process memory of the active keys ----------------------------------------------------


def test_each_algorithm_has_its_own_remembered_key(django_assert_num_queries):
    rsa_kid, rsa_key = signing_keys.active_signing_key()
    ec_kid, ec_key = signing_keys.active_signing_key("ES256")
    assert rsa_key.get("kty") == "RSA"
    assert ec_key.get("kty") == "EC"
    assert ec_key.get("crv") == "P-256"
    with django_assert_num_queries(0):
        assert signing_keys.active_signing_key("RS256")[0] == rsa_kid
        assert signing_keys.active_signing_key("ES256")[0] == ec_kid
    # A new EC key is used at once by this process; the RS256 key is still remembered.
    new_ec = signing_keys.signing_key_create("ES256")
    with django_assert_num_queries(0):
        assert signing_keys.active_signing_key("RS256")[0] == rsa_kid
    assert signing_keys.active_signing_key("ES256")[0] == new_ec.kid
    with pytest.raises(ValueError, match="HS256"):
        signing_keys.active_signing_key("HS256")


def test_a_signature_made_with_the_remembered_ec_key_verifies_with_the_stored_one():
    kid, key = signing_keys.active_signing_key("ES256")
    token = jwcrypto_jwt.JWT(header=json.dumps({"alg": "ES256", "kid": kid}), claims=json.dumps({"a": 1}))
    token.make_signed_token(key)
    stored = signing_keys.signing_key_by_kid(kid)
    assert stored is not None
    assert json.loads(jwcrypto_jwt.JWT(key=stored, jwt=token.serialize(), check_claims=False).claims) == {
        "a": 1
    }


def test_a_party_made_by_the_toolkit_fixture_defaults_to_rs256():
    assert make_party("other").id_token_signed_response_alg == "RS256"
