"""Benchmark: audited writes per second with 1, 4 and 16 concurrent writers, against the same
writes without an audit event, on SQLite and (if DATABASE_URL) PostgreSQL.

    .venv/bin/python bench/audit.py [--seconds 4] [--writers 1,4,16]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hawiya_bench_audit .venv/bin/python bench/audit.py

Each writer is a thread with its own database connection. One write is one transaction: a small
real UPDATE of the writer's own row (a casework.PeriodicJobLease row each, so writers never wait
on each other's data) and, when audited, one audit event:

- `unaudited`: the UPDATE alone;
- `merkle`: the UPDATE and `audit_record` (today's design: one insert, no shared lock), while a
  sealer thread runs `audit_seal` every second, as the minute job would but more often;
- `chain-lock`: the UPDATE and the design before the Merkle log (commit 9fef3b7), emulated: lock
  one shared head row (SELECT ... FOR UPDATE), insert the event chained to the head's hash, update
  the head; the lock is held until commit, so every audited write queues behind the previous one.

A second pair of modes gives the same comparison for a write the size of a modest real audited
action rather than a one-row HOT update: `action-unaudited` locks the writer's row (SELECT ... FOR
UPDATE), reads four other rows, updates its row and inserts one new row (a timeline entry's
worth), and `action-merkle` adds `audit_record`. That is 7 statements an event; a real booking
(`appointment_book`) sends 35 with 2 audit events. Its ratio is printed as
`audited/unaudited at 16 writers, action-sized write: R`, just before the last line.

SQLite runs in a new temporary directory; PostgreSQL against DATABASE_URL after dropping and
recreating that database, whose name must contain "bench". Each engine runs in a child process
(settings are read once per process). Ends with `audited/unaudited at 16 writers: R` for the
Merkle design on PostgreSQL (SQLite when no PostgreSQL URL is given).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
MODES = ("unaudited", "merkle", "chain-lock", "action-unaudited", "action-merkle")
ACTION_READS = 4
HEAD_ROW = "bench-audit-chain-head"


def _write_once(mode: str, row: str, counter: int) -> None:
    from django.db import transaction

    if mode.startswith("action-"):
        _action_once(mode, row, counter)
        return

    from hawiya.casework.models import PeriodicJobLease

    with transaction.atomic():
        PeriodicJobLease.objects.filter(name=row).update(last_period=counter)
        if mode == "merkle":
            _audit(row, counter)
        elif mode == "chain-lock":
            _chained_record(row, counter)


def _audit(row: str, counter: int) -> None:
    """The audit event of one bench write (today's audit_record)."""
    from hawiya.audit.actors import Actor
    from hawiya.audit.services import audit_record

    audit_record(
        actor=Actor.system("bench"),
        action="bench.write",
        object_type="casework.periodicjoblease",
        object_id=row,
        detail={"version": counter},
    )


def _action_once(mode: str, row: str, counter: int) -> None:
    """A write the size of a modest audited action: lock, reads, update, one new row."""
    from django.db import transaction

    from hawiya.casework.models import PeriodicJobLease

    with transaction.atomic():
        lease = PeriodicJobLease.objects.select_for_update().get(name=row)
        for number in range(ACTION_READS):
            PeriodicJobLease.objects.filter(name=f"bench-writer-{number}").first()
        PeriodicJobLease.objects.filter(pk=lease.pk).update(last_period=counter)
        PeriodicJobLease.objects.create(name=f"{row}-{mode}-{counter}")
        if mode == "action-merkle":
            _audit(row, counter)


def _chained_record(row: str, counter: int) -> None:
    """The old audit_record's database work: lock the head, insert after it, move the head."""
    from hawiya.audit.models import AuditEvent
    from hawiya.casework.models import PeriodicJobLease
    from hawiya.core import clock

    head = PeriodicJobLease.objects.select_for_update().get(name=HEAD_ROW)
    event = AuditEvent(
        sequence=head.last_period + 1,
        prev_hash=head.holder or "0" * 64,
        occurred_at=clock.now(),
        actor="system:bench",
        action="bench.write",
        object_type="casework.periodicjoblease",
        object_id=row,
        detail={"version": counter},
    )
    event.hash = event.compute_hash()
    event.save()
    PeriodicJobLease.objects.filter(name=HEAD_ROW).update(last_period=event.sequence, holder=event.hash)


def _measure(mode: str, writers: int, seconds: float) -> dict[str, Any]:
    from django.db import OperationalError, connections

    from hawiya.audit.services import audit_seal

    stop = threading.Event()
    counts = [0] * writers
    errors = [0] * writers

    def writer(number: int) -> None:
        row = f"bench-writer-{number}"
        try:
            while not stop.is_set():
                try:
                    _write_once(mode, row, counts[number] + 1)
                    counts[number] += 1
                except OperationalError:
                    errors[number] += 1
        finally:
            connections.close_all()

    def sealer() -> None:
        try:
            while not stop.wait(1.0):
                while audit_seal() is not None:
                    pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    if mode in ("merkle", "action-merkle"):
        threads.append(threading.Thread(target=sealer))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"mode": mode, "writers": writers, "per_second": sum(counts) / elapsed, "errors": sum(errors)}


