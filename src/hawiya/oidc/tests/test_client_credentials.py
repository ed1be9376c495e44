"""The client credentials grant (RFC 6749 §4.4) for a party's own server: only a party allowed a
party-only scope (`document_status`) gets a token, for those scopes only, authenticated as it
registered, and the token has no citizen behind it. The client is Authlib's OAuth2Session."""

from __future__ import annotations

from typing import Any

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from django.test import Client
from jwcrypto import jwk
from oauth2_provider.models import AccessToken

from hawiya.audit.actors import Actor
from hawiya.identity.models import RelyingParty
from hawiya.identity.services.relying_parties import party_suspend
from hawiya.oidc.tests.conftest import (
    ALL_SCOPES,
    ISSUER,
    SECRET,
    DjangoAdapter,
    make_flow,
    make_party,
    query_of,
    sign_in,
)

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{ISSUER}/oidc/token/"
STATUS_SCOPES = ["openid", "document_status"]


def party_session(client: Client, party: RelyingParty, **kwargs: Any) -> OAuth2Session:
    session = OAuth2Session(
        client_id=party.application.client_id,
        client_secret=SECRET,
        token_endpoint_auth_method=party.token_endpoint_auth_method,
        **kwargs,
    )
    session.mount(ISSUER + "/", DjangoAdapter(client))
    return session


def fetch(session: OAuth2Session, **kwargs: Any) -> dict[str, Any]:
    return dict(session.fetch_token(TOKEN_URL, grant_type="client_credentials", **kwargs))


def refused(session: OAuth2Session, **kwargs: Any) -> str:
    with pytest.raises(OAuthError) as caught:
        fetch(session, **kwargs)
    return str(caught.value.error)


def test_a_party_with_the_scope_gets_a_token_without_a_citizen(client):
    party = make_party(scopes=STATUS_SCOPES)
    token = fetch(party_session(client, party), scope="document_status")
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == "document_status"
    assert "refresh_token" not in token
    assert "id_token" not in token
    stored = AccessToken.objects.get(application=party.application)
    assert stored.user_id is None
    assert stored.scope == "document_status"


def test_without_a_scope_the_party_gets_its_party_scopes(client):
    party = make_party(scopes=STATUS_SCOPES)
    assert fetch(party_session(client, party))["scope"] == "document_status"


def test_a_party_without_the_scope_is_refused(client):
    party = make_party(scopes=ALL_SCOPES)
    assert refused(party_session(client, party), scope="document_status") == "unauthorized_client"
    assert refused(party_session(client, party)) == "unauthorized_client"
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize("scope", ["openid", "openid document_status", "profile", "document_status phone"])
def test_a_citizens_scope_is_never_given_without_a_citizen(client, scope):
    party = make_party(scopes=[*ALL_SCOPES, "document_status"])
    assert refused(party_session(client, party), scope=scope) == "invalid_scope"
    assert not AccessToken.objects.exists()


def test_client_secret_post(client):
    party = make_party(scopes=STATUS_SCOPES, auth_method="client_secret_post")
    assert fetch(party_session(client, party))["access_token"]


def test_only_the_registered_auth_method(client):
    party = make_party(scopes=STATUS_SCOPES, auth_method="client_secret_post")
    session = party_session(client, party)
    session.token_endpoint_auth_method = "client_secret_basic"
    assert refused(session) == "invalid_client"


def test_a_wrong_secret_is_refused(client):
    party = make_party(scopes=STATUS_SCOPES)
    session = party_session(client, party)
    session.client_secret = SECRET + "x"
    assert refused(session) == "invalid_client"


def _jwt_session(client: Client, *, registered: jwk.JWK, signing: jwk.JWK) -> OAuth2Session:
    party = make_party("agency", scopes=STATUS_SCOPES, auth_method="private_key_jwt")
    party.jwks = {"keys": [registered.export_public(as_dict=True)]}
    party.save()
    session = party_session(client, party)
    session.client_secret = signing.export_to_pem(private_key=True, password=None).decode()
    session.register_client_auth_method(PrivateKeyJWT(TOKEN_URL))
    return session


def test_private_key_jwt(client):
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="agency-1")
    assert fetch(_jwt_session(client, registered=key, signing=key))["scope"] == "document_status"


def test_private_key_jwt_signed_with_another_key_is_refused(client):
    registered = jwk.JWK.generate(kty="RSA", size=2048, kid="agency-1")
    other = jwk.JWK.generate(kty="RSA", size=2048, kid="agency-1")
    assert refused(_jwt_session(client, registered=registered, signing=other)) == "invalid_client"


def test_a_suspended_party_gets_nothing_and_loses_its_token(client):
    party = make_party(scopes=STATUS_SCOPES)
    session = party_session(client, party)
    fetch(session)
    party_suspend(actor=Actor.system("test"), party_id=party.pk)
    assert not AccessToken.objects.filter(application=party.application).exists()
    assert refused(session) == "invalid_client"


def test_the_party_only_scope_is_never_asked_of_a_citizen(client, citizen):
    party = make_party(scopes=[*ALL_SCOPES, "document_status"])
    sign_in(client, citizen)
    flow = make_flow(client, party, scope="openid document_status")
    assert query_of(flow.get(flow.authorize_url())["Location"])["error"] == "invalid_scope"


def test_the_sign_in_flow_still_works_for_a_party_with_the_scope(client, citizen):
    party = make_party(scopes=[*ALL_SCOPES, "document_status"])
    sign_in(client, citizen)
    flow = make_flow(client, party, scope="openid profile")
    token = flow.tokens(flow.code_redirect())
    assert token["scope"] == "openid profile"
    assert token["id_token"]


def test_discovery_names_the_grant(client):
    document = client.get("/.well-known/openid-configuration").json()
    assert "client_credentials" in document["grant_types_supported"]
    # The party-only scope is not one a citizen is asked for.
    assert "document_status" not in document["scopes_supported"]
