"""Hawiya on many hosts, rehearsed on one Linux machine (run it through deploy/rehearsal/run, as root).

Each host is a network namespace joined to one bridge by a veth pair:

    lb      10.89.0.10  HAProxy: health checks on /readyz, retries of safe requests, redispatch
    web1-3  10.89.0.11-13  deploy/entrypoint web
    db1     10.89.0.21  PostgreSQL primary, PgBouncer (transaction mode) on :6432
    db2     10.89.0.22  PostgreSQL streaming replica (pg_basebackup -R)
    redis   10.89.0.30  Redis (cache, rate limits)
    work1-2 10.89.0.41-42  deploy/entrypoint worker
    sched1-2 10.89.0.51-52  deploy/entrypoint scheduler
    sms     10.89.0.60  the SMS operator (deploy/rehearsal/sms_operator.py)

Under a steady load of sign-ins (password + the code "on the phone") and page views through
HAProxy, it kills a web node, restarts every web node in turn, kills a worker while it sends
text messages, lets both schedulers run the minute jobs, and reports cards lost on the primary
while the replica lags. It prints each figure and exits non-zero if any is off. Every loop is
bounded; traffic stays on the bridge's private addresses.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import html
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("VENV", REPO / ".venv")).resolve()
PYTHON = str(VENV / "bin" / "python")
PG_BIN = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
BRIDGE = "hwy-br0"
NET = "10.89.0"
HOSTS = {
    "lb": 10,
    "web1": 11,
    "web2": 12,
    "web3": 13,
    "db1": 21,
    "db2": 22,
    "redis": 30,
    "work1": 41,
    "work2": 42,
    "sched1": 51,
    "sched2": 52,
    "sms": 60,
}
WEBS = ["web1", "web2", "web3"]
LB_URL = f"https://{NET}.10"
SMS_URL = f"http://{NET}.60:9000"
PASSWORD = "Rehearsal-pass-2026!"  # noqa: S105 (the rehearsal's throw-away accounts)


def ip(host: str) -> str:
    return f"{NET}.{HOSTS[host]}"


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


# --- Hosts ---------------------------------------------------------------------------------------


def network_down() -> None:
    """Remove the hosts, and whatever an earlier run left in them (a run with --keep, a crash)."""
    for host in HOSTS:
        ns = f"hwy-{host}"
        pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        sh("ip", "netns", "delete", ns, check=False)
        sh("ip", "link", "delete", f"hv-{host}", check=False)
    sh("ip", "link", "delete", BRIDGE, check=False)


def network_up() -> None:
    network_down()
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{NET}.1/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for host, number in HOSTS.items():
        ns = f"hwy-{host}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", f"hv-{host}", "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", f"hv-{host}", "master", BRIDGE, "up")
        sh("ip", "-n", ns, "addr", "add", f"{NET}.{number}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


@dataclass
class Cluster:
    work: Path
    short: bool
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def start(
        self, name: str, host: str, argv: list[str], *, user: str = "", env: dict[str, str] | None = None
    ) -> None:
        """Start `argv` on `host` (its network namespace), as `user`, its output in work/<name>.log."""
        prefix = ["ip", "netns", "exec", f"hwy-{host}"] + (["runuser", "-u", user, "--"] if user else [])
        log = (self.work / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            prefix + argv,
            cwd=REPO,
            env=env or self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def send(self, name: str, signum: int) -> None:
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, signum)

    def stop(self, name: str, signum: int = signal.SIGTERM, timeout: float = 20) -> None:
        process = self.processes[name]
        self.send(name, signum)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.send(name, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                self.stop(name, timeout=10)

    def run_on(self, host: str, argv: list[str], env: dict[str, str] | None = None) -> str:
        """Run a one-off command on `host` and return its output (raises with it on failure)."""
        result = subprocess.run(
            ["ip", "netns", "exec", f"hwy-{host}", *argv],
            cwd=REPO,
            env=env or self.env,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"{' '.join(argv[:3])} on {host} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout


def django_value(cluster: Cluster, code: str) -> Any:
    """Run `code` (Python that prints one JSON value last) in Django on a rehearsal host."""
    output = cluster.run_on("web1", [PYTHON, "manage.py", "shell", "-c", code])
    return json.loads(output.strip().splitlines()[-1])


OUTBOX_BY_STATUS = (
    "import json; from django.db.models import Count; from hawiya.notifications.models import SmsMessage; "
    "print(json.dumps(dict(SmsMessage.objects.values_list('status').annotate(n=Count('id')))))"
)


def outbox_drained(cluster: Cluster) -> bool:
    outbox = django_value(cluster, OUTBOX_BY_STATUS)
    return not outbox.get("queued") and not outbox.get("sending")


def wait_for(what: str, probe: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except (OSError, httpx.HTTPError, subprocess.SubprocessError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"timed out waiting for {what}")


def pg_ready(host: str, port: int = 5432) -> bool:
    return sh(str(PG_BIN / "pg_isready"), "-h", ip(host), "-p", str(port), "-q", check=False).returncode == 0


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


# --- Services ------------------------------------------------------------------------------------


def databases_up(cluster: Cluster) -> None:
    pg = cluster.work / "pg"
    pg.mkdir()
    shutil.chown(pg, "postgres", "postgres")
    primary, replica = pg / "primary", pg / "replica"
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "initdb"),
            "-D",
            str(primary),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    settings = {
        "listen_addresses": f"'{ip('db1')}'",
        "unix_socket_directories": f"'{pg}'",
        "max_connections": "300",
        "wal_level": "replica",
        "max_wal_senders": "5",
        "timezone": "'UTC'",  # Django then never sends SET TIME ZONE (session state PgBouncer would share)
        "fsync": "off",  # a rehearsal: the data is thrown away
    }
    with (primary / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
    with (primary / "pg_hba.conf").open("a") as hba:
        hba.write(f"host all all {NET}.0/24 trust\nhost replication all {NET}.0/24 trust\n")
    cluster.start("postgres-primary", "db1", [str(PG_BIN / "postgres"), "-D", str(primary)], user="postgres")
    wait_for("the primary", lambda: pg_ready("db1"))
    sh(str(PG_BIN / "createdb"), "-h", ip("db1"), "-U", "postgres", "hawiya")
    subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            "hwy-db2",
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "pg_basebackup"),
            "-h",
            ip("db1"),
            "-U",
            "postgres",
            "-D",
            str(replica),
            "-R",
            "-X",
            "stream",
            "--no-sync",
            "--checkpoint=fast",  # a spread checkpoint would make it wait minutes
        ],
        check=True,
        capture_output=True,
    )
    with (replica / "postgresql.conf").open("a") as conf:
        conf.write(f"listen_addresses = '{ip('db2')}'\nunix_socket_directories = '{pg / 'replica-socket'}'\n")
    (pg / "replica-socket").mkdir()
    shutil.chown(pg / "replica-socket", "postgres", "postgres")
    cluster.start("postgres-replica", "db2", [str(PG_BIN / "postgres"), "-D", str(replica)], user="postgres")
    wait_for("the replica", lambda: pg_ready("db2"))

    bouncer = pg / "pgbouncer"
    bouncer.mkdir()
    (bouncer / "users.txt").write_text('"postgres" ""\n')
    (bouncer / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"hawiya = host={ip('db1')} port=5432 dbname=hawiya\n"
        "[pgbouncer]\n"
        f"listen_addr = {ip('db1')}\nlisten_port = 6432\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {bouncer / 'users.txt'}\n"
        "pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = 40\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    shutil.chown(bouncer, "postgres", "postgres")
    for item in bouncer.iterdir():
        shutil.chown(item, "postgres", "postgres")
    cluster.start("pgbouncer", "db1", ["pgbouncer", str(bouncer / "pgbouncer.ini")], user="postgres")
    wait_for("PgBouncer", lambda: pg_ready("db1", 6432))


def certificate(cluster: Cluster) -> Path:
    """A self-signed certificate for the balancer's address (HAProxy terminates TLS)."""
    key, cert = cluster.work / "lb.key", cluster.work / "lb.crt"
    sh(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=hawiya.rehearsal",
        "-addext",
        f"subjectAltName=IP:{ip('lb')}",
        "-keyout",
        str(key),
        "-out",
        str(cert),
    )
    combined = cluster.work / "lb.pem"
    combined.write_text(cert.read_text() + key.read_text())
    return cert


