"""My account: Connected services (relying parties the holder agreed to share data with), and
withdrawing one's access."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation
from oauth2_provider.models import AccessToken, RefreshToken

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.clock import RIYADH
from hawiya.identity.models import Consent, RelyingParty, SecurityEvent, User
from hawiya.identity.services import relying_parties
from hawiya.identity.services.authorization_codes import oauth_tokens_prune
from hawiya.identity.tests.factories import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    cache.clear()


def url(name: str, language: str = "en", **kwargs: Any) -> str:
    with translation.override(language):
        return reverse(f"portal:{name}", kwargs=kwargs)


def a_party(name_en: str = "Example Bank") -> RelyingParty:
    return relying_parties.party_register(
        actor=Actor.system("test.seed"),
        name_ar="بنك المثال",
        name_en=name_en,
        redirect_uris=["https://bank.example/cb"],
        allowed_scopes=["openid", "profile", "national_id"],
        token_endpoint_auth_method="client_secret_basic",
    ).party


def connect(user: User, party: RelyingParty, *scopes: str, token: str = "") -> None:
    Consent.objects.create(user=user, party=party, scopes=list(scopes))
    if token:
        AccessToken.objects.create(
            user=user,
            application=party.application,
            token=token,
            expires=clock.now() + dt.timedelta(hours=1),
            scope=" ".join(scopes),
        )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("language", "words", "name"),
    [
        ("en", "Your national ID or Iqama number", "Example Bank"),
        ("ar", "رقم هويتك الوطنية أو رقم إقامتك", "بنك المثال"),
    ],
)
def test_the_page_lists_each_service_with_what_it_receives(language: str, words: str, name: str) -> None:
    user = make_account()
    party = a_party()
    connect(user, party, "openid", "national_id", token="t1")
    response = signed_in(user).get(url("account-connections", language))
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store") or "private" in response["Cache-Control"]
    assert f'data-connection="{party.pk}"' in html
    assert name in html
    assert words in html
    assert "data-last-sign-in" in html
    assert url("account-connection-revoke", language, party_id=str(party.pk)) in html


def test_a_service_whose_tokens_were_pruned_still_shows_when_it_last_signed_you_in() -> None:
    # Months on, the retention prune (docs/design.md §9) has deleted the party's dead tokens; the
    # sign-in is still in the security history, and the service can still be withdrawn.
    user = make_account()
    party = a_party()
    connect(user, party, "openid", "national_id")
    signed_in_at = clock.now() - dt.timedelta(days=90)
    SecurityEvent.objects.create(
        user=user, kind=SecurityEvent.Kind.PARTY_SIGN_IN, occurred_at=signed_in_at, detail=str(party.pk)
    )
    access = AccessToken.objects.create(
        user=user,
        application=party.application,
        token="t-old",
        expires=signed_in_at + dt.timedelta(minutes=10),
        scope="openid",
    )
    RefreshToken.objects.create(user=user, application=party.application, token="r-old", access_token=access)
    pruned = oauth_tokens_prune(now=clock.now())
    assert pruned["oauth_access_tokens"] == pruned["oauth_refresh_tokens"] == 1

    response = signed_in(user).get(url("account-connections"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-connection="{party.pk}"' in html
    shown = html.split("data-last-sign-in>", 1)[1].split("</dd>", 1)[0]
    assert "Not yet" not in shown
    assert str(signed_in_at.astimezone(RIYADH).year) in shown
    assert url("account-connection-revoke", party_id=str(party.pk)) in html


def test_the_page_says_when_there_is_nothing_connected() -> None:
    user = make_account()
    connect(make_account(), a_party(), "openid")  # somebody else's
    html = signed_in(user).get(url("account-connections")).content.decode()
    assert "data-no-connections" in html
    assert "data-connection=" not in html


def test_the_account_page_links_to_connected_services() -> None:
    user = make_account()
    assert url("account-connections") in signed_in(user).get(url("account")).content.decode()


def test_revoking_asks_first_then_ends_the_consent_and_the_tokens() -> None:
    user = make_account()
    party = a_party()
    connect(user, party, "openid", "profile", token="mine")
    RefreshToken.objects.create(user=user, application=party.application, token="r-mine")
    client = signed_in(user)
    page = url("account-connection-revoke", party_id=str(party.pk))

    confirm = client.get(page)
    assert confirm.status_code == 200
    assert Consent.objects.get().revoked_at is None  # asking changes nothing

    response = client.post(page)
    assert response.status_code == 302
    assert response["Location"] == url("account-connections")
    assert Consent.objects.get().revoked_at is not None
    assert not AccessToken.objects.filter(user=user).exists()
    assert not RefreshToken.objects.filter(user=user).exists()
    assert AuditEvent.objects.get(action="relying_party.connection_revoked").actor == f"user:{user.pk}"
    assert "data-no-connections" in client.get(url("account-connections")).content.decode()


def test_a_citizen_cannot_see_or_revoke_another_persons_connection() -> None:
    owner, other = make_account(), make_account()
    party = a_party()
    connect(owner, party, "openid", token="owners")
    page = url("account-connection-revoke", party_id=str(party.pk))
    client = signed_in(other)
    assert client.get(page).status_code == 404
    assert client.post(page).status_code == 404
    assert Consent.objects.get().revoked_at is None
    assert AccessToken.objects.filter(user=owner).exists()


@pytest.mark.parametrize("party_id", ["0", "abc", "99999999999999999999", "9223372036854775807"])
def test_a_malformed_or_missing_id_is_not_found(party_id: str) -> None:
    client = signed_in(make_account())
    assert client.get(url("account-connection-revoke", party_id=party_id)).status_code == 404


def test_signed_out_people_are_sent_to_sign_in() -> None:
    response = Client().get(url("account-connections"))
    assert response.status_code == 302
