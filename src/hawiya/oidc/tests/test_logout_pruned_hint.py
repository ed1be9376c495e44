"""RP-initiated logout (/oidc/logout/) with an id_token_hint whose row the retention prune deleted
(oauth_tokens_prune, HAWIYA_RETENTION_ID_TOKENS_DAYS). The token is still Hawiya's, validly signed:
the party is the token's audience, so the person is signed out after confirming and sent back to
the party's registered post_logout_redirect_uri, and to no other (OpenID Connect RP-Initiated
Logout 1.0). A hint Hawiya did not sign is refused with a page that says so, in both languages."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, IDToken

from hawiya.identity.services.authorization_codes import oauth_tokens_prune
from hawiya.identity.tests.factories import make_account
from hawiya.oidc.tests.conftest import HOST, Flow, make_party

pytestmark = pytest.mark.django_db

SIGNED_OUT = "https://bank.example/signed-out"
BAD_HINT = {
    "en": "The service sent a sign-out request with a token Hawiya did not sign",
    "ar": "أرسلت الخدمة طلب خروج برمز لم توقّعه هوية",
}


@pytest.fixture
def pruned_hint(flow: Flow, party: Any) -> str:
    """An ID token of the signed-in citizen whose rows the retention deleted long after it expired."""
    party.application.post_logout_redirect_uris = SIGNED_OUT
    party.application.save()
    id_token = str(flow.tokens(flow.code_redirect())["id_token"])
    counts = oauth_tokens_prune(now=timezone.now() + dt.timedelta(days=400))
    assert counts["oauth_id_tokens"] == 1
    assert not IDToken.objects.exists()
    return id_token


def _logout_url(hint: str, *, redirect: str = SIGNED_OUT, **extra: str) -> str:
    query = f"id_token_hint={hint}&post_logout_redirect_uri={quote(redirect, safe='')}&state=bye"
    query += "".join(f"&{name}={value}" for name, value in extra.items())
    return f"/oidc/logout/?{query}"


def _confirm(client: Client, page: Any) -> Any:
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    url = "/oidc/logout/?" + page.request["QUERY_STRING"]
    return client.post(url, {**data, "allow": "Logout"}, headers={"host": HOST})


def test_a_pruned_hint_signs_out_after_confirming_and_returns_to_the_registered_uri(
    flow: Flow, pruned_hint: str
) -> None:
    page = flow.browser.get(_logout_url(pruned_hint), headers={"host": HOST, "accept-language": "en"})
    # The token does not name this session any more: the person is asked (never a 400).
    assert page.status_code == 200
    assert "Example Bank asks you to sign out" in page.content.decode()
    assert "https://bank.example" in page["Content-Security-Policy"]

    answer = _confirm(flow.browser, page)

    assert answer.status_code == 302
    assert answer["Location"] == f"{SIGNED_OUT}?state=bye"
    assert "_auth_user_id" not in flow.browser.session
    assert not AccessToken.objects.exists()


def test_a_pruned_hint_with_no_session_left_goes_straight_back(client: Client, pruned_hint: str) -> None:
    client.logout()
    answer = client.get(_logout_url(pruned_hint), headers={"host": HOST})
    assert answer.status_code == 302
    assert answer["Location"] == f"{SIGNED_OUT}?state=bye"


def test_a_pruned_hint_sends_nobody_to_an_address_its_party_did_not_register(
    flow: Flow, pruned_hint: str
) -> None:
    url = _logout_url(pruned_hint, redirect="https://evil.example/")
    page = flow.browser.get(url, headers={"host": HOST})
    assert page.status_code == 400
    assert "evil.example" not in page.get("Location", "")
    assert "_auth_user_id" in flow.browser.session


def test_a_pruned_hint_of_another_party_than_the_client_id_is_refused(flow: Flow, pruned_hint: str) -> None:
    other = make_party("other-bank", name_en="Other Bank", name_ar="بنك آخر")
    other.application.post_logout_redirect_uris = SIGNED_OUT
    other.application.save()
    page = flow.browser.get(_logout_url(pruned_hint, client_id="other-bank"), headers={"host": HOST})
    assert page.status_code == 400
    assert "_auth_user_id" in flow.browser.session


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_hint_hawiya_did_not_sign_is_refused_with_a_clear_page(
    flow: Flow, party: Any, language: str
) -> None:
    party.application.post_logout_redirect_uris = SIGNED_OUT
    party.application.save()
    header, payload, signature = str(flow.tokens(flow.code_redirect())["id_token"]).split(".")
    forged = f"{header}.{payload}.{signature[:-6]}AAAAAA"
    page = flow.browser.get(
        _logout_url(forged, ui_locales=language), headers={"host": HOST, "accept-language": language}
    )
    assert page.status_code == 400
    assert BAD_HINT[language] in page.content.decode()
    # Not signed out, and not sent anywhere.
    assert "_auth_user_id" in flow.browser.session
    assert AccessToken.objects.exists()


def test_an_unknown_client_id_is_refused_not_a_server_error(client: Client) -> None:
    make_account()
    url = f"/oidc/logout/?client_id=no-such-party&post_logout_redirect_uri={quote(SIGNED_OUT, safe='')}"
    assert client.get(url, headers={"host": HOST}).status_code == 400
