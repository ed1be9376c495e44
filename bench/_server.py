"""What the benchmarks that load a real server share: the database of the run, the server started
as production starts it (deploy/entrypoint web: gunicorn, 2 workers x 4 threads), a bounded load
of kept-alive connections for a fixed time, and how the requests spread over the server's worker
processes (read from the per-process metric files the server writes, core/metrics.py).

Loopback only; every loop is bounded by a duration or a count.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_START_SECONDS = 60
MAX_CONCURRENCY = 64

Request = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body


def prepare_environment(settings_module: str = "hawiya.config.settings") -> str:
    """Demo mode, and the run's database: SQLite in a new temporary directory, or (DATABASE_URL
    set, its name containing "bench") that PostgreSQL database dropped and created afresh.
    Returns the database's engine name for the output."""
    os.environ["HAWIYA_DEMO"] = "1"
    os.environ.setdefault("HAWIYA_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    url = os.environ.get("DATABASE_URL", "")
    if url:
        name = url.rsplit("/", 1)[-1]
        if "bench" not in name:
            sys.exit(f"refusing to drop {name!r}: the benchmark database's name must contain 'bench'")
        base = url.rsplit("/", 1)[0]
        for statement in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
            subprocess.run(["psql", f"{base}/postgres", "-q", "-c", statement], check=True)
        os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
        # The server's processes must decrypt what this one encrypts: one key for all.
        os.environ.setdefault("HAWIYA_FIELD_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    else:
        os.environ["HAWIYA_VAR_DIR"] = tempfile.mkdtemp(prefix="hawiya-bench-")
    for path in (str(ROOT / "src"), str(ROOT / "bench")):
        if path not in sys.path:
            sys.path.insert(0, path)
    return "postgresql" if url else "sqlite"


def collect_static(reuse: str = "") -> None:
    """collectstatic as production runs it (hashed, compressed: about two minutes on 2 cores), or,
    with `reuse`, the STATIC_ROOT an earlier run collected, linked in place (same sources only)."""
    from django.conf import settings
    from django.core.management import call_command

    static_root = Path(settings.STATIC_ROOT)
    if reuse:
        if not (Path(reuse) / "staticfiles.json").is_file():
            sys.exit(f"{reuse} is not a collected STATIC_ROOT (no staticfiles.json)")
        if not static_root.exists():
            static_root.parent.mkdir(parents=True, exist_ok=True)
            static_root.symlink_to(Path(reuse).resolve(), target_is_directory=True)
        return
    call_command("collectstatic", interactive=False, verbosity=0)
    print(f"  static files collected in {static_root} (--static {static_root} reuses them)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def send(connection: http.client.HTTPConnection, request: Request) -> tuple[int, bytes]:
    method, path, headers, body = request
    connection.request(method, path, body=body or None, headers={"Host": "127.0.0.1", **headers})
    response = connection.getresponse()
    return response.status, response.read()


class Server:
    """`deploy/entrypoint web` on 127.0.0.1:`port` with this process's environment (so the same
    database, keys and cache), its metric files in a directory of its own. Extra gunicorn options
    (`extra`) are appended, as the entry point allows."""

    def __init__(self, port: int, extra: Sequence[str] = (), env: dict[str, str] | None = None) -> None:
        self.port = port
        self.metrics_dir = Path(tempfile.mkdtemp(prefix="hawiya-bench-metrics-"))
        environment = {**os.environ, **(env or {})}
        environment.update(
            HOST="127.0.0.1",
            PORT=str(port),
            VENV=str(Path(sys.executable).parent.parent),
            PROMETHEUS_MULTIPROC_DIR=str(self.metrics_dir),
            WEB_LOG_LEVEL="warning",
        )
        self.process = subprocess.Popen(
            [str(ROOT / "deploy" / "entrypoint"), "web", *extra], cwd=ROOT, env=environment
        )

    def __enter__(self) -> Server:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.process.returncode}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                status, _ = send(connection, ("GET", "/healthz", {}, b""))
                connection.close()
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer within {SERVER_START_SECONDS} s")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def worker_pids(self) -> list[int]:
        """The gunicorn master's children (the entry point execs gunicorn: our child is the master)."""
        pid = self.process.pid
        try:
            return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the worker processes have used so far: what a request costs the
        server, whatever else the machine is running (throughput alone moves with the load)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total

    def responses_by_process(self) -> Counter[int]:
        """Responses counted so far by each worker process (hawiya_http_responses in the files
        the processes write under PROMETHEUS_MULTIPROC_DIR, one file per pid)."""
        from prometheus_client.mmap_dict import MmapedDict

        counts: Counter[int] = Counter()
        for path in self.metrics_dir.glob("counter_*.db"):
            pid = int(path.stem.rsplit("_", 1)[-1])
            values = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
            for key, value, _timestamp, _pos in values:
                if json.loads(key)[0] == "hawiya_http_responses":
                    counts[pid] += int(value)
        return counts


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    by_process: Counter[int] = field(default_factory=Counter)
    cpu_seconds: float = 0.0  # used by the server's worker processes during the run

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Server CPU milliseconds per answered request."""
        return 1000 * self.cpu_seconds / max(1, len(self.latencies))

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def line(self) -> str:
        median = statistics.median(self.latencies) if self.latencies else float("nan")
        spread = " / ".join(str(count) for _pid, count in sorted(self.by_process.items()))
        if not sum(self.by_process.values()):
            spread = "(probe: not counted)"
        failed = f"   FAILED {dict(self.failures)}" if self.failures else ""
        return (
            f"  {self.name:<22} {len(self.latencies):>6} in {self.seconds:5.1f} s {self.rate:8.1f} req/s"
            f"   p50 {1000 * median:6.1f} ms  p95 {1000 * self.percentile(0.95):6.1f} ms"
            f"   server CPU {self.cpu_ms:5.2f} ms/req   per process {spread}{failed}"
        )


def load(
    server: Server,
    name: str,
    request: Request | Sequence[Request],
    seconds: float,
    concurrency: int,
    check: Callable[[int, bytes], bool],
) -> Result:
    """`concurrency` threads, each with one kept-alive connection, send `request` again and again
    for `seconds` (a list of requests: each thread goes round it, starting at its own place); an
    answer `check` refuses (or a broken connection) counts as a failure."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency 1..{MAX_CONCURRENCY}")
    requests: Sequence[Request] = [request] if isinstance(request, tuple) else request
    if not requests:
        raise ValueError("no request to send")
    result = Result(name, seconds)
    lock = threading.Lock()
    before = server.responses_by_process()
    cpu_before = server.cpu_seconds()
    deadline = time.perf_counter() + seconds

    def worker(first: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        latencies: list[float] = []
        failures: Counter[str] = Counter()
        turn = first
        try:
            while (started := time.perf_counter()) < deadline:
                turn += 1
                try:
                    status, body = send(connection, requests[turn % len(requests)])
                    if check(status, body):
                        latencies.append(time.perf_counter() - started)
                    else:
                        failures[str(status)] += 1
                except (OSError, http.client.HTTPException) as error:
                    failures[type(error).__name__] += 1
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        finally:
            connection.close()
            with lock:
                result.latencies.extend(latencies)
                result.failures.update(failures)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    result.cpu_seconds = server.cpu_seconds() - cpu_before
    after = server.responses_by_process()
    result.by_process = Counter({pid: after[pid] - before.get(pid, 0) for pid in after})
    return result
