"""Fixtures of the identity tests: a movable clock, fast password hashing, an empty cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import translation

from hawiya.core.testing import PinnedClock, pin_clock

START = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    return pin_clock(monkeypatch, START)


@pytest.fixture(autouse=True)
def fast_hashers(request: pytest.FixtureRequest, settings: Any) -> None:
    """Argon2 with production costs takes ~30 ms a hash; tests that are about hashing ask for
    `real_hashers` instead."""
    if "real_hashers" not in request.fixturenames:
        # The client-secret hasher stays: relying parties' secrets are stored through it.
        settings.PASSWORD_HASHERS = [
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "hawiya.identity.client_secrets.ClientSecretHasher",
        ]


@pytest.fixture
def real_hashers(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [
        "hawiya.identity.hashers.Argon2idHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def demo_sms(settings: Any) -> None:
    settings.HAWIYA_SMS_CLIENT = "demo"


@pytest.fixture
def english() -> Iterator[None]:
    with translation.override("en"):
        yield
