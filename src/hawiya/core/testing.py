"""Test support shared by every app's tests: the service clock pinned to a moment of the test's
choosing (every service asks `hawiya.core.clock.now`), and the race harness of the concurrency
tests (calls released together from threads of their own, each on its own database connection)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from hawiya.core import clock
from hawiya.core.errors import ApplicationError, ServiceBusy

T = TypeVar("T")


class PinnedClock:
    """`hawiya.core.clock.now`, pinned at `start` and moved by hand with `advance` or `set`."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def now(self) -> dt.datetime:
        return self.current

    def today(self) -> dt.date:
        """The civil date in Riyadh at the pinned moment (what `clock.today` answers)."""
        return self.current.astimezone(clock.RIYADH).date()

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current

    def set(self, at: dt.datetime) -> None:
        self.current = at


def pin_clock(monkeypatch: pytest.MonkeyPatch, start: dt.datetime, *, today: bool = False) -> PinnedClock:
    """Pin the service clock for one test (undone by `monkeypatch` at its end); with `today`,
    `clock.today` too (it reads the real time otherwise)."""
    pinned = PinnedClock(start)
    monkeypatch.setattr("hawiya.core.clock.now", pinned.now)
    if today:
        monkeypatch.setattr("hawiya.core.clock.today", pinned.today)
    return pinned


# --- Races ---------------------------------------------------------------------------------------
# Each call runs in a thread of its own, so on a database connection of its own (Django's
# connections are per thread): on PostgreSQL the row locks are then real. The thread closes its
# connections when the call ends, or the test database could not be flushed or dropped.

_PENDING = object()


class Running(Generic[T]):
    """A call running in a thread of its own (named `name`, which a paused call may look at)."""

    def __init__(self, call: Callable[[], T], *, name: str, barrier: threading.Barrier | None = None) -> None:
        self._outcome: object = _PENDING
        self.thread = threading.Thread(target=self._run, args=(call, barrier), name=name)
        self.thread.start()

    def _run(self, call: Callable[[], T], barrier: threading.Barrier | None) -> None:
        try:
            if barrier is not None:
                barrier.wait(timeout=30)
            self._outcome = call()
        except Exception as exc:  # kept for the test's assertions, in the test's own thread
            self._outcome = exc
        finally:
            connections.close_all()

    def result(self, timeout: float = 120) -> T | Exception:
        """What the call returned, or the exception it raised; a call still running fails the test."""
        self.thread.join(timeout=timeout)
        if self.thread.is_alive():
            raise AssertionError(f"{self.thread.name} still runs after {timeout} s")
        if self._outcome is _PENDING:
            raise AssertionError(f"{self.thread.name} ended without a result")
        return self._outcome  # type: ignore[return-value]


def in_thread(call: Callable[[], T], *, name: str) -> Running[T]:
    """Start `call` now in a thread of its own (for interleavings a test paces itself)."""
    return Running(call, name=name)


def race(calls: Sequence[Callable[[], T]], *, timeout: float = 120) -> list[T | Exception]:
    """Release `calls` at the same moment (a barrier), each in a thread of its own: what each
    returned or raised, in the order of `calls`. `race([call] * n)` sends one request n times."""
    barrier = threading.Barrier(len(calls))
    running = [Running(call, name=f"racer-{index}", barrier=barrier) for index, call in enumerate(calls)]
    return [one.result(timeout) for one in running]


def outcome(result: object, ok: str = "ok") -> str:
    """A result in words: `ok`, the code of an ApplicationError or a ServiceBusy, or "error: …" for
    any other exception (a deadlock or an integrity error is a bug: the assertion shows it)."""
    if isinstance(result, (ApplicationError, ServiceBusy)):
        return result.code
    if isinstance(result, Exception):
        return f"error: {result!r}"
    return ok


SESSION_TABLE = '"django_session"'


def page_queries(captured: CaptureQueriesContext) -> list[str]:
    """The SQL a request ran, less the reads of its session: with a shared cache the session comes
    from the cache or the table depending on when it was last saved (core/session_store.py), so
    only the page's own queries are compared."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if not (query["sql"].startswith("SELECT") and SESSION_TABLE in query["sql"])
    ]


def wait_until_blocked_on_a_lock(timeout: float = 20) -> None:
    """Until another connection to this database waits on a lock (the race is then real); fails
    the test after `timeout` seconds. PostgreSQL only (it reads pg_stat_activity)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
        if row and row[0] > 0:
            return
        time.sleep(0.05)
    raise AssertionError("no other transaction waited on a lock")
