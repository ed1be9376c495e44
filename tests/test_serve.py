"""`make run`'s server script (gunicorn, the task worker and the scheduler start together and stop
together) and the entry point it shares with every machine of a cluster (deploy/entrypoint)."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(line) for line in out.stdout.split()]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _embedded_env(tmp_path: Path) -> dict[str, str]:
    """One machine's demo settings (SQLite in tmp_path), whatever the suite's own environment."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HAWIYA_", "DATABASE_URL"))},
        "HAWIYA_VAR_DIR": str(tmp_path),
        "HAWIYA_DEMO": "1",
        "HOST": "127.0.0.1",
        "PORT": str(_free_port()),
        "VENV": str(Path(sys.executable).parents[1]),
        "WEB_WORKERS": "1",
    }
    env.pop("SECRET_KEY", None)
    # Set by the suite's browser tests; a deployment check rightly refuses it (async.E001).
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def test_serve_answers_then_ctrl_c_stops_web_server_worker_and_scheduler(tmp_path: Path) -> None:
    env = _embedded_env(tmp_path)
    env["WEB_KEEPALIVE"] = "8"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        ["scripts/serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A suite started in the background (CI's PostgreSQL pass) inherits an ignored SIGINT, and a
        # shell cannot trap a signal ignored on entry: start the script as a terminal would.
        preexec_fn=_default_sigint,
        # Its own process group, so a failing test can stop the script and every process under it.
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{env['PORT']}/healthz"
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = json.load(response)
            except OSError:
                time.sleep(0.3)
        assert body == {"status": "ok"}
        # The web processes count into the machine's metrics directory, which /metrics adds up.
        base = f"http://127.0.0.1:{env['PORT']}"
        for _ in range(3):
            urllib.request.urlopen(f"{base}/.well-known/openid-configuration", timeout=10).close()
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        counted = [line for line in metrics.splitlines() if line.startswith("hawiya_http_responses_total{")]
        # Only the three discovery requests: the probes polled above are neither counted nor timed.
        assert counted == [
            'hawiya_http_responses_total{method="GET",route="oidc-discovery",status="200"} 3.0'
        ]
        assert list((tmp_path / "metrics").glob("*.db")), (
            "the counters live in the machine's metrics directory"
        )
        # WEB_KEEPALIVE (8 s here) reaches gunicorn: a connection idle for longer than gunicorn's own
        # default (5 s) is still open. Kubernetes sets 75 s, past ingress-nginx's 60 s idle pool.
        kept = http.client.HTTPConnection("127.0.0.1", int(env["PORT"]), timeout=10)
        try:
            kept.request("GET", "/healthz")
            kept.getresponse().read()
            time.sleep(6)
            kept.request("GET", "/healthz")
            assert kept.getresponse().status == 200
        finally:
            kept.close()
        children = _children(server.pid)
        assert len(children) == 3, "gunicorn, the worker and the scheduler run under the script"

        server.send_signal(signal.SIGINT)
        # gunicorn waits at most --graceful-timeout (10 s) for its workers.
        output, _ = server.communicate(timeout=30)
        assert server.returncode == 0, output
        assert f"http://127.0.0.1:{env['PORT']}/" in output
        assert "Hawiya stopped." in output
        assert "Terminated" not in output.splitlines(), "no job-control noise on a clean stop"
        for pid in children:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_the_entry_point_names_its_roles_and_refuses_an_unknown_one() -> None:
    result = subprocess.run(
        ["deploy/entrypoint", "sweep"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 64
    assert "web|worker|scheduler|migrate|check|audit-verify" in result.stderr


def test_the_audit_verify_role_runs_the_audit_verify_command(tmp_path: Path) -> None:
    # The daily CronJob's role (deploy/kubernetes/base/audit-verify.yaml).
    result = subprocess.run(
        ["deploy/entrypoint", "audit-verify", "--help"],
        cwd=ROOT,
        env=_embedded_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Verify the audit log" in result.stdout


def test_the_check_role_fails_on_a_server_missing_its_secrets_and_passes_in_demo(tmp_path: Path) -> None:
    demo = _embedded_env(tmp_path)
    passed = subprocess.run(
        ["deploy/entrypoint", "check"], cwd=ROOT, env=demo, capture_output=True, text=True
    )
    assert passed.returncode == 0, passed.stderr

    # A server (a database URL, not demo mode) whose operator forgot the SMS operator's token.
    server = {k: v for k, v in demo.items() if k != "HAWIYA_DEMO"}
    server |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
        "SECRET_KEY": "s" * 50,
        "HAWIYA_FIELD_KEYS": "Z8ZbX1zG-KmYxrRYNkR6IFpyB5jQOdpTSGOO3-ytsDA=",
    }
    failed = subprocess.run(
        ["deploy/entrypoint", "check"], cwd=ROOT, env=server, capture_output=True, text=True
    )
    assert failed.returncode != 0
    assert "SMS_OPERATOR_TOKEN" in failed.stderr