def haproxy_config(bind: str, servers: dict[str, str], admin_socket: Path | None = None) -> str:
    """The balancer's configuration: `bind` is the frontend's address and options, `servers` each
    web node's name and address, `admin_socket` where its runtime API listens (a node is taken out
    before it is restarted). tests/test_rehearsal_balancer.py runs it in front of fake nodes."""
    lines = "\n".join(
        f"    server {name} {address} check inter 500 fall 2 rise 2" for name, address in servers.items()
    )
    admin = f"\n    stats socket {admin_socket} mode 600 level admin" if admin_socket else ""
    return f"""global
    maxconn 2000
    log stdout format raw local0 info{admin}
defaults
    mode http
    log global
    # Only what went wrong: errors and requests retried or redispatched, with their termination state.
    option httplog
    option dontlog-normal
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # Idle keep-alive longer than the clients' own (httpx: 5 s), as browsers' are shorter than
    # a balancer's: the client, not HAProxy, closes an idle connection, so none is reused as it closes.
    timeout http-keep-alive 60s
    timeout check 2s
    option forwardfor
    # A node that dies with a request in flight: a safe request (GET, HEAD, OPTIONS) goes to
    # another node. A request can be sent again only if HAProxy still holds all of it: wait for a
    # request's whole body before choosing a node (small forms), so it stays in the buffer.
    option http-buffer-request
    retry-on all-retryable-errors
    retries 3
    option redispatch 1
frontend public
    bind {bind}
    http-request set-header X-Forwarded-Proto https
    default_backend web
backend web
    balance roundrobin
    # Never send a non-idempotent request twice: a POST that reached a node which then died may
    # have been applied (a booking, a payment, a loss report), so it is answered 502, not replayed
    # elsewhere. disable-l7-retry leaves the connection-failure retries (the request never left
    # HAProxy), so a POST to a node already gone still goes to another one (docs/design.md §8).
    http-request disable-l7-retry if !METH_GET !METH_HEAD !METH_OPTIONS
    option httpchk GET /readyz
    http-check expect status 200
{lines}
"""


