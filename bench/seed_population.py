"""Benchmark: seed a fresh register with 100,000 persons, on SQLite and (if DATABASE_URL) PostgreSQL.

    .venv/bin/python bench/seed_population.py [--persons 100000] [--seed 1] [--max-seconds 60]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hawiya_bench .venv/bin/python bench/seed_population.py
    DATABASE_URL=... .venv/bin/python bench/seed_population.py --persons 10000000 --engine postgres

Each run is what an operator would type, in a child process: `manage.py migrate`, then
`manage.py seed_population --persons N --seed S`, timed from the outside (wall clock, Django
start-up included) and from the inside (the command's own figure). SQLite runs in a new
temporary directory (HAWIYA_VAR_DIR). PostgreSQL runs against DATABASE_URL after dropping and
recreating that database; to keep a mistyped URL from destroying real data, its name must contain
"bench". Prints the figures and the rows per table; exits non-zero if --max-seconds is given and
a run's total exceeds it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
MANAGE = REPO / "manage.py"
SUMMARY = re.compile(r"seeded (\d+) persons.* in ([0-9.]+) s \((\d+) persons/s\)")
COUNT_ROWS = """
import json
from django.apps import apps
from django.db import connection
tables = {m._meta.db_table: m._default_manager.count() for m in apps.get_app_config("registry").get_models()}
size = 0
if connection.vendor == "postgresql":
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
print(json.dumps({"tables": tables, "size": size}))
"""


@dataclass
class Run:
    engine: str
    persons: int = 0
    command_seconds: float = 0.0
    persons_per_second: float = 0.0
    total_seconds: float = 0.0
    migrate_seconds: float = 0.0
    database_bytes: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    summary: str = ""
    index_builds: list[str] = field(default_factory=list)  # PostgreSQL: "built NAME in S s", slowest first


def _manage(env: dict[str, str], *args: str) -> str:
    # Our own interpreter and manage.py, with arguments this script builds: nothing untrusted.
    result = subprocess.run(
        [sys.executable, str(MANAGE), *args], env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed ({result.returncode})")
    return result.stdout


def _run(engine: str, env: dict[str, str], persons: int, seed: int) -> Run:
    run = Run(engine)
    started = time.perf_counter()
    _manage(env, "migrate", "--no-input", "-v", "0")
    run.migrate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    output = _manage(env, "seed_population", "--persons", str(persons), "--seed", str(seed), "-v", "2")
    run.total_seconds = time.perf_counter() - started
    lines = output.strip().splitlines()
    run.summary = lines[-1]
    run.index_builds = [line for line in lines if line.startswith("built ")]
    match = SUMMARY.search(run.summary)
    if match is None:
        raise SystemExit(f"unexpected output from seed_population: {output!r}")
    run.persons = int(match.group(1))
    run.command_seconds = float(match.group(2))
    run.persons_per_second = float(match.group(3))
    counts = json.loads(_manage(env, "shell", "-c", COUNT_ROWS).strip().splitlines()[-1])
    run.tables = counts["tables"]
    run.database_bytes = counts["size"]
    return run


def _base_env(var_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    # Demo mode: the demo SMS client, so the system checks pass without an operator's credentials.
    env.update({"HAWIYA_DEMO": "1", "HAWIYA_VAR_DIR": var_dir, "HAWIYA_LOG_LEVEL": "WARNING"})
    return env


def bench_sqlite(persons: int, seed: int) -> Run:
    with tempfile.TemporaryDirectory(prefix="hawiya-bench-") as var_dir:
        env = _base_env(var_dir)
        env.pop("DATABASE_URL", None)
        run = _run("SQLite (WAL)", env, persons, seed)
        run.database_bytes = sum(path.stat().st_size for path in Path(var_dir).glob("hawiya.sqlite3*"))
        return run


def _recreate_postgres_database(url: str) -> None:
    import psycopg  # the project's PostgreSQL driver; imported here so SQLite-only runs need nothing
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    maintenance = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def bench_postgres(url: str, persons: int, seed: int) -> Run | None:
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        print(
            f"PostgreSQL skipped: the benchmark drops its database, and {name!r} has no 'bench' in its name."
        )
        return None
    _recreate_postgres_database(url)
    with tempfile.TemporaryDirectory(prefix="hawiya-bench-") as var_dir:
        env = _base_env(var_dir)
        env["DATABASE_URL"] = url
        env.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
        return _run(f"PostgreSQL ({name})", env, persons, seed)


def report(runs: list[Run]) -> None:
    cores = os.cpu_count()
    print(f"\nseed_population benchmark — {cores} cores, Python {sys.version.split()[0]}")
    for run in runs:
        print(f"\n{run.engine}")
        print(f"  command says      {run.summary}")
        print(f"  persons/s         {run.persons_per_second:,.0f}")
        print(f"  seconds (command) {run.command_seconds:.1f}")
        print(f"  seconds (total)   {run.total_seconds:.1f}   (process start to exit)")
        print(f"  migrate (before)  {run.migrate_seconds:.1f} s")
        print(f"  database size     {run.database_bytes / 1e6:,.0f} MB")
        if run.index_builds:
            print("  slowest index and key builds after the load:")
            for line in run.index_builds[:6]:
                print(f"    {line}")
        for table, count in sorted(run.tables.items()):
            print(f"  {table:<36}{count:>10,}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=None, help="fail if a run's total is slower")
    parser.add_argument(
        "--engine", choices=("both", "sqlite", "postgres"), default="both", help="which engines to run"
    )
    options = parser.parse_args()
    runs = [bench_sqlite(options.persons, options.seed)] if options.engine != "postgres" else []
    url = os.environ.get("DATABASE_URL", "")
    if options.engine != "sqlite" and url.startswith(("postgres://", "postgresql://")):
        postgres = bench_postgres(url, options.persons, options.seed)
        if postgres is not None:
            runs.append(postgres)
    report(runs)
    if options.max_seconds is not None:
        slow = [run.engine for run in runs if run.total_seconds > options.max_seconds]
        if slow:
            print(f"\nslower than {options.max_seconds:.0f} s: {', '.join(slow)}")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
