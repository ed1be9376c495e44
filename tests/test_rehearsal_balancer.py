"""The rehearsal's HAProxy configuration (deploy/rehearsal/rehearsal.py), run for real in front of two
fake web nodes: one that reads each request and dies before answering (as a SIGKILLed node does),
one that answers. A safe request is sent again to the node that answers; a POST is not: it may
already have been applied by the node that died, so the client gets a 502 (docs/design.md §8).
"""

from __future__ import annotations

import collections
import importlib.util
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import httpx
import pytest

REHEARSAL = Path(__file__).resolve().parents[1] / "deploy" / "rehearsal" / "rehearsal.py"


def rehearsal_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hawiya_rehearsal", REHEARSAL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up by name.
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


class Node(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, dies: bool) -> None:
        self.dies = dies
        self.seen: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Node

    def log_message(self, format: str, *args: object) -> None:
        pass

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with self.server.lock:
            self.server.seen["check" if self.path == "/readyz" else self.command] += 1
        if self.path != "/readyz" and self.server.dies:
            # The request arrived whole; the process is gone before it answers.
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_HEAD = answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[tuple[str, Node, Node]]:
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if haproxy is None:
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    dying, alive = Node(dies=True), Node(dies=False)
    for node in (dying, alive):
        threading.Thread(target=node.serve_forever, daemon=True).start()
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        rehearsal_module().haproxy_config(
            f"127.0.0.1:{port}", {"dying": dying.address, "alive": alive.address}
        )
    )
    process = subprocess.Popen(
        [haproxy, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Both nodes have passed their checks (rise 2) before the requests.
        deadline = time.monotonic() + 30
        while min(dying.seen["check"], alive.seen["check"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield url, dying, alive
    finally:
        process.terminate()
        process.wait(timeout=10)
        for node in (dying, alive):
            node.shutdown()
            node.server_close()


def test_a_safe_request_that_got_no_answer_is_sent_to_another_node(balancer):
    url, dying, alive = balancer
    answers = [httpx.get(f"{url}/en/account/", timeout=10).status_code for _ in range(6)]
    assert answers == [200] * 6
    # Round robin sent some to the node that died on them: those were sent again.
    assert dying.seen["GET"] > 0
    assert alive.seen["GET"] == 6


def test_a_post_that_reached_a_node_which_died_is_not_sent_again(balancer):
    url, dying, alive = balancer
    answers = collections.Counter(
        httpx.post(f"{url}/en/sign-in/", data={"login": "x"}, timeout=10).status_code for _ in range(6)
    )
    assert dying.seen["POST"] > 0
    # Each POST the dying node took is answered 502 (it may have been applied there), never
    # replayed on the other node, which saw only the ones sent to it in the first place.
    assert answers[502] == dying.seen["POST"]
    assert answers[200] == alive.seen["POST"]
    assert answers[200] + answers[502] == 6
