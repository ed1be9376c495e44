"""Test support shared by every app's tests: an outside party's JSON API (the SMS operator, the
payment gateway, the courier, the ABIS, the scanner bridge) on a real socket at 127.0.0.1, so the
real HTTP adapters are tested over real HTTP. It answers from a script and records every request.

Never used by the application; stdlib only (no app import: the kernel sits below every app).
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self


@dataclass(frozen=True)
class Reply:
    """What the partner answers to one request."""

    status: int = 200
    body: bytes | None = None  # None: FakePartner.default_body, {"id": "op-<n>"}
    delay: float = 0.0  # seconds to wait first (the wait ends early when the partner stops)
    headers: Mapping[str, str] = field(default_factory=dict)
    hang_up: bool = False  # after the delay, close the connection without an answer

    @classmethod
    def json(cls, payload: object, status: int = 200) -> Reply:
        return cls(status=status, body=json.dumps(payload).encode())


class Received(NamedTuple):
    path: str
    headers: dict[str, str]
    payload: Any  # the JSON body, or the raw bytes when it is not JSON


class FakePartner:
    """A partner's JSON API on a real socket. Each request is answered with the next scripted
    reply (`answer`), else with `respond(request)` (by default 200 and `{"id": "op-<n>"}`, the
    n-th request). Use it as a context manager: it serves inside the block.

    `keep_alive`: speak HTTP/1.1 and keep connections open between requests, as a real partner
    does (`peers` then shows which connection each request came on); by default HTTP/1.0, one
    connection per request."""

    def __init__(self, *, keep_alive: bool = False) -> None:
        self.replies: deque[Reply] = deque()
        self.received: list[Received] = []
        self.peers: list[tuple[str, int]] = []  # the client's address of each request
        # Set when the partner stops: a delayed or hung-up answer stops waiting.
        self.release = threading.Event()
        partner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:  # the http.server naming convention
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = raw
                request = Received(self.path, dict(self.headers.items()), payload)
                partner.received.append(request)
                partner.peers.append(self.client_address[:2])
                reply = partner.replies.popleft() if partner.replies else partner.respond(request)
                if reply.delay:
                    partner.release.wait(reply.delay)
                if reply.hang_up:
                    self.close_connection = True
                    return
                body = reply.body if reply.body is not None else partner.default_body()
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
        """Answer the next requests with `replies`, in order."""
        self.replies.extend(replies)

    def respond(self, request: Received) -> Reply:
        """The answer when no scripted reply is left (a subclass may answer by path or state)."""
        return Reply()

    def default_body(self) -> bytes:
        return json.dumps({"id": f"op-{len(self.received)}"}).encode()

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def refused_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
