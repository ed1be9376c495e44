"""Sessions kept in the database and read through the shared cache (Redis): settings.SESSION_ENGINE
when REDIS_URL is set (`session_engine`). Every signed-in page loads its session; from the cache
that is one Redis GET instead of one SQL query.

The database stays the truth: a session is signed out or revoked by deleting its row, as with
Django's `db` engine. The cache must never answer for a session the database no longer has, and
Django's own `cached_db` can: a request on one process that read the row just before another
process deleted it (a sign-out, "sign out everywhere else") writes it back into the cache just
after, and the cookie then works again for the cache entry's lifetime. Here:

- ending a session leaves a tombstone under its cache key (for CACHE_SECONDS), not a gap;
- a session read from the database is put in the cache with `add`, which a tombstone (or any
  entry) blocks, never `set`;
- saving writes the row, then removes the cache entry (the next request reads the row back),
  instead of writing the session into the cache: a save that raced a sign-out cannot resurrect it;
- entries live at most CACHE_SECONDS, so whatever rare interleaving is left is bounded by it.

Only with a cache every process shares: with a per-process cache (LocMem) a sign-out on one
process would leave the session in the others' caches, so settings keep the `db` engine then
(config/settings.py, `session_engine`).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.cache.backends.base import BaseCache

if TYPE_CHECKING:
    from django.contrib.sessions.base_session import AbstractBaseSession

# How long a session stays in the cache after it was read from the database: an active person's
# session is reread about once a minute anyway (the idle timeout's activity stamp saves it).
CACHE_SECONDS = 60
# What an ended session's key holds in the cache: not a dict, so never taken for a session.
TOMBSTONE = "ended"

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    cache_key_prefix = "hawiya.sessions."
    _cache: BaseCache  # set by cached_db's __init__ (not in the type stubs)

    if TYPE_CHECKING:

        def _get_session_from_db(self) -> AbstractBaseSession | None: ...

    def _cache_ttl(self, age: int) -> int:
        return max(0, min(CACHE_SECONDS, age))

    def load(self) -> dict[str, Any]:
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # a broken cache: the database answers (as Django's cached_db)
            data = None
        if data == TOMBSTONE:
            self._session_key = None  # ended: a save makes a new session, never revives this one
            return {}
        if isinstance(data, dict):
            return data
        row = self._get_session_from_db()
        if row is None:
            return {}
        session: dict[str, Any] = self.decode(row.session_data)
        # The cache is only a shortcut: the row was read, whatever the cache answers.
        with contextlib.suppress(Exception):
            ttl = self._cache_ttl(self.get_expiry_age(expiry=row.expire_date))
            self._cache.add(self.cache_key, session, ttl)
        return session

    def exists(self, session_key: str | None) -> bool:
        """A live session: an ended one's tombstone does not count (Django's cached_db would)."""
        if not session_key:
            return False
        try:
            data = self._cache.get(self.cache_key_prefix + session_key)
        except Exception:
            data = None
        if data == TOMBSTONE:
            return False
        return isinstance(data, dict) or DBStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        DBStore.save(self, must_create)
        try:
            self._cache.delete(self.cache_key)
        except Exception:
            # The row is saved; what the cache holds is this session's older data, for a minute.
            logger.exception("could not drop a saved session from the cache")

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        # The tombstone first: from here on no reader can put this session back in the cache.
        try:
            self._cache.set(self.cache_key_prefix + session_key, TOMBSTONE, CACHE_SECONDS)
        except Exception:
            # The row goes all the same; an entry left in the cache expires within CACHE_SECONDS.
            logger.exception("could not mark an ended session in the cache")
        DBStore.delete(self, session_key)
