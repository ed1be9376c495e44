"""One rate limiter on the cache: fixed windows counted with atomic increments.

A `RateLimit` allows `limit` events per `window_seconds` for each key (a client address, an
account, later a relying party). Its users: the sign-in throttles per address
(`identity/throttles.py`), the badly signed calls per address (`api/signature_failures.py`) and
the PDFs per account (`core/pdf.py`) and the documents a relying party checks per minute
(`document_checks/limits.py`).

**Fixed window, chosen once.** The first event of a key opens its window: `cache.add(key, 0,
timeout=window)` creates the counter with its expiry, `cache.incr` counts (on Redis `INCR`, which
is atomic and keeps the expiry, so parallel events are all counted). When the counter expires the
next event opens a new window. One cache key per key and window, O(1) per event, nothing to clean
up. The price is the boundary: up to `limit` events at the end of one window and `limit` more at
the start of the next, a burst of at most 2× the limit. That is acceptable here: these limits slow
guessing and stop one client from keeping the workers busy, they are not quotas anyone is billed
by. A sliding window would need a sorted set or two counters per key for no gain that matters.

**No personal data in cache keys.** The key a caller passes (an IP address, an account id) is
hashed (SHA-256, 128 bits kept); the cache sees only `hawiya:<name>:<digest>`, `name` being the
limit's namespace (e.g. `identity:ip:failures`).

The local-memory cache counts per process: run several processes with Redis (`REDIS_URL`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Decision:
    """What one counted event found: the count in the window, this one included."""

    count: int
    limit: int

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def just_exceeded(self) -> bool:
        """The first event past the limit in this window (to log the throttling once)."""
        return self.count == self.limit + 1


@dataclass(frozen=True)
class RateLimit:
    """`limit` events per `window_seconds` for each key; `name` namespaces the cache keys.

    Cheap to build: a limit read from the settings is built at call time, so a changed setting
    applies at once.
    """

    name: str
    limit: int
    window_seconds: int

    def cache_key(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"hawiya:{self.name}:{digest}"

    def hit(self, key: str, cost: int = 1) -> Decision:
        """Count one event for `key` (or `cost` events at once: a batch of document checks) and
        return the decision (allowed while count <= limit)."""
        cache_key = self.cache_key(key)
        cache.add(cache_key, 0, timeout=self.window_seconds)
        try:
            count = int(cache.incr(cache_key, cost))
        except ValueError:
            # The window ended between add and incr: this event opens the next one.
            cache.add(cache_key, cost, timeout=self.window_seconds)
            count = cost
        return Decision(count=count, limit=self.limit)

    def count(self, key: str) -> int:
        """The events counted for `key` in its current window (0 when none is open)."""
        return int(cache.get(self.cache_key(key), 0))

    def exhausted(self, key: str) -> bool:
        """Whether `key` has used up its allowance: the next event would be refused."""
        return self.count(key) >= self.limit

    def reset(self, key: str) -> None:
        """Forget `key`'s window (e.g. after a successful sign-in, or in a test)."""
        cache.delete(self.cache_key(key))
