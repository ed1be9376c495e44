"""The provider as an independent client sees it, mirroring the OpenID Foundation's Basic-OP and
Config-OP test modules, one test each. The client is Authlib's OAuth2Session (conftest.py)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from jwcrypto import jwk
from oauth2_provider.models import AccessToken, IDToken, RefreshToken
from PIL import Image

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.casework.retention import retention_prune
from hawiya.identity.models import Consent, RedeemedCode, SigningKey
from hawiya.identity.oidc_claims import pairwise_subject
from hawiya.identity.services.relying_parties import connection_revoke
from hawiya.identity.tests.factories import make_account
from hawiya.oidc.tests.conftest import (
    ALL_SCOPES,
    HOST,
    ISSUER,
    REDIRECT_URI,
    SECRET,
    Flow,
    make_flow,
    make_party,
    query_of,
    sign_in,
)

pytestmark = pytest.mark.django_db

USERINFO = f"{ISSUER}/oidc/userinfo/"


def jwks(flow: Flow) -> dict[str, Any]:
    return flow.session.get(f"{ISSUER}/oidc/jwks/", withhold_token=True).json()


def verified_id_token(flow: Flow, id_token: str) -> dict[str, Any]:
    """The ID token's claims, its signature checked against the published JWKS (joserfc, the
    JOSE library of Authlib's authors) and its times and issuer validated."""
    keys = KeySet.import_key_set(jwks(flow))  # type: ignore[arg-type]
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}, exp={"essential": True}).validate(
        token.claims
    )
    return token.claims


def oauth_error(call: Callable[[], object]) -> str:
    """The `error` of the OAuth error answer `call` got (Authlib raises it)."""
    with pytest.raises(OAuthError) as caught:
        call()
    return caught.value.error


def userinfo_with(flow: Flow, token: dict[str, Any]) -> Any:
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    return flow.session.get(USERINFO, withhold_token=True, headers=headers)


# --- Config-OP: discovery and keys -----------------------------------------------------------------


