"""A stand-in ABIS on 127.0.0.1 for the tests: the JSON API of registry.matchers, answering from
a script (a reference, a score, a status, raw bytes, or no answer until the test ends) and
recording what it was sent."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "abis-test-token"


class Abis:
    def __init__(self) -> None:
        self.status = 200
        self.enrol_answer: bytes = json.dumps({"reference": "abis-ref-0001"}).encode()
        self.verify_answer: bytes = json.dumps({"score": 100}).encode()
        self.stall = False
        self.released = threading.Event()
        self.received: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        abis = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                abis.received.append((self.path, dict(self.headers), json.loads(raw)))
                if abis.stall:
                    abis.released.wait(timeout=30)
                    return
                answer = abis.enrol_answer if self.path == "/templates" else abis.verify_answer
                self.send_response(abis.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def scores(self, score: object) -> None:
        self.verify_answer = json.dumps({"score": score}).encode()

    def templates_sent(self) -> list[bytes]:
        return [base64.b64decode(body["template_b64"]) for _, _, body in self.received]


@contextmanager
def running_abis() -> Iterator[Abis]:
    """The stand-in ABIS, serving until the block ends (a test module's fixture wraps it)."""
    running = Abis()
    running.thread.start()
    try:
        yield running
    finally:
        running.released.set()
        running.server.shutdown()
        running.server.server_close()
        running.thread.join(timeout=5)


def use_abis(settings: Any, abis: Abis, *, threshold: float = 60.0) -> Abis:
    """The settings choose the HTTP matcher, pointed at the stand-in ABIS."""
    settings.HAWIYA_BIOMETRIC_MATCHER = "http"
    settings.HAWIYA_BIOMETRIC_MATCHER_URL = abis.url
    settings.HAWIYA_BIOMETRIC_MATCHER_TOKEN = TOKEN
    settings.HAWIYA_BIOMETRIC_MATCHER_TIMEOUT = 2.0
    settings.HAWIYA_BIOMETRIC_MATCH_THRESHOLD = threshold
    return abis
