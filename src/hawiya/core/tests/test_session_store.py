"""The sessions read through the shared cache (core/session_store.py): the database stays the
truth, and a session ended anywhere is never served from the cache again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hawiya.core.session_store import CACHE_SECONDS, TOMBSTONE, SessionStore

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _session(**data: Any) -> str:
    store = SessionStore()
    for name, value in data.items():
        store[name] = value
    store.create()
    assert store.session_key
    return store.session_key


def test_a_session_read_once_is_read_from_the_cache_then() -> None:
    key = _session(_auth_user_id="7")
    assert SessionStore(key).load() == {"_auth_user_id": "7"}  # from the database, into the cache

    with CaptureQueriesContext(connection) as queries:
        assert SessionStore(key).load() == {"_auth_user_id": "7"}

    assert len(queries) == 0


def test_an_ended_session_is_gone_for_every_reader() -> None:
    key = _session(_auth_user_id="7")
    SessionStore(key).load()

    SessionStore(key).delete()

    assert cache.get(SessionStore.cache_key_prefix + key) == TOMBSTONE
    assert not DBStore().exists(key)
    assert SessionStore(key).load() == {}
    assert not SessionStore().exists(key)


def test_a_reader_racing_a_sign_out_cannot_put_the_session_back_in_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One process misses the cache and reads the row; before it caches what it read, another
    process ends the session. Django's own cached_db would cache it again; here the tombstone
    wins, and the next request with the cookie finds no session."""
    key = _session(_auth_user_id="7")
    read_row = SessionStore._get_session_from_db

    def read_then_signed_out_elsewhere(self: SessionStore) -> Any:
        row = read_row(self)
        SessionStore(key).delete()  # the sign-out, on another process
        return row

    monkeypatch.setattr(SessionStore, "_get_session_from_db", read_then_signed_out_elsewhere)
    SessionStore(key).load()  # the racing request still sees its session: it was read before
    monkeypatch.undo()

    assert cache.get(SessionStore.cache_key_prefix + key) == TOMBSTONE
    assert SessionStore(key).load() == {}


def test_a_save_racing_a_sign_out_cannot_revive_the_session() -> None:
    """A request that loaded the session before it was ended saves it after: the row is gone, so
    the save fails as with the database engine (Django answers "session interrupted"), and
    nothing is cached."""
    key = _session(_auth_user_id="7")
    late = SessionStore(key)
    assert late["_auth_user_id"] == "7"
    SessionStore(key).delete()

    late["hawiya_last_activity"] = 1.0
    with pytest.raises(UpdateError):
        late.save()

    assert cache.get(SessionStore.cache_key_prefix + key) == TOMBSTONE
    assert SessionStore(key).load() == {}


def test_a_save_writes_the_row_and_the_next_read_takes_it_from_there() -> None:
    key = _session(_auth_user_id="7")
    store = SessionStore(key)
    store.load()
    store["note"] = "new"
    store.save()

    assert cache.get(SessionStore.cache_key_prefix + key) is None
    assert SessionStore(key).load() == {"_auth_user_id": "7", "note": "new"}


def test_cache_entries_live_a_minute_at_most_and_never_past_the_session() -> None:
    store = SessionStore()

    assert store._cache_ttl(30) == 30
    assert store._cache_ttl(12 * 3600) == CACHE_SECONDS
    assert store._cache_ttl(-5) == 0
