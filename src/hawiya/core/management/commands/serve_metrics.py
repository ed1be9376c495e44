"""`manage.py serve_metrics --port N`: the counters of the processes beside it, for Prometheus.

A web process answers /metrics with its machine's counters (and the gauges read from the
database). A worker or scheduler machine (a Kubernetes pod of its own) serves no pages: this small
server gives Prometheus the counters its processes wrote in PROMETHEUS_MULTIPROC_DIR (text messages
that failed, refunds, expired bills...). Same rule as /metrics: with HAWIYA_METRICS_TOKEN set, a
bearer token is required; without one it answers only in demo, debug or embedded mode. The entry
point starts it beside the worker or the scheduler when HAWIYA_METRICS_PORT is set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from hawiya.core.metrics import ScrapeAccess, multiprocess_mode, scrape_access

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def metrics_app(registry: CollectorRegistry) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def answer(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> list[bytes]:
            start_response(status, [("Content-Type", content_type), ("Cache-Control", "no-store")])
            return [body]

        if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return answer("404 Not Found", b"Not Found\n")
        access = scrape_access(str(environ.get("HTTP_AUTHORIZATION", "")))
        if access is ScrapeAccess.UNAUTHORIZED:
            return answer("401 Unauthorized", b"Unauthorized\n")
        if access is ScrapeAccess.CLOSED:
            return answer("404 Not Found", b"Not Found\n")
        return answer("200 OK", generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4)

    return app


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # every scrape would be a line
        pass


class Command(BaseCommand):
    help = "Serve the counters of this machine's processes (PROMETHEUS_MULTIPROC_DIR) at /metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 (a pod's own address; the NetworkPolicy admits only Prometheus)
        parser.add_argument("--port", type=int, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if not multiprocess_mode():
            raise CommandError(
                "PROMETHEUS_MULTIPROC_DIR is not set: there are no other processes' counters to serve"
            )
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        with make_server(
            options["host"], options["port"], metrics_app(registry), handler_class=QuietHandler
        ) as server:
            server.serve_forever()
