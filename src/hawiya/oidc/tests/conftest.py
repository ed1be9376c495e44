"""Fixtures of the provider's tests: parties, a signed-in citizen, and an independent client
(Authlib's OAuth2Session) whose HTTP goes to Django's test client instead of the network."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from oauth2_provider.models import Application
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from hawiya.core import clock
from hawiya.identity.models import RelyingParty, User
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, SIGN_IN_METHOD_SESSION_KEY
from hawiya.identity.tests.factories import make_account
from hawiya.registry.tests.factories import make_address

ISSUER = django_settings.HAWIYA_OIDC_ISSUER
HOST = urlsplit(ISSUER).netloc
REDIRECT_URI = "https://bank.example/callback"
SECRET = "s3cret-" + "x" * 40
ALL_SCOPES = ["openid", "profile", "national_id", "birthdate", "phone", "address"]


@pytest.fixture(autouse=True)
def fast_hashers(settings: Any) -> None:
    # Accounts' passwords with a fast hasher; client secrets keep theirs (CLIENT_SECRET_HASHER).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    settings.HAWIYA_SMS_CLIENT = "demo"


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def make_party(
    client_id: str = "bank",
    *,
    scopes: list[str] | None = None,
    auth_method: str = "client_secret_basic",
    name_ar: str = "بنك المثال",
    name_en: str = "Example Bank",
) -> RelyingParty:
    application = Application.objects.create(
        client_id=client_id,
        client_secret=SECRET,
        name=name_en,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        algorithm=Application.RS256_ALGORITHM,
    )
    return RelyingParty.objects.create(
        application=application,
        name_ar=name_ar,
        name_en=name_en,
        allowed_scopes=scopes if scopes is not None else ALL_SCOPES,
        token_endpoint_auth_method=auth_method,
    )


@pytest.fixture
def party(db: Any) -> RelyingParty:
    return make_party()


@pytest.fixture
def citizen(db: Any) -> User:
    user = make_account()
    assert user.person is not None
    make_address(user.person)
    return user


def sign_in(browser: Client, user: User, *, method: str = "sms", seconds_ago: int = 0) -> None:
    """What the portal's sign-in leaves in the session (identity/signin.py)."""
    browser.force_login(user)
    session = browser.session
    session[RECENT_AUTH_SESSION_KEY] = clock.now().timestamp() - seconds_ago
    session[SIGN_IN_METHOD_SESSION_KEY] = method
    session.save()


class DjangoAdapter(BaseAdapter):
    """requests → Django's test client, so Authlib's client talks to the provider in-process."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self.client = client

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers: dict[str, Any] = {
            f"HTTP_{k.upper().replace('-', '_')}": str(v) for k, v in request.headers.items()
        }
        headers.pop("HTTP_CONTENT_TYPE", None)
        headers.pop("HTTP_CONTENT_LENGTH", None)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        answer = self.client.generic(
            str(request.method),
            path,
            data=body,
            content_type=str(request.headers.get("Content-Type", "application/octet-stream")),
            headers=None,
            **headers,
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(dict(answer.items()))
        response.raw = io.BytesIO(answer.content)
        response._content = answer.content
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        return None


@dataclass
class Flow:
    """One relying party's client and the browser of the citizen it signs in."""

    session: OAuth2Session
    browser: Client
    verifier: str = "v" * 64

    def authorize_url(self, **params: Any) -> str:
        params.setdefault("nonce", "n-0S6_WzA2Mj")
        params.setdefault("code_challenge", create_s256_code_challenge(self.verifier))
        params.setdefault("code_challenge_method", "S256")
        url, _state = self.session.create_authorization_url(f"{ISSUER}/oidc/authorize/", **params)
        return str(url)

    def get(self, url: str, **extra: Any) -> Any:
        parts = urlsplit(url)
        return self.browser.get(
            parts.path + (f"?{parts.query}" if parts.query else ""), headers={"host": HOST}, **extra
        )

    def consent(self, page: Any, allow: bool = True) -> Any:
        data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
        if allow:
            data["allow"] = "Authorize"
        return self.browser.post(
            page.request["PATH_INFO"] + "?" + page.request["QUERY_STRING"], data, headers={"host": HOST}
        )

    def code_redirect(self, **params: Any) -> str:
        """Authorize (allowing on the consent screen if shown): the party's callback URL."""
        answer = self.get(self.authorize_url(**params))
        if answer.status_code == 200:
            answer = self.consent(answer)
        assert answer.status_code == 302, answer
        location = str(answer["Location"])
        assert location.startswith(REDIRECT_URI), location
        return location

    def tokens(self, location: str, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("code_verifier", self.verifier)
        return dict(
            self.session.fetch_token(f"{ISSUER}/oidc/token/", authorization_response=location, **kwargs)
        )


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def make_flow(
    client: Client, party: RelyingParty, *, scope: str = "openid profile", **session_args: Any
) -> Flow:
    session = OAuth2Session(
        client_id=party.application.client_id,
        client_secret=SECRET,
        scope=scope,
        redirect_uri=REDIRECT_URI,
        token_endpoint_auth_method=party.token_endpoint_auth_method,
        **session_args,
    )
    session.mount(ISSUER + "/", DjangoAdapter(client))
    return Flow(session=session, browser=client)


@pytest.fixture
def flow(client: Client, party: RelyingParty, citizen: User) -> Flow:
    sign_in(client, citizen)
    return make_flow(client, party)