def haproxy_up(cluster: Cluster) -> None:
    config = cluster.work / "haproxy.cfg"
    config.write_text(
        haproxy_config(
            f"{ip('lb')}:443 ssl crt {cluster.work / 'lb.pem'}",
            {web: f"{ip(web)}:8000" for web in WEBS},
            admin_socket=cluster.work / "haproxy.sock",
        )
    )
    cluster.start("haproxy", "lb", ["haproxy", "-db", "-f", str(config)])
    wait_for(
        "HAProxy",
        lambda: (
            httpx.get(f"{LB_URL}/healthz", verify=str(cluster.work / "lb.crt"), timeout=2).status_code == 200
        ),
    )


def haproxy_admin(cluster: Cluster, command: str) -> str:
    """One command to HAProxy's runtime API (its socket is a file, reachable from any namespace)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as admin:
        admin.settimeout(5)
        admin.connect(str(cluster.work / "haproxy.sock"))
        admin.sendall(f"{command}\n".encode())
        chunks = []
        while chunk := admin.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def web_sessions(cluster: Cluster, web: str) -> int:
    """The requests HAProxy has on `web` now (show stat's scur)."""
    for line in haproxy_admin(cluster, "show stat").splitlines():
        fields = line.split(",")
        if fields[:2] == ["web", web]:
            return int(fields[4] or 0)
    raise RuntimeError(f"HAProxy does not list {web}")


def web_drain(cluster: Cluster, web: str) -> None:
    """Take `web` out of the balancer before a planned stop, as the Deployment's preStop wait does:
    no request is sent to it any more (nor on a kept-alive connection it is about to close), and
    those it has finish. A POST sent on a connection the node closes is not sent again (it might
    have been applied), so a restart without this loses the POSTs that meet that race."""
    haproxy_admin(cluster, f"set server web/{web} state maint")
    wait_for(f"{web}'s requests to finish", lambda: web_sessions(cluster, web) == 0, timeout=20)


def web_start(cluster: Cluster, web: str) -> None:
    env = {**cluster.env, "HOST": ip(web), "PORT": "8000", "WEB_WORKERS": "2", "WEB_THREADS": "4"}
    cluster.start(web, web, ["deploy/entrypoint", "web"], env=env)
    wait_for(f"{web}", lambda: http_ok(f"http://{ip(web)}:8000/readyz"))


# --- Load ----------------------------------------------------------------------------------------


@dataclass
class Load:
    citizens: list[dict[str, Any]]
    verify: str
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ok: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[tuple[float, str]] = field(default_factory=list)
    detours: list[tuple[float, str]] = field(default_factory=list)
    taken: int = 0
    busy: set[str] = field(default_factory=set)
    booked: set[str] = field(default_factory=set)
    # The POSTs on their way (a number each), and those on their way when a node was killed: such a
    # POST may have been applied by the node, so HAProxy answers 502 instead of sending it again.
    posts: int = 0
    in_flight: set[int] = field(default_factory=set)
    cut: set[int] = field(default_factory=set)
    cut_failures: list[tuple[float, str]] = field(default_factory=list)
    # Per phone: the passwords posted (each sends one sign-in code), to check none was applied twice.
    password_posts: collections.Counter[str] = field(default_factory=collections.Counter)
    # The POSTs HAProxy closed without an answer, sent once more as a browser does (see `post`).
    resent: list[tuple[float, str]] = field(default_factory=list)
    local: threading.local = field(default_factory=threading.local)

    def take_citizen(self) -> dict[str, Any] | None:
        """The next citizen free to sign in (one journey at a time each, as one person with one
        phone), each at most four times: an account gets five codes an hour."""
        with self.lock:
            for _ in range(len(self.citizens)):
                if self.taken >= 4 * len(self.citizens):
                    return None
                citizen = self.citizens[self.taken % len(self.citizens)]
                self.taken += 1
                if citizen["id_number"] not in self.busy:
                    self.busy.add(citizen["id_number"])
                    return citizen
            return None

    def take_booking(self, citizen: dict[str, Any]) -> bool:
        """True the first time: each paid request is booked once."""
        with self.lock:
            if citizen["replacement"] in self.booked:
                return False
            self.booked.add(citizen["replacement"])
            return True

    def give_back(self, citizen: dict[str, Any]) -> None:
        with self.lock:
            self.busy.discard(citizen["id_number"])

    def post(self, client: httpx.Client, url: str, *, phone: str = "", **kwargs: Any) -> httpx.Response:
        """client.post as a browser sends it, counted while it is on its way. A password post
        names its `phone`: each one sent (a resend too) may send that phone a code.

        When a node closes a kept-alive connection as a request reaches it (it has died, or is
        dying), HAProxy closes the client's kept-alive connection without an answer, so that the
        client sends the request again: browsers do, on a new connection, whatever the method
        (Chromium resends any request a reused connection closed before its answer began). httpx
        does not; this does it once, as a browser would, and counts it."""
        with self.lock:
            self.posts += 1
            number = self.posts
            self.in_flight.add(number)
        self.local.post = number
        try:
            try:
                self.count_password(phone)
                return client.post(url, **kwargs)
            except httpx.RemoteProtocolError as exc:
                if not closed_without_answer(exc):
                    raise
                with self.lock:
                    self.resent.append((time.time(), f"POST {url}"))
                self.count_password(phone)
                return client.post(url, **kwargs)
        finally:
            with self.lock:
                self.in_flight.discard(number)

    def count_password(self, phone: str) -> None:
        if phone:
            with self.lock:
                self.password_posts[phone] += 1

    def killing(self, kill: Any) -> int:
        """Run `kill` (a node's SIGKILL, until its processes have exited), marking the POSTs that may
        be on that node as cut: those on their way before it and those started until it returns.
        Returns how many."""
        with self.lock:
            before, first = set(self.in_flight), self.posts + 1
        kill()
        with self.lock:
            cut = before | set(range(first, self.posts + 1))
            self.cut |= cut
        return len(cut)

    def record(self, what: str, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.ok[what] += 1
            elif error.startswith("POST ") and getattr(self.local, "post", None) in self.cut:
                # This thread's last POST, on its way when its node was killed, failed.
                self.cut_failures.append((time.time(), f"{what}: {error}"))
            else:
                self.failures.append((time.time(), f"{what}: {error}"))

    def detour(self, what: str, message: str) -> None:
        with self.lock:
            self.detours.append((time.time(), f"{what}: {message}"))


def code_on_phone(mobile: str, seen: int, timeout: float = 20) -> str:
    """The newest code the SMS operator delivered to `mobile` after the first `seen` messages."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bodies = httpx.get(f"{SMS_URL}/_rehearsal/messages", params={"to": mobile}, timeout=5).json()[
            "bodies"
        ]
        for body in reversed(bodies[seen:]):
            match = re.search(r"#([0-9]{6})", body)
            if match:
                return match.group(1)
        time.sleep(0.2)
    raise RuntimeError("no code reached the phone")


def codes_on_phone(mobile: str) -> int:
    """How many codes the SMS operator has delivered to `mobile`."""
    bodies = httpx.get(f"{SMS_URL}/_rehearsal/messages", params={"to": mobile}, timeout=5).json()["bodies"]
    return sum(1 for body in bodies if re.search(r"#([0-9]{6})", body))


def csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not match:
        raise RuntimeError(f"no form on {page.url.path}")
    return match.group(1)


def expect(response: httpx.Response, status: int, where: str = "") -> httpx.Response:
    if response.status_code != status or where not in response.headers.get("location", ""):
        # What the page said: its error summary's first entry, if any.
        said = re.search(r'hw-error-summary__list">\s*<li>(?:<a[^>]*>)?([^<]+)', response.text)
        reason = f" ({said.group(1).strip()})" if said else ""
        where_to = response.headers.get("location", "")
        reason += f" to {urlsplit(where_to).path}" if where_to else ""
        message = f"{response.request.method} {response.url.path} -> {response.status_code}{reason}"
        # A server error is a failed request; any other unexpected answer is a proper page the
        # journey did not expect (a sign-in code already used by a node that died after its
        # commit sends the person back to the sign-in page): a detour, counted apart.
        raise RuntimeError(message) if response.status_code >= 500 else Detour(message)
    return response


def closed_without_answer(exc: httpx.RemoteProtocolError) -> bool:
    """httpx's error for a connection closed before any byte of the answer."""
    return "without sending a response" in str(exc)


class Detour(Exception):
    """The server answered properly, but not what the journey expected next."""


def failure(exc: Exception) -> str:
    """What failed, and where: a transport error names its request (method, host, path)."""
    if isinstance(exc, httpx.RequestError):
        return f"{exc.request.method} {exc.request.url.host}{exc.request.url.path}: {exc}"
    return str(exc)


def citizen_journey(load: Load, citizen: dict[str, Any], client: httpx.Client) -> None:
    """Sign in with password and the code from the phone, then the account pages, then sign out."""
    step = "sign-in"
    try:
        seen = len(
            httpx.get(f"{SMS_URL}/_rehearsal/messages", params={"to": citizen["mobile"]}, timeout=5).json()[
                "bodies"
            ]
        )
        page = expect(client.get("/en/sign-in/"), 200)
        expect(
            load.post(
                client,
                "/en/sign-in/",
                phone=citizen["mobile"],
                data={"csrfmiddlewaretoken": csrf(page), "login": citizen["id_number"], "password": PASSWORD},
            ),
            302,
            "/sign-in/code/",
        )
        page = expect(client.get("/en/sign-in/code/"), 200)
        code = code_on_phone(citizen["mobile"], seen)
        expect(
            load.post(
                client,
                "/en/sign-in/code/",
                data={"csrfmiddlewaretoken": csrf(page), "code": code, "method": "sms"},
            ),
            302,
            "/account/",
        )
        load.record("sign-in", None)
        step = "account page"
        for _ in range(3):
            expect(client.get("/en/account/"), 200)
            load.record("account page", None)
        if citizen.get("replacement") and load.take_booking(citizen):
            step = "booking"
            book_visit(load, client, citizen["replacement"])
            load.record("booking", None)
    except Detour as exc:
        load.detour(step, str(exc))
    except (httpx.HTTPError, RuntimeError) as exc:
        load.record(step, failure(exc))


def form_fields(page: httpx.Response) -> dict[str, str]:
    """The hidden fields of the page's forms (the last one of a name wins)."""
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    return {name: html.unescape(value) for name, value in fields}


def book_visit(load: Load, client: httpx.Client, reference: str) -> None:
    """Book the paid request's office visit as a person would: the offices near them, the first
    office, its first day with times, a free time, then the check page's confirmation."""
    start = f"/en/appointments/new/{reference}/"
    page = expect(client.get(start), 200)
    offices = re.findall(r'<input type="radio" name="office" id="[^"]+" value="(\d+)"', page.text)
    if not offices:
        raise Detour(f"no office offered near the citizen for {start}")
    place = form_fields(page)
    query = {"region": place.get("region", ""), "city": place.get("city", ""), "office": offices[0]}
    page = expect(client.get(start, params=query), 200)
    days = re.findall(r'<a class="hw-appointment-day" href="([^"#]+)', page.text)
    if not days:
        raise Detour("no day with times at the office")
    chooser = html.unescape(days[0])
    page = expect(client.get(chooser), 200)
    free = re.findall(r'<input type="radio" name="slot" value="([^"]+)" id="[^"]+">', page.text)
    if not free:
        raise Detour("no free time that day")
    chosen = html.unescape(random.choice(free))
    answer = expect(
        load.post(client, chooser, data={"csrfmiddlewaretoken": csrf(page), "slot": chosen}), 302, "/check/"
    )
    page = expect(client.get(answer.headers["location"]), 200)
    fields = form_fields(page)
    # Booked: the appointment's own page (its reference starts with AP).
    expect(load.post(client, answer.headers["location"], data=fields), 302, "/appointments/AP")


def load_worker(load: Load, number: int) -> None:
    while not load.stop.is_set():
        citizen = load.take_citizen()
        # Each simulated citizen comes from an address of their own, behind a CDN that HAProxy trusts.
        # A browser sends Origin with every form it posts (Django's CSRF check wants it over https).
        headers = {"X-Forwarded-For": f"100.64.{number}.{random.randint(1, 250)}", "Origin": LB_URL}
        with httpx.Client(base_url=LB_URL, headers=headers, timeout=30, verify=load.verify) as client:
            try:
                expect(client.get("/ar/"), 200)
                load.record("home page", None)
            except Detour as exc:
                load.detour("home page", str(exc))
            except (httpx.HTTPError, RuntimeError) as exc:
                load.record("home page", failure(exc))
            if citizen is not None:
                try:
                    citizen_journey(load, citizen, client)
                finally:
                    load.give_back(citizen)
        # A person reads the page before the next click.
        load.stop.wait(random.uniform(0.5, 1.5))


# --- The rehearsal -------------------------------------------------------------------------------


def count_failures(load: Load, since: float) -> list[str]:
    with load.lock:
        return [what for at, what in load.failures if at >= since]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help="the CI version (under 3 minutes)")
    parser.add_argument("--keep", action="store_true", help="leave the hosts and logs up for a look")
    parser.add_argument(
        "--static",
        default="",
        help="a STATIC_ROOT already collected from these sources, used instead of collecting again",
    )
    options = parser.parse_args()
    if os.geteuid() != 0:
        print("the rehearsal builds network namespaces: run it as root", file=sys.stderr)
        return 2
    work = Path("/tmp/hawiya-rehearsal")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o755)
    period = 10 if options.short else 60
    sms_token = secrets.token_urlsafe(24)
    cluster = Cluster(work=work, short=options.short)
    cluster.env = {
        "PATH": f"{VENV / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin",
        "VENV": str(VENV),
        "LANG": "C.UTF-8",
        "HAWIYA_VAR_DIR": str(work / "var"),
        "DATABASE_URL": f"postgres://postgres@{ip('db1')}:6432/hawiya",
        "DATABASE_POOLER": "transaction",
        "DATABASE_REPLICA_URLS": f"postgres://postgres@{ip('db2')}:5432/hawiya",
        "REDIS_URL": f"redis://{ip('redis')}:6379/0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "HAWIYA_FIELD_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "HAWIYA_AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": ip("lb"),
        "HAWIYA_OIDC_ISSUER": f"https://{ip('lb')}",
        "HAWIYA_BEHIND_PROXY": "1",
        # The citizens' addresses: the load generator stands for a CDN in front of HAProxy.
        "HAWIYA_TRUSTED_PROXIES": "2",
        "HAWIYA_SMS_CLIENT": "http",
        "SMS_OPERATOR_URL": SMS_URL,
        "SMS_OPERATOR_TOKEN": sms_token,
        "SMS_OPERATOR_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "HAWIYA_SMS_DOMAIN": "hawiya.rehearsal",
        # The other partners are not called in the rehearsal; the deployment checks want them named.
        "HAWIYA_PAYMENT_GATEWAY_URL": f"{SMS_URL}/payments",
        "HAWIYA_PAYMENT_API_KEY": secrets.token_urlsafe(24),
        "HAWIYA_PAYMENT_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "HAWIYA_BIOMETRIC_MATCHER_URL": f"{SMS_URL}/abis",
        "HAWIYA_BIOMETRIC_MATCHER_TOKEN": secrets.token_urlsafe(24),
        "HAWIYA_COURIER_URL": f"{SMS_URL}/courier",
        "HAWIYA_COURIER_API_TOKEN": secrets.token_urlsafe(24),
        "HAWIYA_COURIER_KEY_ID": "rehearsal",
        "HAWIYA_COURIER_SECRET": secrets.token_urlsafe(32),
        "HAWIYA_SCHEDULER_PERIOD_SECONDS": str(period),
        "HAWIYA_PASSWORD_HASH_CONCURRENCY": "2",
        # A message a killed worker was sending goes out again after its lease and the sweeper's
        # grace: minutes in production, seconds in the short version.
        "SMS_OPERATOR_TIMEOUT": "5",
        "HAWIYA_SMS_LEASE_SECONDS": "11" if options.short else "60",
        "HAWIYA_SMS_STALLED_AFTER_SECONDS": "5" if options.short else "30",
    }
    (work / "var").mkdir()
    figures: list[tuple[str, str, bool]] = []
    load: Load | None = None
    started = time.monotonic()

    def phase(name: str) -> None:
        print(f"[{time.monotonic() - started:4.0f} s] == {name}", flush=True)

    try:
        phase("hosts and services")
        network_up()
        databases_up(cluster)
        cluster.start(
            "redis",
            "redis",
            [
                "redis-server",
                "--bind",
                ip("redis"),
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],
        )
        cluster.start(
            "sms-operator",
            "sms",
            [
                PYTHON,
                "deploy/rehearsal/sms_operator.py",
                "--bind",
                ip("sms"),
                # One argument, "=" joined: a random token may begin with "-", which argparse
                # would read as an option (a CI run stopped on it).
                f"--token={sms_token}",
                "--delay",
                "0.3",
            ],
        )
        wait_for(
            "the SMS operator", lambda: httpx.get(f"{SMS_URL}/_rehearsal/stats", timeout=2).status_code == 200
        )

        phase("the register (migrate on the primary, seed, activate accounts)")
        # Straight to the primary, as a migrate Job would; the demo register and bank need demo mode,
        # which the deployment checks allow only for local host names.
        direct = {
            **cluster.env,
            "DATABASE_URL": f"postgres://postgres@{ip('db1')}:5432/hawiya",
            # As the migrate Job: no statement limit for migrations and loads (core 0001 sets
            # the role's, which every other connection of the rehearsal then runs under).
            "PGOPTIONS": "-c statement_timeout=0",
            "HAWIYA_DEMO": "1",
            "ALLOWED_HOSTS": "localhost",
        }
        cluster.run_on("web1", ["deploy/entrypoint", "migrate", "-v", "0"], env=direct)
        persons = "600" if options.short else "5000"
        cluster.run_on(
            "web1",
            [PYTHON, "manage.py", "seed_population", "--persons", persons, "--seed", "2026", "--demo"],
            env=direct,
        )
        cluster.run_on("web1", [PYTHON, "manage.py", "seed_demo_relying_party"], env=direct)
        accounts = 80 if options.short else 300
        bookers = 20 if options.short else 60  # with a paid replacement to book a visit for
        citizens_file = work / "citizens.jsonl"
        demo_sms = {**direct, "HAWIYA_SMS_CLIENT": "demo"}
        print(
            cluster.run_on(
                "web1",
                [
                    PYTHON,
                    "deploy/rehearsal/seed_accounts.py",
                    str(accounts),
                    PASSWORD,
                    str(citizens_file),
                    str(bookers),
                ],
                env=demo_sms,
            ).strip()
        )
        citizens = [json.loads(line) for line in citizens_file.read_text().splitlines() if line]
        lost_citizens, load_citizens = citizens[:10], citizens[10:]
        # What the image does at build: the static files, with their hashed names (one folder that
        # all three web nodes read, as each container has the same copy).
        # CI collects them once for the rehearsal and the API fuzzing (--static).
        if options.static and (Path(options.static) / "staticfiles.json").is_file():
            (work / "var").mkdir(parents=True, exist_ok=True)
            (work / "var" / "static").symlink_to(Path(options.static).resolve(), target_is_directory=True)
        else:
            cluster.run_on("web1", [PYTHON, "manage.py", "collectstatic", "--no-input", "-v", "0"])
        cluster.run_on("web1", ["deploy/entrypoint", "check"])

        phase("web nodes, workers, schedulers, load balancer")
        for web in WEBS:
            web_start(cluster, web)
        for worker in ("work1", "work2"):
            cluster.start(worker, worker, ["deploy/entrypoint", "worker"])
        for scheduler in ("sched1", "sched2"):
            cluster.start(scheduler, scheduler, ["deploy/entrypoint", "scheduler", "-v", "2"])
        certificate_file = certificate(cluster)
        haproxy_up(cluster)
        schedulers_started = time.time()

        # The activation codes of the register's loading reach the phones before the load starts.
        wait_for("the outbox to drain", lambda: outbox_drained(cluster), timeout=120)
        phase("steady load through HAProxy")
        load = Load(citizens=load_citizens, verify=str(certificate_file))
        codes_before = {citizen["mobile"]: codes_on_phone(citizen["mobile"]) for citizen in load_citizens}
        threads = [threading.Thread(target=load_worker, args=(load, n), daemon=True) for n in range(6)]
        for thread in threads:
            thread.start()
        time.sleep(5 if options.short else 15)

        phase("kill web2 (SIGKILL, no warning)")
        since = time.time()
        # The node is gone when its processes have exited and the kernel has closed their sockets,
        # not when the signal is sent: a POST that HAProxy sends in between, on a kept-alive
        # connection to it, is on its way at the kill too.
        in_flight = load.killing(lambda: cluster.stop("web2", signal.SIGKILL))
        time.sleep(5 if options.short else 20)
        failed = count_failures(load, since)
        figures.append(("failed requests after a web node was killed", str(len(failed)), not failed))
        # A POST the killed node had taken is not sent to another node (it may have been applied):
        # it fails, and only those may; none of the safe requests.
        with load.lock:
            cut_failed = len(load.cut_failures)
        figures.append(
            (
                "POSTs on their way at the kill that failed (not replayed) / POSTs on their way",
                f"{cut_failed} / {in_flight}",
                cut_failed <= in_flight,
            )
        )
        web_start(cluster, "web2")
        time.sleep(2)  # HAProxy's checks see it up (rise 2 x inter 500 ms)

        phase("rolling restart of every web node")
        since = time.time()
        for web in WEBS:
            web_drain(cluster, web)
            cluster.stop(web, signal.SIGTERM)
            web_start(cluster, web)
            haproxy_admin(cluster, f"set server web/{web} state ready")
            time.sleep(2)  # HAProxy's checks see it up (rise 2 x inter 500 ms)
        failed = count_failures(load, since)
        figures.append(("failed requests during the rolling restart", str(len(failed)), not failed))

        phase("kill a worker while it sends text messages")

        # At the moment the operator holds one of a worker's messages: on the phone, not yet
        # answered. Either worker: which one takes the next message is the queue's choice (work1
        # alone once went 30 s without one, while work2 sent them all).
        sending: list[str] = []

        def a_worker_sending() -> bool:
            for worker in ("work1", "work2"):
                answer = httpx.get(f"{SMS_URL}/_rehearsal/in-flight", params={"from": ip(worker)}, timeout=2)
                if answer.json()["in_flight"]:
                    sending.append(worker)
                    return True
            return False

        caught = True
        try:
            wait_for("a worker to be sending", a_worker_sending, timeout=30)
        except RuntimeError:
            caught = False
        killed = sending[0] if sending else "work1"
        cluster.stop(killed, signal.SIGKILL)
        figures.append(("a worker killed while the operator held one of its messages", str(caught), caught))
        time.sleep(3 if options.short else 10)
        cluster.start(killed, killed, ["deploy/entrypoint", "worker"])

        phase("the replica lags: report cards lost on the primary, ask their status")
        lost_file = work / "lost.jsonl"
        lost_file.write_text("".join(json.dumps(citizen) + "\n" for citizen in lost_citizens))
        output = cluster.run_on("web3", [PYTHON, "deploy/rehearsal/lost_then_status.py", str(lost_file)])
        lost = json.loads(output.strip().splitlines()[-1])
        valid_reads, stale_reads = lost["answers"].get("valid", 0), lost["replica_said_valid"]
        figures.append(
            (
                "cards read 'valid' right after being reported lost",
                f"{valid_reads} of {lost['checked']} (the paused replica: {stale_reads} valid)",
                valid_reads == 0 and lost["answers"].get("reported_lost", 0) == lost["checked"],
            )
        )

        # Let the schedulers cover enough periods, then stop the load.
        wanted = 3 * period + 2
        while time.time() - schedulers_started < wanted:
            time.sleep(1)
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        figures.append(
            (
                "requests answered",
                " ".join(f"{k}={v}" for k, v in sorted(load.ok.items())),
                load.ok["sign-in"] > 0 and load.ok["booking"] > 0,
            )
        )
        figures.append(("failed requests in the whole run", str(len(load.failures)), not load.failures))
        # Shown, not judged: how often the kill and the restarts met a kept-alive connection.
        figures.append(
            (
                "POSTs HAProxy closed without an answer, sent again by the client as a browser does",
                str(len(load.resent)),
                True,
            )
        )
        # At most the one journey the SIGKILLed node may have left half done.
        figures.append(
            (
                "journeys sent back a step (a proper page, not the one expected)",
                str(len(load.detours)),
                len(load.detours) <= 1,
            )
        )

        phase("text messages: every one sent, none twice")

        wait_for("the outbox to drain", lambda: outbox_drained(cluster), timeout=60 if options.short else 300)
        outbox = django_value(cluster, OUTBOX_BY_STATUS)
        stats = httpx.get(f"{SMS_URL}/_rehearsal/stats", timeout=5).json()
        sent = outbox.get("sent", 0) + outbox.get("delivered", 0)
        # No POST applied twice: each password posted sent at most one code to its phone.
        twice_sent = [
            mobile
            for mobile, before in codes_before.items()
            if codes_on_phone(mobile) - before > load.password_posts[mobile]
        ]
        figures.append(
            (
                "phones with more sign-in codes than passwords posted (a POST applied twice)",
                str(len(twice_sent)),
                not twice_sent,
            )
        )
        figures.append(
            (
                "text messages: outbox by status / reached a phone / handed over (operator de-duplicates)",
                f"{outbox} / {stats['delivered']} / {stats['posts']}",
                # Every message sent, and each reached the phone exactly once.
                sent == sum(outbox.values()) and stats["delivered"] == sent,
            )
        )

        phase("the minute jobs on two schedulers")
        runs: collections.Counter[tuple[int, str]] = collections.Counter()
        first_logged: dict[str, int] = {}
        for scheduler in ("sched1", "sched2"):
            for line in (work / f"{scheduler}.log").read_text().splitlines():
                match = re.match(r"period (\d+) ran (\S+)", line)
                if not match:
                    continue
                first_logged.setdefault(scheduler, int(match.group(1)))
                if match.group(2) != "-":
                    for job in match.group(2).split(","):
                        runs[(int(match.group(1)), job)] += 1
        # A scheduler's first pass (start-up, every job's first run) may straddle a period's end,
        # and a pass is logged under one period while its later claims fall in the next: judge
        # "every job in every period" from the period after both schedulers' first passes. "Twice"
        # is judged on every period: the lease forbids it whenever it happens.
        settled = max(first_logged.values(), default=0)
        twice = [key for key, n in runs.items() if n > 1]
        runs = collections.Counter({key: n for key, n in runs.items() if key[0] > settled})
        periods = sorted({p for p, _ in runs})
        jobs_per_period = collections.Counter(p for p, _ in runs)
        full = len(jobs_per_period) >= 3 and all(
            n == max(jobs_per_period.values()) for n in jobs_per_period.values()
        )
        figures.append(
            (
                "minute jobs: periods seen / jobs run twice in a period / every job in every period",
                f"{len(periods)} / {len(twice)} / {full}",
                not twice and full,
            )
        )
    except Exception as exc:
        figures.append(("the rehearsal itself", f"stopped: {exc}", False))
    finally:
        if not options.keep:
            cluster.stop_all()
            network_down()

    for title, happened in (
        ("failed requests", load.failures if load else []),
        ("POSTs cut by the kill", load.cut_failures if load else []),
        ("POSTs sent again after a close without an answer", load.resent if load else []),
        ("detours", load.detours if load else []),
    ):
        if happened:
            print(f"\n{title}, by kind:")
            for what, count in collections.Counter(what for _, what in happened).most_common(8):
                print(f"  {count:5d}  {what}")
    print(f"\n== figures ({time.monotonic() - started:.0f} s; logs in {work})")
    for name, value, good in figures:
        print(f"{'ok  ' if good else 'FAIL'} {name}: {value}")
    return 0 if figures and all(good for _, _, good in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
