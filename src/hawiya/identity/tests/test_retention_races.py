"""The code send quota prune against a send of the same key, on PostgreSQL with real threads and
separate connections (SQLite runs one writer at a time, so the race cannot happen there).

Whatever the interleaving, no send is lost from the count and no send fails: a row a send holds
is skipped, and a send that waited on a row being deleted creates it again (docs/design.md §9).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, transaction

from hawiya.core import clock
from hawiya.core.testing import in_thread, wait_until_blocked_on_a_lock
from hawiya.identity import throttles
from hawiya.identity.models import CodeSendQuota
from hawiya.identity.services import code_send_quotas_prune

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent writers on separate connections; SQLite serialises all writers",
    ),
]

HOUR = dt.timedelta(hours=1)


def _claim(key: str, now: dt.datetime) -> int:
    with transaction.atomic():
        return throttles.quota_claim(key=key, now=now)


def test_a_row_a_send_holds_is_skipped_and_keeps_the_send() -> None:
    now = clock.now()
    _claim("held", now - 2 * HOUR)
    held, release = threading.Event(), threading.Event()

    def send() -> int:
        with transaction.atomic():
            left = throttles.quota_claim(key="held", now=now)
            held.set()
            release.wait(30)
        return left

    sender = in_thread(send, name="sender")
    assert held.wait(30)
    # Idle as the prune's snapshot sees it, but locked by the send: skipped, not waited for.
    assert code_send_quotas_prune(now=now) == 0
    release.set()

    assert sender.result() == throttles.CODE_SENDS_PER_HOUR - 1
    assert CodeSendQuota.objects.get(key="held").last_send_at == now
    assert code_send_quotas_prune(now=now) == 0


def test_a_send_that_waited_on_a_row_being_deleted_creates_it_again() -> None:
    now = clock.now()
    _claim("raced", now - 2 * HOUR)
    deleted, release = threading.Event(), threading.Event()

    def prune() -> int:
        # The prune's batch, held open after its delete until the send waits on it.
        with transaction.atomic():
            count = code_send_quotas_prune(now=now)
            deleted.set()
            release.wait(30)
        return count

    pruner = in_thread(prune, name="pruner")
    assert deleted.wait(30)
    sender = in_thread(lambda: _claim("raced", now), name="sender")
    wait_until_blocked_on_a_lock()
    release.set()

    assert pruner.result() == 1
    assert sender.result() == throttles.CODE_SENDS_PER_HOUR - 1
    assert CodeSendQuota.objects.get(key="raced").last_send_at == now


def test_a_send_that_found_the_row_then_waited_on_its_deletion_creates_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The send's insert finds the idle row there (and does nothing); the prune then locks and
    # deletes it; the send's lock waits on the prune and, once it commits, finds no row.
    now = clock.now()
    _claim("raced", now - 2 * HOUR)
    inserted, go, deleted, release = (threading.Event() for _ in range(4))
    original = CodeSendQuota.objects.bulk_create

    def bulk_create_then_pause(objs: Any, **kwargs: Any) -> Any:
        result = original(objs, **kwargs)
        if threading.current_thread().name == "sender" and not inserted.is_set():
            inserted.set()
            go.wait(30)
        return result

    monkeypatch.setattr(CodeSendQuota.objects, "bulk_create", bulk_create_then_pause)

    def prune() -> int:
        with transaction.atomic():
            count = code_send_quotas_prune(now=now)
            deleted.set()
            release.wait(30)
        return count

    sender = in_thread(lambda: _claim("raced", now), name="sender")
    assert inserted.wait(30)
    pruner = in_thread(prune, name="pruner")
    assert deleted.wait(30)
    go.set()
    wait_until_blocked_on_a_lock()
    release.set()

    assert pruner.result() == 1
    assert sender.result() == throttles.CODE_SENDS_PER_HOUR - 1
    assert CodeSendQuota.objects.get(key="raced").last_send_at == now
