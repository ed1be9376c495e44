"""Signed-in pages with sessions read through the shared cache (core/session_store.py, the engine
with REDIS_URL): a session signed out, or ended from another device, is refused by every process
afterwards, even one whose cache had it. Run with REDIS_URL, the cache is Redis itself; each
"process" below is a test client with its own cache connection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from hawiya.core.session_store import SessionStore
from hawiya.identity import services
from hawiya.identity.models import User
from hawiya.identity.tests.factories import make_account

pytestmark = pytest.mark.django_db

ACCOUNT = "/en/account/"


@pytest.fixture(autouse=True)
def _cached_sessions(settings: object) -> Iterator[None]:
    with override_settings(
        SESSION_ENGINE="hawiya.core.session_store",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        HAWIYA_SMS_CLIENT="demo",
    ):
        cache.clear()
        yield
        cache.clear()


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    services.user_session_record(user=user, session_key=key, ip="192.0.2.9", user_agent="test")
    return client


def _same_cookie_elsewhere(client: Client) -> Client:
    """The same browser's next request, answered by another process (its own cache connection),
    after that process had the session in its cache."""
    other = Client()
    other.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    store = SessionStore(client.cookies[settings.SESSION_COOKIE_NAME].value)
    store._cache = caches.create_connection("default")
    assert store.load().get("_auth_user_id")  # that process's cache has it now
    return other


def test_signed_in_pages_read_the_session_from_the_cache() -> None:
    client = _signed_in(make_account())
    # The first page stamps the activity (a save, which empties the entry); the second caches it.
    assert client.get(ACCOUNT).status_code == 200
    assert client.get(ACCOUNT).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert client.get(ACCOUNT).status_code == 200

    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert isinstance(cache.get(SessionStore.cache_key_prefix + key), dict)
    assert not [query for query in queries if "django_session" in query["sql"]]


def test_a_signed_out_session_is_refused_by_every_process() -> None:
    client = _signed_in(make_account())
    assert client.get(ACCOUNT).status_code == 200
    elsewhere = _same_cookie_elsewhere(client)

    assert client.post("/en/sign-out/").status_code == 302

    response = elsewhere.get(ACCOUNT)
    assert response.status_code == 302
    assert response["Location"].startswith("/en/sign-in/")


def test_sessions_ended_from_another_device_are_refused_by_every_process() -> None:
    user = make_account()
    stolen = _signed_in(user)
    assert stolen.get(ACCOUNT).status_code == 200
    elsewhere = _same_cookie_elsewhere(stolen)
    mine = _signed_in(user)

    ended = services.sessions_revoke_all(
        user=user, except_session_key=mine.cookies[settings.SESSION_COOKIE_NAME].value
    )

    assert ended == 1
    for client in (stolen, elsewhere):
        response = client.get(ACCOUNT)
        assert response.status_code == 302
        assert response["Location"].startswith("/en/sign-in/")
    assert mine.get(ACCOUNT).status_code == 200
