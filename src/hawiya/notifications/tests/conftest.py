"""A real operator on 127.0.0.1 and the real task worker, for the SMS channel's tests."""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from hawiya.core import clock
from hawiya.notifications.models import SmsMessage

TOKEN = "operator-test-token"


@dataclass
class Reply:
    """What the fake operator answers to one request."""

    status: int = 200
    body: bytes | None = None  # None: {"id": "op-<n>"}
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    payload: Any


class Operator:
    """An SMS operator's JSON API on a real socket: answers from a script, records every request."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.received: list[Received] = []
        self.release = threading.Event()
        operator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server naming convention
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = raw
                operator.received.append(Received(self.path, dict(self.headers.items()), payload))
                reply = operator.replies.popleft() if operator.replies else Reply()
                if reply.delay:
                    operator.release.wait(reply.delay)
                body = reply.body
                if body is None:
                    body = json.dumps({"id": f"op-{len(operator.received)}"}).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hung up on a slow answer: that is the test

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def __enter__(self) -> Operator:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def operator() -> Iterator[Operator]:
    with Operator() as running:
        yield running


@pytest.fixture
def use_operator(settings: Any, operator: Operator) -> Operator:
    """Settings that send through the HTTP client to the local operator."""
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = operator.url + "/v1"
    settings.SMS_OPERATOR_TOKEN = TOKEN
    settings.SMS_SENDER_ID = "Hawiya"
    settings.SMS_OPERATOR_TIMEOUT = 0.5
    return operator


@pytest.fixture
def use_demo_client(settings: Any) -> None:
    settings.HAWIYA_SMS_CLIENT = "demo"


@pytest.fixture
def refused_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_worker() -> None:
    """The real db_worker, in batch mode: runs every task that is due, then returns."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def fast_forward() -> None:
    """Make every waiting retry due now, as if its backoff had passed."""
    past = clock.now() - dt.timedelta(seconds=1)
    SmsMessage.objects.filter(status=SmsMessage.Status.QUEUED).update(next_attempt_at=past)
    DBTaskResult.objects.filter(status="READY").update(run_after=past)


def pending_tasks() -> list[DBTaskResult[..., Any]]:
    return list(DBTaskResult.objects.filter(status="READY").order_by("run_after"))