def worker(seconds: float, writer_counts: list[int]) -> None:
    """In the child process: migrate, make the rows, measure every mode and writer count."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from hawiya.audit.selectors import audit_log_verify
    from hawiya.audit.services import audit_seal
    from hawiya.casework.models import PeriodicJobLease

    call_command("migrate", verbosity=0, interactive=False)
    names = [HEAD_ROW, *(f"bench-writer-{n}" for n in range(max(writer_counts)))]
    PeriodicJobLease.objects.bulk_create(
        [PeriodicJobLease(name=name) for name in names], ignore_conflicts=True
    )
    results = []
    for mode in ("unaudited", "merkle", "action-unaudited", "action-merkle"):
        for writers in writer_counts:
            results.append(_measure(mode, writers, seconds))
    while audit_seal() is not None:
        pass
    verified = audit_log_verify()
    # The old design last: its chained rows (format 1) come after the Merkle log has begun, which
    # audit_verify rightly refuses, so the log is verified before them.
    for writers in writer_counts:
        results.append(_measure("chain-lock", writers, seconds))
    print(json.dumps({"vendor": connection.vendor, "results": results, "verify": verified.message}))


def _child(env: dict[str, str], seconds: float, writer_counts: list[int]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", "--seconds", str(seconds)]
    command += ["--writers", ",".join(map(str, writer_counts))]
    result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"the benchmark child failed ({result.returncode})")
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def _base_env(var_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HAWIYA_DEMO": "1",
            "HAWIYA_VAR_DIR": var_dir,
            "HAWIYA_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "hawiya.config.settings",
            "PYTHONPATH": str(REPO / "src"),
        }
    )
    return env


def _recreate_postgres_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    maintenance = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _report(engine: str, answer: dict[str, Any]) -> dict[tuple[str, int], float]:
    rates = {(row["mode"], row["writers"]): float(row["per_second"]) for row in answer["results"]}
    errors = {(row["mode"], row["writers"]): int(row["errors"]) for row in answer["results"]}
    print(f"\n{engine}  ({answer['verify']})")
    print(
        f"  {'writers':>7}  {'unaudited/s':>12}  {'merkle/s':>10}  {'ratio':>6}  "
        f"{'chain-lock/s':>13}  {'ratio':>6}"
    )
    for writers in sorted({w for _, w in rates}):
        plain = rates[("unaudited", writers)]
        merkle, chained = rates[("merkle", writers)], rates[("chain-lock", writers)]
        print(
            f"  {writers:>7}  {plain:>12,.0f}  {merkle:>10,.0f}  {merkle / plain:>6.2f}  "
            f"{chained:>13,.0f}  {chained / plain:>6.2f}"
        )
    print(f"  action-sized write: {'writers':>7}  {'unaudited/s':>12}  {'merkle/s':>10}  {'ratio':>6}")
    for writers in sorted({w for _, w in rates}):
        plain, merkle = rates[("action-unaudited", writers)], rates[("action-merkle", writers)]
        print(f"  {'':18}  {writers:>7}  {plain:>12,.0f}  {merkle:>10,.0f}  {merkle / plain:>6.2f}")
    failed = {key: count for key, count in errors.items() if count}
    if failed:
        print(f"  transactions that failed (locked/serialisation) and were retried: {failed}")
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per cell")
    parser.add_argument("--writers", default="1,4,16")
    parser.add_argument("--engines", default="sqlite,postgresql", help="which of sqlite,postgresql to run")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    writer_counts = [int(n) for n in options.writers.split(",")]
    if options.worker:
        worker(options.seconds, writer_counts)
        return 0
    print(
        f"audit benchmark — {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{options.seconds:g} s a cell"
    )
    engines = options.engines.split(",")
    final: dict[tuple[str, int], float] = {}
    if "sqlite" in engines:
        with tempfile.TemporaryDirectory(prefix="hawiya-bench-") as var_dir:
            env = _base_env(var_dir)
            env.pop("DATABASE_URL", None)
            final = _report("SQLite (WAL)", _child(env, options.seconds, writer_counts))
    url = os.environ.get("DATABASE_URL", "")
    if "postgresql" in engines and url.startswith(("postgres://", "postgresql://")):
        name = urlsplit(url).path.lstrip("/")
        if "bench" not in name:
            print(
                f"\nPostgreSQL skipped: the benchmark drops its database, and {name!r} has no 'bench' "
                "in its name."
            )
        else:
            _recreate_postgres_database(url)
            with tempfile.TemporaryDirectory(prefix="hawiya-bench-") as var_dir:
                env = _base_env(var_dir)
                env["DATABASE_URL"] = url
                env.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
                final = _report(f"PostgreSQL ({name})", _child(env, options.seconds, writer_counts))
    top = max(writer_counts)
    if not final:
        print("nothing measured: no engine selected (or DATABASE_URL missing)")
        return 1
    action = final[("action-merkle", top)] / final[("action-unaudited", top)]
    print(f"audited/unaudited at {top} writers, action-sized write: {action:.2f}")
    print(f"audited/unaudited at {top} writers: {final[('merkle', top)] / final[('unaudited', top)]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
