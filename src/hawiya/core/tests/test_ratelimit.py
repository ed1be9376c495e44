"""The rate limiter: fixed windows on the cache, on the local-memory cache and (with REDIS_URL) Redis."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.test import override_settings

from hawiya.core.ratelimit import Decision, RateLimit

BACKENDS = {
    "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit-tests"},
    "redis": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("REDIS_URL"),
    },
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "redis" and not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set")
    with override_settings(CACHES={"default": BACKENDS[request.param]}):
        yield request.param


def a_limit(limit: int = 3, window_seconds: int = 600) -> RateLimit:
    # A fresh namespace per test: a shared Redis keeps no counter from another run.
    return RateLimit(f"test:{uuid.uuid4().hex}", limit, window_seconds)


def test_events_are_counted_until_the_limit_and_refused_past_it(backend: str) -> None:
    limit = a_limit(3)

    decisions = [limit.hit("10.0.0.1") for _ in range(5)]

    assert [d.count for d in decisions] == [1, 2, 3, 4, 5]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.just_exceeded for d in decisions] == [False, False, False, True, False]
    assert limit.count("10.0.0.1") == 5
    assert limit.exhausted("10.0.0.1")


def test_keys_and_names_are_counted_apart(backend: str) -> None:
    limit, other = a_limit(2), a_limit(2)
    limit.hit("a")
    limit.hit("a")

    assert limit.exhausted("a")
    assert not limit.exhausted("b")
    assert limit.count("b") == 0
    assert other.count("a") == 0
    assert other.hit("a") == Decision(count=1, limit=2)


def test_the_window_opens_at_the_first_event_and_a_new_one_after_it_ends(backend: str) -> None:
    limit = a_limit(1, window_seconds=1)
    assert limit.hit("k").allowed
    assert not limit.hit("k").allowed

    time.sleep(1.2)

    assert limit.count("k") == 0
    assert limit.hit("k") == Decision(count=1, limit=1)


def test_reset_forgets_the_window(backend: str) -> None:
    limit = a_limit(1)
    limit.hit("k")
    limit.hit("k")

    limit.reset("k")

    assert limit.count("k") == 0
    assert limit.hit("k").allowed


def test_parallel_events_are_all_counted(backend: str) -> None:
    limit = a_limit(1000)

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: limit.hit("shared").count, range(200)))

    assert sorted(counts) == list(range(1, 201))
    assert limit.count("shared") == 200


def test_the_cache_key_holds_no_personal_data(backend: str) -> None:
    limit = RateLimit("test:keys", 5, 600)
    key = limit.cache_key("2001:db8::/64")

    assert key.startswith("hawiya:test:keys:")
    assert "2001" not in key
    assert len(key.rsplit(":", 1)[1]) == 32
    limit.hit("2001:db8::/64")
    assert cache.get(key) == 1
    limit.reset("2001:db8::/64")
