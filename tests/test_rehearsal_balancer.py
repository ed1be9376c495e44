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
from collections.abc import Callable, Iterator
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

    def __init__(self, *, dies: bool, handler: type[BaseHTTPRequestHandler] | None = None) -> None:
        self.dies = dies
        self.seen: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), handler or Handler)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Node

    def log_message(self, format: str, *args: object) -> None:
        pass

    def gone(self) -> bool:
        """The node is gone before it answers this request."""
        return self.server.dies

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with self.server.lock:
            self.server.seen["check" if self.path == "/readyz" else self.command] += 1
        if self.path != "/readyz" and self.gone():
            # The request arrived whole; the process is gone before it answers.
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_HEAD = answer


class KeptAliveThenGone(Handler):
    """A node that keeps its connections alive, and closes each one without an answer when a second
    request comes on it: what HAProxy meets when it sends a request on an idle connection to a node
    that has just died (the kernel closed it; HAProxy had not yet seen the close)."""

    protocol_version = "HTTP/1.1"

    def gone(self) -> bool:
        answered = getattr(self, "answered", False)
        self.answered = True
        return answered


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def start_balancer(tmp_path: Path) -> Iterator[Callable[[dict[str, Node]], str]]:
    """Start the rehearsal's HAProxy in front of the given nodes; returns its URL."""
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if haproxy is None:
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    started: list[tuple[subprocess.Popen[bytes], list[Node]]] = []

    def start(nodes: dict[str, Node]) -> str:
        for node in nodes.values():
            threading.Thread(target=node.serve_forever, daemon=True).start()
        port = free_port()
        config = tmp_path / "haproxy.cfg"
        config.write_text(
            rehearsal_module().haproxy_config(
                f"127.0.0.1:{port}", {name: node.address for name, node in nodes.items()}
            )
        )
        process = subprocess.Popen(
            [haproxy, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        started.append((process, list(nodes.values())))
        # Every node has passed its checks (rise 2) before the requests.
        deadline = time.monotonic() + 30
        while min(node.seen["check"] for node in nodes.values()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for process, nodes in started:
            process.terminate()
            process.wait(timeout=10)
            for node in nodes:
                node.shutdown()
                node.server_close()


@pytest.fixture
def balancer(start_balancer: Callable[[dict[str, Node]], str]) -> tuple[str, Node, Node]:
    dying, alive = Node(dies=True), Node(dies=False)
    return start_balancer({"dying": dying, "alive": alive}), dying, alive


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


def test_a_post_on_a_reused_connection_to_a_node_gone_is_closed_without_an_answer(start_balancer):
    # HAProxy's "http-reuse safe": the client's second request goes on HAProxy's kept-alive
    # connection to the node; the node closes it unanswered, so HAProxy closes the client's
    # connection without an answer too, for the client to send it again (no 502).
    node = Node(dies=False, handler=KeptAliveThenGone)
    url = start_balancer({"web": node})
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.post("/en/sign-in/", data={"login": "x"}).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError) as closed:
            client.post("/en/sign-in/", data={"login": "x"})
    assert rehearsal_module().closed_without_answer(closed.value)
    assert node.seen["POST"] == 2


def test_the_rehearsals_clients_send_such_a_post_again_once_as_a_browser_does(start_balancer):
    rehearsal = rehearsal_module()
    node = Node(dies=False, handler=KeptAliveThenGone)
    url = start_balancer({"web": node})
    load = rehearsal.Load(citizens=[], verify="")
    with httpx.Client(base_url=url, timeout=10) as client:
        first = load.post(client, "/en/sign-in/", phone="0500000001", data={"login": "x"})
        again = load.post(client, "/en/sign-in/", phone="0500000001", data={"login": "x"})
    assert (first.status_code, again.status_code) == (200, 200)
    # The second went twice (unanswered, then on a new connection), and both count as passwords
    # posted, so a code for each is not taken for a POST applied twice.
    assert node.seen["POST"] == 3
    assert [what for _at, what in load.resent] == ["POST /en/sign-in/"]
    assert load.password_posts["0500000001"] == 3
    assert not load.in_flight
