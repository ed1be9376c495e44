"""The minute jobs' leases: each job once a period, however many schedulers run them."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from hawiya.casework.models import PeriodicJobLease
from hawiya.casework.scheduler import job_claim, job_release, jobs_run_due, period_of
from hawiya.core.testing import PinnedClock

START = dt.datetime(2026, 12, 7, 9, 0, 5, tzinfo=dt.UTC)


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    from hawiya.core.testing import pin_clock

    return pin_clock(monkeypatch, START)


@pytest.mark.django_db
def test_a_job_is_claimed_once_a_period(pinned: PinnedClock) -> None:
    assert job_claim("j", now=START, holder="a")
    job_release("j", holder="a", failed=False)
    assert not job_claim("j", now=START + dt.timedelta(seconds=30), holder="b")
    assert job_claim("j", now=START + dt.timedelta(seconds=60), holder="b")


@pytest.mark.django_db
def test_a_job_still_running_keeps_the_next_period_until_it_ends_or_its_lease_runs_out(
    pinned: PinnedClock,
) -> None:
    assert job_claim("j", now=START, holder="a")
    next_period = START + dt.timedelta(seconds=60)
    assert not job_claim("j", now=next_period, holder="b")
    # A release by someone else (whose lease expired long ago) does not free a's lease.
    job_release("j", holder="b", failed=False)
    assert not job_claim("j", now=next_period, holder="b")
    # a died: its lease runs out, and the job runs again.
    after_lease = START + dt.timedelta(seconds=settings.HAWIYA_SCHEDULER_LEASE_SECONDS + 1)
    assert job_claim("j", now=after_lease, holder="b")
    assert PeriodicJobLease.objects.get(name="j").holder == "b"


@pytest.mark.django_db
def test_a_pass_runs_each_due_job_skips_the_others_and_survives_a_failure(pinned: PinnedClock) -> None:
    calls: list[str] = []

    def ok() -> int:
        calls.append("ok")
        return 3

    def broken() -> int:
        raise RuntimeError("operator down")

    report = jobs_run_due({"broken": broken, "ok": ok}, holder="a")
    assert report.ran == {"ok": 3}
    assert report.failed == ["broken"]
    assert report.skipped == []
    lease = PeriodicJobLease.objects.get(name="broken")
    assert lease.last_failed
    assert lease.held_until is None

    again = jobs_run_due({"broken": broken, "ok": ok}, holder="b")
    assert again.skipped == ["broken", "ok"]
    assert calls == ["ok"]

    pinned.advance(minutes=1)
    assert jobs_run_due({"ok": ok}, holder="b").ran == {"ok": 3}


# Three scheduler processes against one PostgreSQL database, released at the same moment, each
# making a pass in three periods over five jobs that write down every run.
RACE = """
import os, sys, time, datetime as dt
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hawiya.config.settings")
django.setup()
from hawiya.core import clock
from hawiya.casework.scheduler import jobs_run_due
out, go, ready = sys.argv[1], sys.argv[2], sys.argv[3]
def job(name):
    def run():
        with open(out, "a") as f:
            f.write(f"{name} {int(clock.now().timestamp()) // 60} {os.getpid()}\\n")
        time.sleep(0.02)
        return 1
    return run
jobs = {f"job{i}": job(f"job{i}") for i in range(5)}
open(ready, "w").close()
for _ in range(300):
    if os.path.exists(go):
        break
    time.sleep(0.01)
for minute in range(3):
    at = dt.datetime(2026, 12, 7, 9, minute, 1, tzinfo=dt.UTC)
    clock.now = lambda at=at: at
    jobs_run_due(jobs)
"""


@pytest.mark.django_db(transaction=True)
def test_three_schedulers_started_at_once_run_each_job_once_a_period(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("three processes share one database server on PostgreSQL")
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(Path(settings.BASE_DIR) / "src")}
    out, go = tmp_path / "runs.txt", tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(3)]
    schedulers = [
        subprocess.Popen([sys.executable, "-c", RACE, str(out), str(go), str(flag)], env=env)
        for flag in ready
    ]
    deadline = time.monotonic() + 60
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(0.02)
    go.touch()
    assert [scheduler.wait(timeout=60) for scheduler in schedulers] == [0, 0, 0]

    runs = [line.split() for line in out.read_text().splitlines()]
    done = sorted((name, int(minute)) for name, minute, _pid in runs)
    first = period_of(dt.datetime(2026, 12, 7, 9, 0, 1, tzinfo=dt.UTC))
    assert done == sorted((f"job{i}", first + m) for i in range(5) for m in range(3))


def test_periods_are_whole_minutes(settings: Any) -> None:
    settings.HAWIYA_SCHEDULER_PERIOD_SECONDS = 60
    assert period_of(START) == period_of(START + dt.timedelta(seconds=54))
    assert period_of(START) + 1 == period_of(START + dt.timedelta(seconds=55))
