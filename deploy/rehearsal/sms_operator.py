"""The rehearsal's SMS operator: the outside party the workers hand text messages to.

It behaves as the real operator's JSON API does for Hawiya's HTTP client (POST /messages with a
bearer token, answered {"id": ...}), de-duplicating on the message's `reference` as the operator
promises, and counts what it received, so the rehearsal can tell whether a message reached a
phone twice. Its own pages (GET /_rehearsal/...) let the load generator read the codes "on the
phone". Standard library only; it runs in its own network namespace.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

lock = threading.Lock()
delivered: dict[str, dict[str, str]] = {}  # reference -> the message, once
posts: Counter[str] = Counter()  # reference -> how many times the workers handed it over
by_phone: dict[str, list[str]] = {}  # phone -> bodies, in order
in_flight: Counter[str] = Counter()  # client address -> requests being answered now


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    token = ""
    delay = 0.0  # seconds before answering a message (after it has reached the phone)

    def _answer(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/messages" or self.headers.get("Authorization") != f"Bearer {self.token}":
            self._answer(401, {"error": "unauthorized"})
            return
        message = json.loads(raw)
        reference = str(message["reference"])
        client = self.client_address[0]
        with lock:
            posts[reference] += 1
            if reference not in delivered:
                delivered[reference] = message
                by_phone.setdefault(str(message["to"]), []).append(str(message["body"]))
            in_flight[client] += 1
        # The message is on the phone; the worker learns it only after the delay (a worker killed
        # now must hand it over again, and the operator must not send it twice).
        try:
            time.sleep(self.delay)
            self._answer(200, {"id": f"op-{reference}"})
        finally:
            with lock:
                in_flight[client] -= 1

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        with lock:
            if url.path == "/_rehearsal/messages":
                phone = parse_qs(url.query).get("to", [""])[0]
                self._answer(200, {"bodies": list(by_phone.get(phone, []))})
            elif url.path == "/_rehearsal/in-flight":
                client = parse_qs(url.query).get("from", [""])[0]
                self._answer(200, {"in_flight": in_flight[client]})
            elif url.path == "/_rehearsal/stats":
                self._answer(
                    200,
                    {
                        "delivered": len(delivered),
                        "posts": sum(posts.values()),
                        "references": sorted(delivered),
                    },
                )
            else:
                self._answer(404, {"error": "not found"})

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--token", required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    options = parser.parse_args()
    Handler.token = options.token
    Handler.delay = options.delay
    ThreadingHTTPServer((options.bind, options.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