def test_discovery(flow):
    document = flow.session.get(f"{ISSUER}/.well-known/openid-configuration", withhold_token=True).json()
    assert document["issuer"] == ISSUER
    assert document["authorization_endpoint"] == f"{ISSUER}/oidc/authorize/"
    assert document["token_endpoint"] == f"{ISSUER}/oidc/token/"
    assert document["userinfo_endpoint"] == USERINFO
    assert document["jwks_uri"] == f"{ISSUER}/oidc/jwks/"
    assert document["end_session_endpoint"] == f"{ISSUER}/oidc/logout/"
    assert document["response_types_supported"] == ["code"]
    assert document["subject_types_supported"] == ["pairwise"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert set(document["scopes_supported"]) == set(ALL_SCOPES)
    assert {"sub", "national_id", "birthdate_hijri", "address", "amr", "acr"} <= set(
        document["claims_supported"]
    )


def test_jwks_publishes_public_keys_only(flow):
    keys = jwks(flow)["keys"]
    assert sorted((key["kty"], key["alg"]) for key in keys) == [("EC", "ES256"), ("RSA", "RS256")]
    for key in keys:
        assert key["use"] == "sig"
        assert key["kid"]
        assert "d" not in key
        assert "p" not in key


def test_rotation_keeps_the_old_key_published_until_pruned(flow):
    first = verified_id_token(flow, flow.tokens(flow.code_redirect())["id_token"])
    old_kid = SigningKey.objects.get(algorithm="RS256").kid
    call_command("oidc_rotate_key")
    kids = [key["kid"] for key in jwks(flow)["keys"]]
    assert len(kids) == 4  # a new RS256 and ES256 key each, the old ones still published
    assert old_kid in kids
    token = flow.tokens(flow.code_redirect())["id_token"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["kid"] != old_kid
    assert verified_id_token(flow, token)["sub"] == first["sub"]
    # Pruning leaves a key retired less than a token's lifetime ago...
    call_command("oidc_rotate_key", "--prune")
    assert SigningKey.objects.filter(kid=old_kid).exists()
    # ...and deletes it once its tokens have all expired.
    SigningKey.objects.filter(retired_at__isnull=False).update(
        retired_at=timezone.now() - dt.timedelta(days=2)
    )
    call_command("oidc_rotate_key", "--prune")
    published = {key["alg"]: key["kid"] for key in jwks(flow)["keys"]}
    assert len(published) == 2
    assert published["RS256"] == header["kid"]


# --- Basic-OP: the code flow -----------------------------------------------------------------------


def test_id_token_signature_and_claims(flow, party, citizen):
    token = flow.tokens(flow.code_redirect())
    claims = verified_id_token(flow, token["id_token"])
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "bank"
    assert claims["sub"] == pairwise_subject(citizen, party)
    assert claims["amr"] == ["pwd", "sms"]
    assert claims["acr"] == "urn:hawiya:acr:2fa"
    assert abs(claims["auth_time"] - timezone.now().timestamp()) < 60


def test_id_token_with_a_tampered_signature_fails_verification(flow):
    token = flow.tokens(flow.code_redirect())["id_token"]
    head, body, signature = token.split(".")
    forged = ".".join([head, body, ("A" if signature[0] != "A" else "B") + signature[1:]])
    with pytest.raises(BadSignatureError):
        verified_id_token(flow, forged)


def test_nonce_is_returned(flow):
    token = flow.tokens(flow.code_redirect(nonce="abc-123"))
    assert verified_id_token(flow, token["id_token"])["nonce"] == "abc-123"


def test_amr_of_an_authenticator_app_sign_in(client, party, citizen):
    sign_in(client, citizen, method="totp")
    flow = make_flow(client, party)
    claims = verified_id_token(flow, flow.tokens(flow.code_redirect())["id_token"])
    assert claims["amr"] == ["pwd", "otp"]


@pytest.mark.parametrize(
    ("scope", "expected", "absent"),
    [
        ("openid", {"sub"}, {"name", "national_id", "birthdate", "phone_number", "address"}),
        ("profile", {"name", "name#ar", "name#en", "given_name#en", "family_name#ar"}, {"national_id"}),
        ("national_id", {"national_id"}, {"name", "birthdate"}),
        ("birthdate", {"birthdate", "birthdate_hijri"}, {"national_id"}),
        ("phone", {"phone_number", "phone_number_verified"}, {"address"}),
        ("address", {"address"}, {"phone_number"}),
    ],
)
def test_each_scope_gives_its_claims_only(client, party, citizen, scope, expected, absent):
    sign_in(client, citizen)
    flow = make_flow(client, party, scope=" ".join(sorted({"openid", scope})))
    flow.tokens(flow.code_redirect())
    info = flow.session.get(USERINFO).json()
    assert expected <= set(info)
    assert not absent & set(info)
    person = citizen.person
    if scope == "national_id":
        assert info["national_id"] == person.id_number
    if scope == "birthdate":
        assert info["birthdate"] == person.date_of_birth.isoformat()
        assert len(info["birthdate_hijri"]) == 10
    if scope == "phone":
        assert info["phone_number"] == person.mobile
    if scope == "profile":
        assert info["name#ar"] == person.full_name_ar
        assert info["name#en"] == person.full_name_en
    if scope == "address":
        assert info["address"]["postal_code"] == "12345"
        assert info["address"]["country"] == "SA"


def test_userinfo_get(flow, party, citizen):
    flow.tokens(flow.code_redirect())
    answer = flow.session.get(USERINFO)
    assert answer.status_code == 200
    assert answer.json()["sub"] == pairwise_subject(citizen, party)


def test_userinfo_post(flow, party, citizen):
    flow.tokens(flow.code_redirect())
    answer = flow.session.post(USERINFO)
    assert answer.status_code == 200
    assert answer.json()["sub"] == pairwise_subject(citizen, party)


def test_userinfo_without_a_token_is_refused(flow):
    assert flow.browser.get("/oidc/userinfo/", headers={"host": HOST}).status_code == 401


# --- Consent ---------------------------------------------------------------------------------------


def test_consent_screen_lists_exactly_what_is_shared(client, party, citizen):
    sign_in(client, citizen)
    flow = make_flow(client, party, scope="openid national_id phone")
    page = flow.get(flow.authorize_url(ui_locales="en"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Sign in to Example Bank with Hawiya" in html
    assert "Your national ID or Iqama number" in html
    assert "Your mobile number on record" in html
    assert "Your National Address" not in html
    assert "Your full name" not in html
    # The redirect after Allow goes to the party: its origin may be a form's destination.
    assert "https://bank.example" in page["Content-Security-Policy"]


def test_the_consent_screen_shows_the_partys_logo_from_a_url_that_serves_it(client, party, citizen):
    picture = io.BytesIO()
    Image.new("RGB", (32, 32), "green").save(picture, format="PNG")
    party.logo.save("bank.png", ContentFile(picture.getvalue()))
    sign_in(client, citizen)
    flow = make_flow(client, party)
    html = flow.get(flow.authorize_url(ui_locales="en")).content.decode()
    logo_url = reverse("oauth2_provider:party-logo", args=[party.application.client_id])
    assert f'<img src="{logo_url}"' in html
    served = client.get(logo_url)
    assert (served.status_code, served["Content-Type"]) == (200, "image/png")
    assert served.content == picture.getvalue()
    assert client.get(reverse("oauth2_provider:party-logo", args=["nobody"])).status_code == 404
    party.suspended_at = timezone.now()
    party.save(update_fields=["suspended_at"])
    assert client.get(logo_url).status_code == 404


def test_consent_screen_in_arabic_by_default(flow):
    page = flow.get(flow.authorize_url())
    html = page.content.decode()
    assert 'lang="ar"' in html
    assert "تسجيل الدخول إلى بنك المثال عبر هوية" in html
    assert "اسمك الكامل بالعربية والإنجليزية" in html


def test_cancel_on_the_consent_screen_denies(flow):
    page = flow.get(flow.authorize_url(state="xyz"))
    answer = flow.consent(page, allow=False)
    assert query_of(answer["Location"]) == {"error": "access_denied", "state": "xyz"}
    assert not Consent.objects.exists()


def test_consent_is_remembered_for_the_party(flow):
    flow.code_redirect()
    answer = flow.get(flow.authorize_url())
    assert answer.status_code == 302
    assert "code" in query_of(answer["Location"])


def test_new_scopes_ask_again(client, party, citizen):
    sign_in(client, citizen)
    make_flow(client, party, scope="openid").code_redirect()
    flow = make_flow(client, party, scope="openid national_id")
    assert flow.get(flow.authorize_url()).status_code == 200
    flow.code_redirect()
    assert Consent.objects.get().scopes == ["national_id", "openid"]


def test_prompt_consent_asks_again(flow):
    flow.code_redirect()
    assert flow.get(flow.authorize_url(prompt="consent")).status_code == 200


# --- prompt, max_age, login_hint, ui_locales, id_token_hint ----------------------------------------


def test_anonymous_person_goes_to_hawiyas_sign_in(client, party):
    flow = make_flow(client, party)
    answer = flow.get(flow.authorize_url())
    assert answer.status_code == 302
    assert answer["Location"].startswith("/ar/")
    assert "next=%2Foidc%2Fauthorize%2F" in answer["Location"]


def test_prompt_login_forces_a_fresh_sign_in(flow):
    answer = flow.get(flow.authorize_url(prompt="login"))
    assert answer.status_code == 302
    assert "/sign-in" in answer["Location"]
    assert "prompt" not in query_of(answer["Location"])["next"]
    assert "_auth_user_id" not in flow.browser.session


def test_prompt_none_without_a_session_answers_login_required(client, party):
    flow = make_flow(client, party)
    answer = flow.get(flow.authorize_url(prompt="none", state="s1"))
    assert answer["Location"].startswith(REDIRECT_URI)
    assert query_of(answer["Location"]) == {"error": "login_required", "state": "s1"}


def test_prompt_none_without_consent_answers_consent_required(flow):
    answer = flow.get(flow.authorize_url(prompt="none", state="s2"))
    assert query_of(answer["Location"]) == {"error": "consent_required", "state": "s2"}


def test_prompt_none_with_consent_gives_a_code(flow):
    flow.code_redirect()
    answer = flow.get(flow.authorize_url(prompt="none"))
    assert "code" in query_of(answer["Location"])


def test_max_age_forces_a_new_sign_in_when_older(client, party, citizen):
    sign_in(client, citizen, seconds_ago=600)
    flow = make_flow(client, party)
    stale = flow.get(flow.authorize_url(max_age="60"))
    assert "/sign-in" in stale["Location"]
    sign_in(client, citizen, seconds_ago=600)
    fresh = flow.get(flow.authorize_url(max_age="3600"))
    assert fresh.status_code == 200


def test_max_age_with_prompt_none_answers_login_required(client, party, citizen):
    sign_in(client, citizen, seconds_ago=600)
    flow = make_flow(client, party)
    answer = flow.get(flow.authorize_url(max_age="60", prompt="none"))
    assert query_of(answer["Location"])["error"] == "login_required"


def test_login_hint_fills_in_the_sign_in_page(client, party, citizen):
    flow = make_flow(client, party)
    id_number = citizen.person.id_number
    answer = flow.get(flow.authorize_url(login_hint=id_number))
    assert query_of(answer["Location"])["login_hint"] == id_number
    page = client.get(answer["Location"])
    assert f'value="{id_number}"' in page.content.decode()


def test_ui_locales_chooses_the_sign_in_language(client, party):
    flow = make_flow(client, party)
    assert flow.get(flow.authorize_url(ui_locales="en-US ar"))["Location"].startswith("/en/")
    assert flow.get(flow.authorize_url(ui_locales="ar"))["Location"].startswith("/ar/")


def test_id_token_hint_of_the_signed_in_citizen_is_accepted(flow):
    id_token = flow.tokens(flow.code_redirect())["id_token"]
    answer = flow.get(flow.authorize_url(id_token_hint=id_token, prompt="none"))
    assert "code" in query_of(answer["Location"])


def test_id_token_hint_of_someone_else_asks_for_a_sign_in(client, party, citizen):
    sign_in(client, citizen)
    id_token = make_flow(client, party).tokens(make_flow(client, party).code_redirect())["id_token"]
    sign_in(client, make_account())
    flow = make_flow(client, party)
    assert (
        query_of(flow.get(flow.authorize_url(id_token_hint=id_token, prompt="none"))["Location"])["error"]
        == "login_required"
    )


def test_a_forged_id_token_hint_is_refused(flow):
    answer = flow.get(flow.authorize_url(id_token_hint="e30.e30.AAAA", prompt="none"))
    assert query_of(answer["Location"])["error"] == "login_required"


# --- Codes, redirect URIs, client authentication ---------------------------------------------------


def test_code_reuse_is_refused_and_revokes_the_tokens_it_gave(flow):
    location = flow.code_redirect()
    first = flow.tokens(location)
    assert AccessToken.objects.count() == 1
    assert oauth_error(lambda: flow.tokens(location)) == "invalid_grant"
    assert not AccessToken.objects.exists()
    assert userinfo_with(flow, first).status_code == 401
    assert RefreshToken.objects.get().revoked is not None


def test_a_replayed_code_revokes_the_tokens_rotated_from_it(flow):
    """RFC 6749 §4.1.2 after a refresh: rotation replaced the first access token, so the replay
    revokes through the refresh-token family the exchange gave."""
    location = flow.code_redirect()
    first = flow.tokens(location)
    second = flow.session.refresh_token(f"{ISSUER}/oidc/token/", refresh_token=first["refresh_token"])
    assert userinfo_with(flow, second).status_code == 200

    assert oauth_error(lambda: flow.tokens(location)) == "invalid_grant"

    assert userinfo_with(flow, second).status_code == 401
    assert refresh_error(flow, second["refresh_token"]) == "invalid_grant"
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    assert AuditEvent.objects.filter(action="oidc.code_replayed", detail__revoked=True).exists()


def test_only_a_registered_redirect_uri(flow):
    flow.session.redirect_uri = "https://evil.example/callback"
    answer = flow.get(flow.authorize_url())
    assert answer.status_code == 400
    assert "Location" not in answer


def test_token_request_with_another_redirect_uri_is_refused(flow):
    location = flow.code_redirect()
    flow.session.redirect_uri = "https://bank.example/other"
    assert oauth_error(lambda: flow.tokens(location)) == "invalid_request"


def test_client_secret_basic(flow):
    assert flow.tokens(flow.code_redirect())["access_token"]


def test_client_secret_post(client, citizen):
    party = make_party("agency", auth_method="client_secret_post")
    sign_in(client, citizen)
    flow = make_flow(client, party)
    assert flow.tokens(flow.code_redirect())["access_token"]


def test_the_registered_auth_method_only(client, citizen):
    party = make_party("agency", auth_method="client_secret_post")
    sign_in(client, citizen)
    flow = make_flow(client, party)
    flow.session.token_endpoint_auth_method = "client_secret_basic"
    assert oauth_error(lambda: flow.tokens(flow.code_redirect())) == "invalid_client"


def test_wrong_client_secret(flow):
    flow.session.client_secret = SECRET + "x"
    assert oauth_error(lambda: flow.tokens(flow.code_redirect())) == "invalid_client"


def test_refresh_token_rotation(flow):
    first = flow.tokens(flow.code_redirect())
    second = flow.session.refresh_token(f"{ISSUER}/oidc/token/", refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (
        oauth_error(
            lambda: flow.session.refresh_token(f"{ISSUER}/oidc/token/", refresh_token=first["refresh_token"])
        )
        == "invalid_grant"
    )


def refresh_error(flow: Flow, refresh_token: str) -> str:
    endpoint = f"{ISSUER}/oidc/token/"
    return oauth_error(lambda: flow.session.refresh_token(endpoint, refresh_token=refresh_token))


def test_the_retention_prune_keeps_usable_tokens_and_then_ends_them_cleanly(flow, citizen):
    # docs/design.md §9: a prune within the tokens' lifetimes changes nothing the party uses; one
    # past them deletes every code and token of the sign-in, and each use then fails as an OAuth
    # error, never as a server error.
    location = flow.code_redirect()
    first = flow.tokens(location)
    second = flow.session.refresh_token(f"{ISSUER}/oidc/token/", refresh_token=first["refresh_token"])

    soon = retention_prune(now=timezone.now() + dt.timedelta(hours=2))
    assert not any(
        count for kind, count in soon.items() if kind.startswith("oauth_") or kind == "redeemed_codes"
    )
    assert userinfo_with(flow, second).status_code == 200
    third = flow.session.refresh_token(f"{ISSUER}/oidc/token/", refresh_token=second["refresh_token"])

    later = timezone.now() + dt.timedelta(days=90)
    for _run in range(3):
        retention_prune(now=later)
    for model in (AccessToken, RefreshToken, IDToken, RedeemedCode):
        assert not model.objects.exists(), model
    assert userinfo_with(flow, third).status_code == 401
    for stale in (first, second, third):
        assert refresh_error(flow, stale["refresh_token"]) == "invalid_grant"
    assert oauth_error(lambda: flow.tokens(location)) == "invalid_grant"
    assert Consent.objects.filter(user=citizen, revoked_at__isnull=True).exists()


# --- PKCE ------------------------------------------------------------------------------------------


def test_pkce_is_required(flow):
    answer = flow.get(flow.authorize_url(code_challenge=None, code_challenge_method=None, state="p"))
    assert query_of(answer["Location"])["error"] == "invalid_request"


def test_pkce_plain_is_refused(flow):
    answer = flow.get(flow.authorize_url(code_challenge="v" * 64, code_challenge_method="plain"))
    assert query_of(answer["Location"])["error"] == "invalid_request"


def test_wrong_code_verifier_is_refused(flow):
    location = flow.code_redirect()
    assert oauth_error(lambda: flow.tokens(location, code_verifier="w" * 64)) == "invalid_grant"


def test_missing_code_verifier_is_refused(flow):
    location = flow.code_redirect()
    assert (
        oauth_error(
            lambda: flow.session.fetch_token(f"{ISSUER}/oidc/token/", authorization_response=location)
        )
        == "invalid_request"
    )


# --- Tokens and parties that stop working ----------------------------------------------------------


def test_expired_access_token(flow):
    token = flow.tokens(flow.code_redirect())
    AccessToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert userinfo_with(flow, token).status_code == 401


def test_revoked_access_token(flow):
    token = flow.tokens(flow.code_redirect())
    answer = flow.session.post(
        f"{ISSUER}/oidc/revoke_token/", data={"token": token["access_token"]}, auth=("bank", SECRET)
    )
    assert answer.status_code == 200
    assert userinfo_with(flow, token).status_code == 401


def test_suspended_party(flow, party):
    token = flow.tokens(flow.code_redirect())
    location = flow.code_redirect()
    party.suspended_at = timezone.now()
    party.save()
    assert userinfo_with(flow, token).status_code == 401
    assert oauth_error(lambda: flow.tokens(location)) == "invalid_client"
    assert flow.get(flow.authorize_url()).status_code == 400


def test_unknown_scope(client, party, citizen):
    sign_in(client, citizen)
    flow = make_flow(client, party, scope="openid email")
    assert query_of(flow.get(flow.authorize_url())["Location"])["error"] == "invalid_scope"


def test_scope_the_party_may_not_ask_for(client, citizen):
    party = make_party("agency", scopes=["openid", "profile"])
    sign_in(client, citizen)
    flow = make_flow(client, party, scope="openid national_id")
    assert query_of(flow.get(flow.authorize_url())["Location"])["error"] == "invalid_scope"


# --- Pairwise subjects -----------------------------------------------------------------------------


def test_pairwise_sub_differs_between_parties_and_is_stable_for_one(client, party, citizen):
    other = make_party("agency", name_en="Agency")
    sign_in(client, citizen)
    subs = []
    for each in (party, other, party):
        flow = make_flow(client, each)
        subs.append(verified_id_token(flow, flow.tokens(flow.code_redirect())["id_token"])["sub"])
    assert subs[0] == subs[2]
    assert subs[0] != subs[1]
    assert str(citizen.pk) not in subs


def test_pairwise_sub_survives_a_rotation_of_the_servers_secret_key(party, citizen, settings):
    before = pairwise_subject(citizen, party)
    settings.SECRET_KEY = "another-secret-key-after-a-rotation-0123456789"
    assert pairwise_subject(citizen, party) == before


# --- Settings and storage -----------------------------------------------------------------------


def test_client_secret_is_stored_as_a_keyed_hash(party):
    stored = party.application.client_secret
    assert stored.startswith("hawiya_hmac_sha256$")
    assert SECRET not in stored


def test_the_sign_in_page_names_the_party(client, party):
    flow = make_flow(client, party)
    sign_in_url = flow.get(flow.authorize_url(ui_locales="en"))["Location"]
    page = client.get(sign_in_url)
    assert "Sign in to Example Bank with Hawiya" in page.content.decode()
    arabic = client.get(flow.get(flow.authorize_url(ui_locales="ar"))["Location"])
    assert "تسجيل الدخول إلى بنك المثال عبر هوية" in arabic.content.decode()


def test_rp_initiated_logout(flow, party):
    party.application.post_logout_redirect_uris = "https://bank.example/signed-out"
    party.application.save()
    id_token = flow.tokens(flow.code_redirect())["id_token"]
    url = (
        f"{ISSUER}/oidc/logout/?id_token_hint={id_token}"
        "&post_logout_redirect_uri=https%3A%2F%2Fbank.example%2Fsigned-out&state=bye"
    )
    page = flow.get(url)
    assert page.status_code == 200
    assert "https://bank.example" in page["Content-Security-Policy"]
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    answer = flow.browser.post(
        "/oidc/logout/?" + page.request["QUERY_STRING"], {**data, "allow": "Logout"}, headers={"host": HOST}
    )
    assert answer["Location"].startswith("https://bank.example/signed-out")
    assert "_auth_user_id" not in flow.browser.session
    assert not AccessToken.objects.exists()


def test_grants_replays_and_revocations_are_audited(flow, citizen):
    location = flow.code_redirect()
    token = flow.tokens(location)
    oauth_error(lambda: flow.tokens(location))
    flow.session.post(
        f"{ISSUER}/oidc/revoke_token/", data={"token": token["refresh_token"]}, auth=("bank", SECRET)
    )
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-4:] == [
        "oidc.consent_granted",
        "oidc.token_issued",
        "oidc.code_replayed",
        "oidc.token_revoked",
    ]


def _private_key_jwt_flow(
    client: Any, citizen: Any, *, registered_key: jwk.JWK, signing_key: jwk.JWK
) -> Flow:
    party = make_party("agency", auth_method="private_key_jwt")
    party.jwks = {"keys": [registered_key.export_public(as_dict=True)]}
    party.save()
    sign_in(client, citizen)
    flow = make_flow(client, party)
    flow.session.client_secret = signing_key.export_to_pem(private_key=True, password=None).decode()
    flow.session.register_client_auth_method(PrivateKeyJWT(f"{ISSUER}/oidc/token/"))
    return flow


def test_private_key_jwt(client, citizen):
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="agency-1")
    flow = _private_key_jwt_flow(client, citizen, registered_key=key, signing_key=key)
    assert flow.tokens(flow.code_redirect())["access_token"]


def test_private_key_jwt_signed_with_another_key_is_refused(client, citizen):
    registered = jwk.JWK.generate(kty="RSA", size=2048, kid="agency-1")
    other = jwk.JWK.generate(kty="RSA", size=2048, kid="agency-1")
    flow = _private_key_jwt_flow(client, citizen, registered_key=registered, signing_key=other)
    assert oauth_error(lambda: flow.tokens(flow.code_redirect())) == "invalid_client"


def test_revoking_consent_ends_the_partys_tokens_and_asks_again(flow, party, citizen):
    token = flow.tokens(flow.code_redirect())
    assert connection_revoke(actor=Actor.citizen(citizen.pk), user=citizen, party_id=party.pk) > 0
    assert userinfo_with(flow, token).status_code == 401
    assert (
        oauth_error(
            lambda: flow.session.refresh_token(f"{ISSUER}/oidc/token/", refresh_token=token["refresh_token"])
        )
        == "invalid_grant"
    )
    assert flow.get(flow.authorize_url()).status_code == 200
