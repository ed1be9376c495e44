"""Requests per second of the document-status API (POST /api/v1/document-status, with its bearer
token lookup, rate limit and recorded check) against a bare view returning a fixed JSON body, on
one real server in one run; then the same endpoint again while a sign-in flood runs.

    .venv/bin/python bench/document_status.py [--requests 400] [--concurrency 8]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hawiya_bench .venv/bin/python bench/document_status.py

The server, the bare view (`/bench/bare/`), the load and the measuring are bench/oidc.py's (gunicorn
as `make run` starts it, 2 workers x 4 threads; the bare view measured before and after, the ratio
using the mean of the two). A party allowed `document_status` is registered through the service,
and gets ONE access token up front, by client credentials at /oidc/token/ (the token endpoint is
not what is measured). Each check asks about one of a few citizens' national ID cards, in turn;
every answer must be 200 `valid`, or the script exits 1.

The party's rate limit (HAWIYA_DOCUMENT_STATUS_RATE_LIMIT, 600 documents a minute by default) is
raised for this run, above what the run checks in a minute, so the limit is counted on every
request (a cache increment) but never refuses one. The output says the limit used.

The sign-in flood: `--flood` threads POST the portal's sign-in form (as a browser does, with its
CSRF token) with wrong passwords for the accounts in turn, each thread a bounded loop that ends
when the measuring ends. Twice:
- from one address (the loopback), as the brief of the benchmark asks: after 30 failures in 10
  minutes the per-address limit answers "too many unsuccessful attempts" without running the
  password hasher (Argon2), so most of a long flood is cheap; this is the `status during flood`
  line (without REDIS_URL each of the 2 workers counts on its own: 30 tries each);
- from many addresses: the server trusts one proxy (HAWIYA_TRUSTED_PROXIES=1) and the flood names
  a new client address every few tries in X-Forwarded-For, as many attackers behind a load
  balancer would appear: every try runs Argon2 (19 MiB and one core for ~30 ms each, at most
  HAWIYA_PASSWORD_HASH_CONCURRENCY at once per process).
Every flood answer must be the form again saying the password does not match, or that there were
too many attempts, or (503) that many people are signing in (every password-hashing slot of the
process taken: identity/hashers.py); anything else exits 1. The counts of each are printed.

SQLite runs in a temporary directory; with DATABASE_URL (its name must contain "bench") the
database is dropped and created afresh. Loopback only, bounded loops.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import itertools
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from urllib.parse import quote, urlencode

from _server import free_port
from oidc import (  # the server, the load and the measuring of the OIDC benchmark
    WEB_THREADS,
    WEB_WORKERS,
    Request,
    _load,
    _measure,
    _prepare_environment,
    _send,
    _start_server,
)
from sign_in import _make_accounts  # the bench's way of making activated accounts (services)

RATE_LIMIT = 1_000_000  # documents a minute for this run's party: counted, never reached
FLOOD_PER_ADDRESS = 10  # sign-in tries per client address (the per-address limit is 30 / 10 min)
FLOOD_MAX_PER_THREAD = 5_000  # a bound on each flood thread's loop
WRONG_PASSWORD = "not the password of anyone 2026"
REFUSED = "do not match our records"
THROTTLED = "too many unsuccessful attempts"
BUSY = "Many people are signing in right now"  # every hashing slot taken: 503 (identity/hashers.py)
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def _make_party() -> tuple[str, str]:
    """A party allowed `document_status`, through the service; (client_id, secret)."""
    from hawiya.audit.actors import Actor
    from hawiya.identity.services.relying_parties import party_register

    result = party_register(
        actor=Actor.system("bench.document_status"),
        name_ar="جهة القياس",
        name_en="Bench Party",
        redirect_uris=["http://127.0.0.1:8001/callback"],
        allowed_scopes=["openid", "document_status"],
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method's name
    )
    return result.party.application.client_id, result.client_secret


def _issue_cards(id_numbers: list[str]) -> list[dict[str, str]]:
    """A valid national ID card for each person, through the service; the check bodies."""
    from decimal import Decimal

    from django.db import transaction

    from hawiya.registry.models import DocumentKind, Office, Person
    from hawiya.registry.regions import Region
    from hawiya.registry.services import document_issue

    office = Office.objects.create(  # offices are reference data: no service writes them
        code="bench-office",
        name_ar="مكتب القياس",
        name_en="Bench Office",
        region=Region.RIYADH,
        city_ar="الرياض",
        city_en="Riyadh",
        address_ar="طريق الملك فهد",
        address_en="King Fahd Road",
        latitude=Decimal("24.71355"),
        longitude=Decimal("46.67530"),
    )
    from hawiya.core import clock

    today = clock.now().astimezone(clock.RIYADH).date()
    bodies = []
    for person in Person.objects.filter(id_number__in=id_numbers).order_by("id_number"):
        with transaction.atomic():
            card = document_issue(
                holder=person,
                kind=DocumentKind.NATIONAL_ID_CARD,
                issuing_office=office,
                issue_date=today,
                expiry_date=today + dt.timedelta(days=3650),
            )
        bodies.append({"id_number": person.id_number, "kind": card.kind, "serial_number": card.serial_number})
    return bodies


def _party_token(port: int, client_id: str, secret: str) -> str:
    """The one access token of the run: client credentials at the token endpoint."""
    basic = base64.b64encode(f"{quote(client_id)}:{quote(secret)}".encode()).decode()
    body = urlencode({"grant_type": "client_credentials", "scope": "document_status"}).encode()
    headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        status, answer = _send(connection, ("POST", "/oidc/token/", headers, body))
    finally:
        connection.close()
    if status != 200:
        raise RuntimeError(f"no token: {status} {answer[:300]!r}")
    return str(json.loads(answer)["access_token"])


class SignInFlood:
    """`threads` threads posting wrong passwords to the portal's sign-in form until stopped."""

    def __init__(self, port: int, logins: list[str], threads: int, path: str, spread: bool) -> None:
        self.port, self.logins, self.path, self.spread = port, logins, path, spread
        self.stop = threading.Event()
        self.answers: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.addresses = itertools.count()
        self.threads = [threading.Thread(target=self._run, args=(index,)) for index in range(threads)]

    def __enter__(self) -> SignInFlood:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _form(self, connection: http.client.HTTPConnection) -> tuple[str, str]:
        """GET the sign-in page as a browser does: its CSRF cookie and the form's token."""
        connection.request("GET", self.path, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        page = response.read()
        cookie = next(
            (
                value.split(";", 1)[0]
                for name, value in response.getheaders()
                if name.lower() == "set-cookie" and value.startswith("csrftoken=")
            ),
            "",
        )
        field = CSRF_FIELD.search(page)
        if response.status != 200 or not cookie or field is None:
            raise RuntimeError(f"sign-in page: {response.status}, no CSRF cookie or field")
        return cookie, field.group(1).decode()

    def _run(self, index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            cookie, token = self._form(connection)
            for sent in range(FLOOD_MAX_PER_THREAD):
                if self.stop.is_set():
                    return
                with self.lock:
                    number = next(self.addresses)
                address = number // FLOOD_PER_ADDRESS
                login = self.logins[(index + sent) % len(self.logins)]
                body = urlencode(
                    {"csrfmiddlewaretoken": token, "login": login, "password": WRONG_PASSWORD}
                ).encode()
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": cookie,
                    "Referer": f"http://127.0.0.1:{self.port}{self.path}",
                }
                if self.spread:
                    headers["X-Forwarded-For"] = (
                        f"10.{address // 65536 % 256}.{address // 256 % 256}.{address % 256}"
                    )
                try:
                    status, page = _send(connection, ("POST", self.path, headers, body))
                    outcome = str(status)
                    if status == 200 and REFUSED.encode() in page:
                        outcome = "wrong password"
                    elif status == 200 and THROTTLED.encode() in page:
                        outcome = "throttled"
                    elif status == 503 and BUSY.encode() in page:
                        outcome = "busy"
                except (OSError, http.client.HTTPException) as error:
                    outcome = type(error).__name__
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                with self.lock:
                    self.answers[outcome] += 1
        except Exception as error:  # counted and reported: a silent flood measures nothing
            with self.lock:
                self.answers[f"stopped: {error}"] += 1
        finally:
            connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--accounts", type=int, default=20, help="citizens: cards checked, sign-ins flooded")
    parser.add_argument("--flood", type=int, default=4, help="sign-in flood threads")
    parser.add_argument("--port", type=int, default=0, help="default: a free port on 127.0.0.1")
    options = parser.parse_args()
    if not (1 <= options.requests <= 100_000 and 1 <= options.concurrency <= 64):
        sys.exit("--requests 1..100000, --concurrency 1..64")
    if not (1 <= options.accounts <= 500 and 1 <= options.flood <= 32):
        sys.exit("--accounts 1..500, --flood 1..32")
    port = options.port or free_port()
    _prepare_environment(port)
    os.environ["HAWIYA_DOCUMENT_STATUS_RATE_LIMIT"] = str(RATE_LIMIT)
    os.environ["HAWIYA_TRUSTED_PROXIES"] = "1"

    import django
    from django.core.management import call_command
    from django.db import connection
    from django.urls import reverse
    from django.utils import translation

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    accounts = _make_accounts(options.accounts)
    logins = [id_number for id_number, _mobile in accounts]
    checks = _issue_cards(logins)
    client_id, secret = _make_party()
    with translation.override("en"):
        sign_in_path = reverse("portal:sign-in")
    vendor = connection.vendor
    connection.close()  # the server's processes hold the database now (SQLite: one writer)

    server = _start_server(port)
    try:
        token = _party_token(port, client_id, secret)
        bare: list[Request] = [("GET", "/bench/bare/", {}, b"")] * options.requests
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        status: list[Request] = [
            ("POST", "/api/v1/document-status", headers, json.dumps(checks[index % len(checks)]).encode())
            for index in range(options.requests)
        ]

        def ok(body: bytes) -> bool:
            return "ok" in json.loads(body)

        def valid(body: bytes) -> bool:
            return json.loads(body).get("status") == "valid"

        # Warm-up: every worker has loaded its code and connections before anything counts.
        warm_up = min(50, options.requests)
        _load(port, bare[:warm_up], options.concurrency)
        _load(port, status[:warm_up], options.concurrency)

        print(
            f"document-status benchmark — {vendor}, {os.cpu_count()} cores, gunicorn {WEB_WORKERS} "
            f"workers x {WEB_THREADS} threads, {options.concurrency} concurrent clients, "
            f"{options.requests} requests each"
        )
        print(
            f"  the party's rate limit raised to {RATE_LIMIT} documents a minute for this run "
            "(HAWIYA_DOCUMENT_STATUS_RATE_LIMIT): counted on every check, never reached"
        )
        bare_before, _ = _measure("bare view", port, bare, options.concurrency, ok)
        status_idle, _ = _measure("document status", port, status, options.concurrency, valid)
        bare_after, _ = _measure("bare view again", port, bare, options.concurrency, ok)

        floods: dict[str, tuple[float, dict[str, int]]] = {}
        for spread in (False, True):
            name = "many addresses" if spread else "one address"
            with SignInFlood(port, logins, options.flood, sign_in_path, spread) as flood:
                time.sleep(1.0)  # the flood's threads have their forms and are posting
                rate, _ = _measure(f"status, flood from {name}", port, status, options.concurrency, valid)
            floods[name] = (rate, dict(flood.answers))
    finally:
        server.terminate()
        server.wait(timeout=30)

    for name, (_rate, answers) in floods.items():
        print(
            f"  sign-in flood from {name}: {options.flood} threads, wrong passwords for "
            f"{len(logins)} accounts; answers {answers}"
        )
        if not set(answers) <= {"wrong password", "throttled", "busy"}:
            print(f"the flood from {name} got another answer than expected", file=sys.stderr)
            sys.exit(1)
    bare_rate = (bare_before + bare_after) / 2
    print(f"  bare view, mean of both runs: {bare_rate:.1f} requests/s")
    spread_rate = floods["many addresses"][0]
    print(f"  status during a flood from many addresses/status idle: {spread_rate / status_idle:.2f}")
    print(f"status/bare: {status_idle / bare_rate:.2f}")
    print(f"status during flood/status idle: {floods['one address'][0] / status_idle:.2f}")


if __name__ == "__main__":
    main()
