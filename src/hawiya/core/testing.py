"""Test support shared by every app's tests: the service clock pinned to a moment of the test's
choosing (every service asks `hawiya.core.clock.now`)."""

from __future__ import annotations

import datetime as dt

import pytest


class PinnedClock:
    """`hawiya.core.clock.now`, pinned at `start` and moved by hand with `advance`."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


def pin_clock(monkeypatch: pytest.MonkeyPatch, start: dt.datetime) -> PinnedClock:
    """Pin the service clock for one test (undone by `monkeypatch` at its end)."""
    pinned = PinnedClock(start)
    monkeypatch.setattr("hawiya.core.clock.now", pinned.now)
    return pinned
