"""acr_values and the claims parameter's acr and sub (OpenID Connect Core §3.1.2.1, §5.5.1,
§5.5.1.1), as an independent client (Authlib, conftest.py) sees them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from hawiya.identity.models import Passkey
from hawiya.identity.oidc_claims import (
    ACR_WITHOUT_PASSKEY,
    AcrRequest,
    AcrVerdict,
    acr_for_method,
    acr_request,
    acr_verdict,
    amr_for_method,
    pairwise_subject,
)
from hawiya.identity.sessions import SIGN_IN_METHOD_SESSION_KEY
from hawiya.oidc.tests.conftest import ISSUER, REDIRECT_URI, Flow, make_flow, query_of, sign_in

pytestmark = pytest.mark.django_db

PWD = "urn:hawiya:acr:pwd"
TWO_FACTOR = "urn:hawiya:acr:2fa"
PHR = "urn:hawiya:acr:phr"
ELSEWHERE = "urn:example:loa:3"


def id_token_of(flow: Flow, location: str) -> dict[str, Any]:
    token = flow.tokens(location)["id_token"]
    keys = KeySet.import_key_set(flow.session.get(f"{ISSUER}/oidc/jwks/", withhold_token=True).json())
    return dict(jwt.decode(token, keys, algorithms=["RS256"]).claims)


def acr_claims(*values: str, essential: bool | None = True, single: bool = False) -> str:
    member: dict[str, Any] = {"value": values[0]} if single else {"values": list(values)}
    if essential is not None:
        member["essential"] = essential
    return json.dumps({"id_token": {"acr": member}})


def password_only_session(client: Any, citizen: Any) -> None:
    """A session with no second factor recorded: its sign-in reached the password class only."""
    sign_in(client, citizen, method="")


# --- The ID token says the class achieved ----------------------------------------------------------


def test_without_acr_values_the_id_token_says_the_sign_ins_class(client, party, citizen):
    sign_in(client, citizen, method="totp")
    flow = make_flow(client, party)
    assert id_token_of(flow, flow.code_redirect())["acr"] == TWO_FACTOR
    password_only_session(client, citizen)
    assert id_token_of(flow, flow.code_redirect())["acr"] == PWD


def test_acr_values_the_session_satisfies_need_no_new_sign_in(flow):
    page = flow.get(flow.authorize_url(acr_values=TWO_FACTOR))
    assert page.status_code == 200  # the consent screen, not the sign-in
    assert "_auth_user_id" in flow.browser.session
    claims = id_token_of(flow, flow.consent(page)["Location"])
    assert claims["acr"] == TWO_FACTOR
    assert claims["amr"] == ["pwd", "sms"]


@pytest.mark.parametrize(
    ("acr_values", "expected"),
    [
        (f"{PWD} {TWO_FACTOR}", TWO_FACTOR),  # both satisfied: the stronger, what was achieved
        (f"{TWO_FACTOR} {PWD}", TWO_FACTOR),
        (PWD, PWD),  # a two-factor sign-in satisfies the password class, which was all that was asked
    ],
)
def test_the_strongest_requested_class_the_sign_in_satisfies(flow, acr_values, expected):
    assert id_token_of(flow, flow.code_redirect(acr_values=acr_values))["acr"] == expected


def test_unknown_acr_values_are_ignored(flow):
    location = flow.code_redirect(acr_values=f"{ELSEWHERE} urn:example:loa:4")
    assert id_token_of(flow, location)["acr"] == TWO_FACTOR


def test_unknown_values_next_to_a_known_one_are_skipped(client, party, citizen):
    password_only_session(client, citizen)
    flow = make_flow(client, party)
    location = flow.code_redirect(acr_values=f"{ELSEWHERE} {PWD}")
    assert id_token_of(flow, location)["acr"] == PWD


# --- A weaker sign-in than asked: a new one ----------------------------------------------------------


def test_a_weaker_sign_in_than_asked_asks_for_a_new_one(client, party, citizen):
    password_only_session(client, citizen)
    flow = make_flow(client, party)
    answer = flow.get(flow.authorize_url(acr_values=TWO_FACTOR, state="s1"))
    assert answer.status_code == 302
    assert "/sign-in" in answer["Location"]
    assert "_auth_user_id" not in flow.browser.session
    # Signed in again (with a second factor), the request goes on and the ID token says so.
    next_url = query_of(answer["Location"])["next"]
    assert "acr_values" in next_url
    sign_in(client, citizen, method="sms")
    page = flow.get(ISSUER + next_url)
    assert page.status_code == 200
    assert id_token_of(flow, flow.consent(page)["Location"])["acr"] == TWO_FACTOR


def test_a_weaker_sign_in_than_asked_with_prompt_none_answers_login_required(client, party, citizen):
    password_only_session(client, citizen)
    flow = make_flow(client, party)
    answer = flow.get(flow.authorize_url(acr_values=TWO_FACTOR, prompt="none", state="s2"))
    assert answer["Location"].startswith(REDIRECT_URI)
    assert query_of(answer["Location"]) == {"error": "login_required", "state": "s2"}
    assert "_auth_user_id" in flow.browser.session  # prompt=none signs nobody out


# --- The claims parameter's acr ----------------------------------------------------------------------


@pytest.mark.parametrize("single", [False, True])
def test_an_essential_acr_the_sign_in_meets(flow, single):
    location = flow.code_redirect(claims=acr_claims(TWO_FACTOR, essential=True, single=single))
    assert id_token_of(flow, location)["acr"] == TWO_FACTOR


def test_an_essential_acr_of_a_weaker_class_is_reported_as_asked(flow):
    location = flow.code_redirect(claims=acr_claims(PWD, essential=True))
    assert id_token_of(flow, location)["acr"] == PWD


def test_an_essential_acr_hawiya_cannot_meet_is_a_failed_authentication(flow):
    answer = flow.get(flow.authorize_url(claims=acr_claims(ELSEWHERE), state="s3"))
    assert answer["Location"].startswith(REDIRECT_URI)
    assert query_of(answer["Location"]) == {"error": "access_denied", "state": "s3"}


def test_an_essential_acr_hawiya_cannot_meet_asks_nobody_to_sign_in(client, party, citizen):
    flow = make_flow(client, party)
    answer = flow.get(flow.authorize_url(claims=acr_claims(ELSEWHERE), state="s4"))
    assert query_of(answer["Location"]) == {"error": "access_denied", "state": "s4"}
    # Nor signs anyone out, even when the party also asked for a fresh sign-in.
    sign_in(client, citizen)
    answer = flow.get(flow.authorize_url(claims=acr_claims(ELSEWHERE), prompt="login", state="s5"))
    assert query_of(answer["Location"]) == {"error": "access_denied", "state": "s5"}
    assert "_auth_user_id" in flow.browser.session


def test_the_same_values_when_voluntary_are_ignored(flow):
    location = flow.code_redirect(claims=acr_claims(ELSEWHERE, essential=None))
    assert id_token_of(flow, location)["acr"] == TWO_FACTOR
    location = flow.code_redirect(claims=acr_claims(ELSEWHERE, essential=False))
    assert id_token_of(flow, location)["acr"] == TWO_FACTOR


def test_an_essential_acr_a_new_sign_in_would_meet_asks_for_it(client, party, citizen):
    password_only_session(client, citizen)
    flow = make_flow(client, party)
    essential = acr_claims(TWO_FACTOR)
    assert "/sign-in" in flow.get(flow.authorize_url(claims=essential))["Location"]
    password_only_session(client, citizen)
    silent = flow.get(flow.authorize_url(claims=essential, prompt="none"))
    assert query_of(silent["Location"])["error"] == "login_required"


def test_an_essential_acr_no_longer_met_when_allowed_is_denied(client, party, citizen):
    sign_in(client, citizen)
    flow = make_flow(client, party)
    page = flow.get(flow.authorize_url(claims=acr_claims(TWO_FACTOR), state="s5"))
    assert page.status_code == 200
    session = client.session  # another tab's sign-in left a weaker one in this session
    session[SIGN_IN_METHOD_SESSION_KEY] = ""
    session.save()
    answer = flow.consent(page)
    assert query_of(answer["Location"])["error"] == "access_denied"
    assert query_of(answer["Location"])["state"] == "s5"


def test_an_acr_member_without_values_asks_nothing_more(flow):
    claims = json.dumps({"id_token": {"acr": {"essential": True}}, "userinfo": {"name": None}})
    assert id_token_of(flow, flow.code_redirect(claims=claims))["acr"] == TWO_FACTOR


@pytest.mark.parametrize("claims", ["{not json", "[1]", '"acr"'])
def test_a_claims_parameter_that_is_not_a_json_object_is_refused_to_the_party(flow, claims):
    answer = flow.get(flow.authorize_url(claims=claims, state="s7"))
    assert answer["Location"].startswith(REDIRECT_URI)
    assert query_of(answer["Location"])["error"] == "invalid_request"
    assert query_of(answer["Location"])["state"] == "s7"


# --- The claims parameter's sub ----------------------------------------------------------------------


def test_a_requested_sub_of_the_signed_in_citizen_is_answered(flow, party, citizen):
    claims = json.dumps({"id_token": {"sub": {"value": pairwise_subject(citizen, party)}}})
    assert id_token_of(flow, flow.code_redirect(claims=claims))["sub"] == pairwise_subject(citizen, party)


def test_a_requested_sub_of_someone_else_is_never_answered_for_this_session(flow):
    claims = json.dumps({"id_token": {"sub": {"value": "someone-else"}}})
    silent = flow.get(flow.authorize_url(claims=claims, prompt="none", state="s6"))
    assert query_of(silent["Location"]) == {"error": "login_required", "state": "s6"}
    answer = flow.get(flow.authorize_url(claims=claims))
    assert "/sign-in" in answer["Location"]
    assert "_auth_user_id" not in flow.browser.session


# --- Discovery -----------------------------------------------------------------------------------------


def test_discovery_lists_the_acr_classes_and_the_claims_parameter(flow):
    document = flow.session.get(f"{ISSUER}/.well-known/openid-configuration", withhold_token=True).json()
    assert document["acr_values_supported"] == [PWD, TWO_FACTOR, PHR]
    assert document["claims_parameter_supported"] is True
    assert "acr" in document["claims_supported"]


# --- The phishing-resistant class: a passkey's (only those who have one can reach it) -------------


def test_a_class_no_sign_in_reaches_fails_an_essential_request():
    # Someone without a passkey: no new sign-in of theirs reaches the passkey class.
    asked = AcrRequest((PHR,), essential=True)
    assert acr_verdict(asked, TWO_FACTOR, reachable=ACR_WITHOUT_PASSKEY) == AcrVerdict(None)
    # Someone with one is asked to sign in again (with it).
    assert acr_verdict(asked, TWO_FACTOR) == AcrVerdict(None, sign_in_again=True)
    assert acr_verdict(asked, PHR) == AcrVerdict(PHR)


def test_a_class_no_sign_in_reaches_leaves_a_voluntary_request_the_sessions_class():
    assert acr_verdict(AcrRequest((PHR,)), PWD, reachable=ACR_WITHOUT_PASSKEY) == AcrVerdict(PWD)
    # ...unless a new sign-in would reach another of the values asked for.
    assert acr_verdict(AcrRequest((PHR, TWO_FACTOR)), PWD, reachable=ACR_WITHOUT_PASSKEY) == AcrVerdict(
        PWD, sign_in_again=True
    )


def test_a_passkey_sign_in_is_hardware_key_and_user_verification_and_phishing_resistant():
    assert amr_for_method("passkey") == ["hwk", "user"]
    assert acr_for_method("passkey") == PHR
    assert acr_verdict(AcrRequest((TWO_FACTOR,)), PHR) == AcrVerdict(TWO_FACTOR)  # satisfies weaker ones


def _give_a_passkey(user: Any) -> None:
    Passkey.objects.create(user=user, credential_id="cred", user_handle="h", public_key=b"k", name="phone")


def test_a_passkey_sign_in_meets_a_request_for_the_passkey_class(client, party, citizen):
    sign_in(client, citizen, method="passkey")
    flow = make_flow(client, party)
    page = flow.get(flow.authorize_url(acr_values=PHR))
    assert page.status_code == 200  # the consent screen, not the sign-in
    claims = id_token_of(flow, flow.consent(page)["Location"])
    assert claims["acr"] == PHR
    assert claims["amr"] == ["hwk", "user"]


def test_a_passkey_holder_signed_in_otherwise_is_asked_to_use_it(client, party, citizen):
    _give_a_passkey(citizen)
    sign_in(client, citizen, method="sms", seconds_ago=600)
    flow = make_flow(client, party)
    answer = flow.get(flow.authorize_url(claims=acr_claims(PHR), state="s7"))
    assert "/sign-in" in answer["Location"]
    assert "_auth_user_id" not in flow.browser.session


def test_who_just_chose_another_way_is_not_sent_round_again(client, party, citizen):
    _give_a_passkey(citizen)
    sign_in(client, citizen, method="sms")  # just now, with the request's sign-in
    flow = make_flow(client, party)
    assert id_token_of(flow, flow.code_redirect(acr_values=PHR))["acr"] == TWO_FACTOR  # voluntary
    answer = flow.get(flow.authorize_url(claims=acr_claims(PHR), state="s8"))
    assert query_of(answer["Location"]) == {"error": "access_denied", "state": "s8"}  # essential


def test_without_a_passkey_an_essential_request_for_one_is_denied(client, party, citizen):
    sign_in(client, citizen, method="sms", seconds_ago=600)
    flow = make_flow(client, party)
    answer = flow.get(flow.authorize_url(claims=acr_claims(PHR), state="s9"))
    assert query_of(answer["Location"]) == {"error": "access_denied", "state": "s9"}


def test_the_claims_parameters_values_win_over_acr_values():
    asked = acr_request(acr_values=PWD, claims=acr_claims(TWO_FACTOR, essential=False))
    assert asked == AcrRequest((TWO_FACTOR,), essential=False)
    assert acr_request(acr_values=f"{PWD}  {TWO_FACTOR}", claims="[1]") == AcrRequest((PWD, TWO_FACTOR))
