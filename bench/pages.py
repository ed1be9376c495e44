"""Requests per second of Hawiya's pages against /healthz, on one real server in one run.

    .venv/bin/python bench/pages.py [--seconds 8] [--concurrency 8]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hawiya_bench REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/pages.py

The server is started as production starts it (deploy/entrypoint web: gunicorn, 2 workers x 4
threads, keep-alive 5 s; bench/_server.py), in demo mode. A small register is seeded first
(`seed_population`), one of its card holders activates an account through the activation
services, and signs in once through the real sign-in pages (password, then the SMS code read back
from the demo outbox), in this process: the server's processes then see that session as any
browser's. Then, for a fixed time each, from `--concurrency` threads with kept-alive connections:
/healthz (the bare reference: answered by a middleware, no session, no database), the anonymous
home page, the sign-in page, /api/v1/openapi.json, and three of the citizen's pages with the
session cookie. /healthz runs first and last; the ratios use the mean of the two (the machine is
shared). Every answer must be 200 (a signed-in page must not send the citizen to the sign-in
page): any other counts as a failure and the script exits 1.

How the requests spread over the worker processes is read from the server's own per-process
counters (hawiya_http_responses, one file per process under PROMETHEUS_MULTIPROC_DIR:
core/metrics.py), before and after each page.

SQLite runs in a temporary directory; with DATABASE_URL (its name must contain "bench") the
database is dropped and created afresh. Loopback only, bounded loops.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from _server import Request, Result, Server, collect_static, free_port, load, prepare_environment

PASSWORD = "a long demo pass phrase 2026"
SIGNED_IN_MARK = b"/sign-out/"  # every signed-in page's header has the sign-out form


def _citizen(username: str = "benchpages") -> tuple[str, str]:
    """A card holder of the seeded register who activates an account named `username` through
    the activation services; (ID number, mobile). The first such holder in primary-key order (an
    index scan, also at 10 million persons)."""
    from sign_in import _latest_code

    from hawiya.identity import services as identity
    from hawiya.registry.models import Document, DocumentKind, DocumentStatus

    card = (
        Document.objects.filter(
            kind=DocumentKind.NATIONAL_ID_CARD,
            status=DocumentStatus.VALID,
            holder__date_of_death__isnull=True,
            holder__account__isnull=True,
        )
        .exclude(holder__mobile="")
        .select_related("holder")
        .order_by("holder_id")
        .first()
    )
    if card is None:
        raise RuntimeError("the seeded register has no card holder with a mobile number")
    person, ip = card.holder, "127.3.0.1"
    started = identity.activation_start(
        id_number=person.id_number, date_of_birth=person.date_of_birth, mobile=person.mobile, ip=ip
    )
    identity.activation_verify(challenge=started.challenge, code=_latest_code(person.mobile), ip=ip)
    identity.activation_complete(
        challenge=started.challenge, username=username, password=PASSWORD, accepted_terms=True, ip=ip
    )
    return person.id_number, person.mobile


def _signed_in_cookie(id_number: str, mobile: str) -> str:
    """Sign in through the real pages (in this process, Django's test client): the session
    cookie, as `Cookie` header value."""
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse
    from django.utils import translation
    from sign_in import _expect, _latest_code

    with translation.override("ar"):
        sign_in_url, code_url = reverse("portal:sign-in"), reverse("portal:sign-in-code")
    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="127.3.0.2")
    _expect(client.get(sign_in_url), 200)
    _expect(client.post(sign_in_url, {"login": id_number, "password": PASSWORD}), 302, code_url)
    _expect(client.get(code_url), 200)
    _expect(client.post(code_url, {"code": _latest_code(mobile), "method": "sms"}), 302, "/account/")
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="load time per page")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--persons", type=int, default=300, help="persons in the seeded register")
    parser.add_argument("--static", default="", help="a STATIC_ROOT collected by an earlier run")
    parser.add_argument("--port", type=int, default=0, help="default: a free port on 127.0.0.1")
    parser.add_argument(
        "gunicorn", nargs="*", help="extra gunicorn options after --, e.g. -- --keep-alive 2 (measuring)"
    )
    options = parser.parse_args()
    if not (
        1 <= options.seconds <= 120 and 1 <= options.concurrency <= 64 and 10 <= options.persons <= 10_000
    ):
        sys.exit("--seconds 1..120, --concurrency 1..64, --persons 10..10000")
    vendor = prepare_environment()
    port = options.port or free_port()

    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    from django.conf import settings

    call_command("migrate", verbosity=0)
    collect_static(options.static)  # pages render as in production
    call_command("seed_population", persons=options.persons, seed=1, demo=True, verbosity=0)
    cookie = _signed_in_cookie(*_citizen())
    connection.close()  # the server's processes hold the database now (SQLite: one writer)

    def ok(status: int, body: bytes) -> bool:
        return status == 200

    def signed_in(status: int, body: bytes) -> bool:
        return status == 200 and SIGNED_IN_MARK in body

    citizen = {"Cookie": cookie}
    pages: list[tuple[str, Request, Callable[[int, bytes], bool]]] = [
        ("bare (/healthz)", ("GET", "/healthz", {}, b""), ok),
        ("home (anonymous)", ("GET", "/ar/", {}, b""), ok),
        ("sign-in page", ("GET", "/ar/sign-in/", {}, b""), ok),
        ("openapi.json", ("GET", "/api/v1/openapi.json", {}, b""), ok),
        ("account (citizen)", ("GET", "/ar/account/", citizen, b""), signed_in),
        ("requests (citizen)", ("GET", "/ar/requests/", citizen, b""), signed_in),
        ("notifications (citizen)", ("GET", "/ar/notifications/", citizen, b""), signed_in),
        ("bare (/healthz) again", ("GET", "/healthz", {}, b""), ok),
    ]
    results: list[Result] = []
    with Server(port, extra=options.gunicorn) as server:
        for name, request, check in pages:  # warm-up: every process has loaded what a page needs
            load(server, name, request, min(1.0, options.seconds), options.concurrency, check)
        print(
            f"pages benchmark — {vendor}, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
            f"sessions {settings.SESSION_ENGINE.rsplit('.', 1)[-1]}, {os.cpu_count()} cores, "
            f"deploy/entrypoint web {' '.join(options.gunicorn)}, {options.concurrency} clients with "
            f"kept-alive connections, {options.seconds:g} s per page"
        )
        for name, request, check in pages:
            result = load(server, name, request, options.seconds, options.concurrency, check)
            print(result.line(), flush=True)
            results.append(result)

    bare = (results[0].rate + results[-1].rate) / 2
    print(f"  bare, mean of both runs: {bare:.1f} req/s")
    bare_cpu = (results[0].cpu_ms + results[-1].cpu_ms) / 2
    print(f"  bare, server CPU per request: {bare_cpu:.2f} ms (mean of both runs)")
    print("  by server CPU per request (steadier than throughput on a busy machine):")
    for result in results[1:-1]:
        print(f"    {result.name.split(' (')[0]}/bare by CPU: {bare_cpu / result.cpu_ms:.2f}")
    for result in results[1:-1]:
        print(f"{result.name.split(' (')[0]}/bare: {result.rate / bare:.2f}")
    if any(result.failures for result in results):
        print("some answers were not 200 (or a signed-in page was not signed in)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
