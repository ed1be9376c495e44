"""Does a page slow down as the register grows? The same pages and lookups against a register of
1 million and of 10 million persons, on one PostgreSQL server in one run; prints each one's
10M/1M throughput ratio (goal: 0.9 or more for every one).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hawiya_bench_scale .venv/bin/python bench/scale.py
    ... bench/scale.py --sizes 1000000,10000000 --rounds 4 --seconds 3 --concurrency 8 --reuse --static DIR

Each size has a database of its own, named after DATABASE_URL's with the size added
(hawiya_bench_scale_1m, hawiya_bench_scale_10m); the name must contain "bench", since it is dropped
and created afresh, then `migrate` and `seed_population --persons N --seed 1` (10M: about 25
minutes on 2 cores; bench/seed_population.py measures that). `--reuse` keeps a database whose
register is already seeded with N persons, so a second run measures at once.

On each register, in a child process (settings are read once per process), the same few things
are added through the services: an office with 40 appointments on one day (bench/backoffice_day.py's
set-up, applicants numbered 12xxxxxxx, which the generator never gives), an officer of that office,
a generated card holder who activates an account, and a relying party allowed `document_status`.
Then a server is started on each database as production starts it (bench/_server.py: gunicorn,
2 workers x 4 threads), both at once, and each of these is loaded for `--seconds` from
`--concurrency` kept-alive connections on one server then on the other, `--rounds` times (the order
swapped every round: whatever else slows the machine falls on both sizes alike):

- the citizen's own pages: account, requests, access history (signed in through the real pages);
- the officer's day (that day's 40 appointments) and one case page;
- find a person by ID number (the officer's search form, POST): 20 generated persons spread over
  the whole register, in turn;
- a document's status (POST /api/v1/document-status with the party's token): 20 generated
  persons' valid ID cards, in turn;
- /healthz, first and last, as the reference for how busy the machine was.

Throughput moves with whatever else the machine runs, so the server's CPU time per request is
printed beside it (read from /proc for the worker processes); both ratios are printed. Every
answer must be what the page answers when it works (200, signed in, the card `valid`); anything
else is a failure and the script exits 1. Loopback only, bounded loops.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from _server import ROOT, Request, Result, Server, collect_static, free_port, load

SPREAD = 20  # persons and cards looked up, spread over the register
APPOINTMENTS = 40
OFFICE_CODE = "bench-scale-office"
OFFICER = "bench-scale-officer"
CITIZEN = "benchscale"
ID_PREFIX = "12"  # the set-up's applicants: 12xxxxxxxC, outside the generator's 10… and 11…
RATE_LIMIT = 1_000_000  # the party's document checks a minute for this run: counted, never reached
CSRF = "benchscalecsrfsecret000000000000"  # 32 characters: the cookie and the form's token
SIGNED_IN_MARK = b"/sign-out/"


def _label(persons: int) -> str:
    return f"{persons // 1_000_000}m" if persons % 1_000_000 == 0 else f"{persons // 1000}k"


def _database_url(base_url: str, persons: int) -> str:
    stem, name = base_url.rsplit("/", 1)
    return f"{stem}/{name}_{_label(persons)}"


def _psql(url: str, statement: str) -> str:
    stem = url.rsplit("/", 1)[0]
    result = subprocess.run(
        ["psql", f"{stem}/postgres", "-qAt", "-c", statement], check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def _database_exists(url: str) -> bool:
    name = url.rsplit("/", 1)[1]
    # The name is this script's own (DATABASE_URL's and a size label), checked to contain "bench".
    return _psql(url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"  # noqa: S608


# --- in the child process: one register, seeded and set up ----------------------------------------


def _fixture_day() -> Any:
    """The office and day of the set-up's appointments: made on the first run, found afterwards."""
    from backoffice_day import _make_day

    from hawiya.appointments.models import Appointment
    from hawiya.core.clock import RIYADH
    from hawiya.registry.models import Office

    office = Office.objects.filter(code=OFFICE_CODE).first()
    if office is None:
        return _make_day(APPOINTMENTS, office_code=OFFICE_CODE, id_prefix=ID_PREFIX)
    first = Appointment.objects.filter(slot__office=office).select_related("slot").first()
    if first is None:
        raise RuntimeError(f"{OFFICE_CODE} exists without appointments: drop the database (no --reuse)")
    return office, first.slot.starts_at.astimezone(RIYADH).date()


def _officer_cookie(office: Any) -> str:
    import uuid

    from django.conf import settings
    from django.test import Client

    from hawiya.identity.models import StaffRole, User
    from hawiya.identity.staff import staff_member_create

    officer = User.objects.filter(username=OFFICER).first() or staff_member_create(
        username=OFFICER, password=uuid.uuid4().hex, role=StaffRole.OFFICER, office=office
    )
    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="127.3.0.3")
    client.force_login(officer)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _citizen_cookie() -> str:
    """A generated card holder with an account (activated once, by bench/pages.py's way), signed
    in through the real pages."""
    from pages import _citizen, _signed_in_cookie

    from hawiya.identity.models import User

    user = User.objects.filter(username=CITIZEN).select_related("person").first()
    if user is None:
        return _signed_in_cookie(*_citizen(CITIZEN))
    if user.person is None:
        raise RuntimeError(f"{CITIZEN} is not a citizen's account: drop the database (no --reuse)")
    return _signed_in_cookie(user.person.id_number, user.person.mobile)


def _spread(persons: int) -> tuple[list[str], list[dict[str, str]]]:
    """ID numbers of SPREAD generated persons and SPREAD valid ID cards, spread over the register."""
    from hawiya.registry.models import Document, DocumentKind, DocumentStatus, Person

    step = max(1, persons // SPREAD)
    id_numbers = list(
        Person.objects.filter(pk__in=[1 + index * step for index in range(SPREAD)])
        .order_by("pk")
        .values_list("id_number", flat=True)
    )
    cards: list[dict[str, str]] = []
    for index in range(SPREAD):
        card = (
            Document.objects.filter(
                kind=DocumentKind.NATIONAL_ID_CARD,
                status=DocumentStatus.VALID,
                holder_id__gte=1 + index * step,
            )
            .order_by("holder_id")
            .values("holder__id_number", "kind", "serial_number")
            .first()
        )
        if card is not None:
            cards.append(
                {
                    "id_number": card["holder__id_number"],
                    "kind": card["kind"],
                    "serial_number": card["serial_number"],
                }
            )
    return id_numbers, cards


def prepare(persons: int, static: str) -> dict[str, Any]:
    """Seed (if the register is empty) and set up; what the measuring needs, as JSON."""
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection
    from django.urls import reverse
    from django.utils import translation
    from document_status import _make_party

    from hawiya.registry.models import Person
    from hawiya.replacements.models import Replacement

    call_command("migrate", verbosity=0)
    collect_static(static)
    generated = Person.objects.exclude(id_number__startswith=ID_PREFIX).count()
    if generated == 0:
        call_command("seed_population", persons=persons, seed=1, verbosity=1)
    elif generated != persons:
        raise RuntimeError(f"the register holds {generated} generated persons, not {persons}: drop it")
    office, day = _fixture_day()
    reference = (
        Replacement.objects.filter(appointments__slot__office=office)
        .order_by("pk")
        .values_list("reference", flat=True)
        .first()
    )
    id_numbers, cards = _spread(persons)
    client_id, secret = _make_party()
    with translation.override("ar"):
        paths = {
            "account": reverse("portal:account"),
            "requests": reverse("portal:requests-list"),
            "access history": reverse("portal:account-access-history"),
            "day": f"{reverse('backoffice:day')}?date={day.isoformat()}",
            "case": reverse("backoffice:case", args=[reference]),
            "people": reverse("backoffice:people-search"),
        }
    from django.conf import settings

    answer = {
        "static": str(settings.STATIC_ROOT),
        "persons": Person.objects.count(),
        "paths": paths,
        "citizen": _citizen_cookie(),
        "officer": _officer_cookie(office),
        "id_numbers": id_numbers,
        "cards": cards,
        "party": [client_id, secret],
    }
    connection.close()
    return answer


# --- in the parent: the runs -----------------------------------------------------------------------


def _requests(
    setup: dict[str, Any], token: str
) -> list[tuple[str, list[Request], Callable[[int, bytes], bool]]]:
    from urllib.parse import urlencode

    paths = setup["paths"]
    citizen = {"Cookie": setup["citizen"]}
    officer = {"Cookie": f"{setup['officer']}; csrftoken={CSRF}"}
    form = {**officer, "Content-Type": "application/x-www-form-urlencoded"}
    api = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def ok(status: int, body: bytes) -> bool:
        return status == 200

    def signed_in(status: int, body: bytes) -> bool:
        return status == 200 and SIGNED_IN_MARK in body

    def found(status: int, body: bytes) -> bool:
        return status == 200 and b'name="person" value="' in body  # one result row at least

    def valid(status: int, body: bytes) -> bool:
        return status == 200 and json.loads(body).get("status") == "valid"

    searches: list[Request] = [
        ("POST", paths["people"], form, urlencode({"csrfmiddlewaretoken": CSRF, "query": number}).encode())
        for number in setup["id_numbers"]
    ]
    checks: list[Request] = [
        ("POST", "/api/v1/document-status", api, json.dumps(card).encode()) for card in setup["cards"]
    ]
    return [
        ("bare (/healthz)", [("GET", "/healthz", {}, b"")], ok),
        ("citizen: account", [("GET", paths["account"], citizen, b"")], signed_in),
        ("citizen: requests", [("GET", paths["requests"], citizen, b"")], signed_in),
        ("citizen: access history", [("GET", paths["access history"], citizen, b"")], signed_in),
        ("officer: day", [("GET", paths["day"], officer, b"")], signed_in),
        ("officer: case", [("GET", paths["case"], officer, b"")], signed_in),
        ("find a person by ID", searches, found),
        ("document status", checks, valid),
        ("bare (/healthz) again", [("GET", "/healthz", {}, b"")], ok),
    ]


def _merged(results: list[Result]) -> Result:
    """One page's rounds at one size as one result (rates and CPU over all of them)."""
    merged = Result(results[0].name, sum(result.seconds for result in results))
    for result in results:
        merged.latencies.extend(result.latencies)
        merged.failures.update(result.failures)
        merged.by_process.update(result.by_process)
        merged.cpu_seconds += result.cpu_seconds
    return merged


def measure(
    setups: dict[int, tuple[str, dict[str, Any]]], rounds: int, seconds: float, concurrency: int
) -> dict[int, list[Result]]:
    """Both servers up at once; each page loaded on one then on the other, `rounds` times (the
    order swapped every round), so that whatever else slows the machine falls on both sizes."""
    from document_status import _party_token

    with contextlib.ExitStack() as stack:
        servers: dict[int, Server] = {}
        pages: dict[int, list[tuple[str, list[Request], Callable[[int, bytes], bool]]]] = {}
        for persons, (url, setup) in setups.items():
            port = free_port()
            servers[persons] = stack.enter_context(Server(port, env={"DATABASE_URL": url}))
            pages[persons] = _requests(setup, _party_token(port, *setup["party"]))
        sizes = list(setups)
        for persons in sizes:  # warm-up: code loaded, the pages' rows in the cache
            for name, requests, check in pages[persons]:
                load(servers[persons], name, requests, min(2.0, seconds), concurrency, check)
        rounds_of: dict[int, list[list[Result]]] = {persons: [] for persons in sizes}
        for turn in range(rounds):
            for index in range(len(pages[sizes[0]])):
                for persons in sizes if turn % 2 == 0 else reversed(sizes):
                    name, requests, check = pages[persons][index]
                    if turn == 0:
                        rounds_of[persons].append([])
                    rounds_of[persons][index].append(
                        load(servers[persons], name, requests, seconds, concurrency, check)
                    )
    return {persons: [_merged(results) for results in rounds_of[persons]] for persons in sizes}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="two register sizes, small first")
    parser.add_argument("--seconds", type=float, default=3.0, help="load time per page, size and round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds over every page at both sizes")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--reuse", action="store_true", help="keep a database already seeded with N persons")
    parser.add_argument("--static", default="", help="a STATIC_ROOT collected by an earlier run")
    parser.add_argument("--prepare", type=int, default=0, help=argparse.SUPPRESS)  # the child's mode
    options = parser.parse_args()
    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]
    os.environ["HAWIYA_DEMO"] = "1"
    os.environ.setdefault("HAWIYA_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "hawiya.config.settings"
    os.environ["HAWIYA_DOCUMENT_STATUS_RATE_LIMIT"] = str(RATE_LIMIT)
    if options.prepare:
        print(json.dumps(prepare(options.prepare, options.static)))
        return 0

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")) or "bench" not in base_url.rsplit("/", 1)[1]:
        sys.exit("DATABASE_URL must name a PostgreSQL database whose name contains 'bench'")
    sizes = [int(size) for size in options.sizes.split(",")]
    if len(sizes) != 2 or not 1000 <= sizes[0] < sizes[1] <= 50_000_000:
        sys.exit("--sizes: two sizes, small first, 1000..50000000")
    if not (1 <= options.seconds <= 120 and 1 <= options.concurrency <= 64 and 1 <= options.rounds <= 20):
        sys.exit("--seconds 1..120, --concurrency 1..64, --rounds 1..20")
    # The children and the servers must read and write with the same keys.
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("HAWIYA_FIELD_KEYS", "Z8ZbX1zG-KmYxrRYNkR6IFpyB5jQOdpTSGOO3-ytsDA=")

    setups: dict[int, tuple[str, dict[str, Any]]] = {}
    static = options.static
    for persons in sizes:
        url = _database_url(base_url, persons)
        name = url.rsplit("/", 1)[1]
        if not (options.reuse and _database_exists(url)):
            _psql(url, f"DROP DATABASE IF EXISTS {name}")
            _psql(url, f"CREATE DATABASE {name}")
        child = subprocess.run(
            [sys.executable, __file__, "--prepare", str(persons), "--static", static],
            env={**os.environ, "DATABASE_URL": url},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            sys.stderr.write(child.stdout + child.stderr)
            sys.exit(f"setting up {name} failed")
        setup = json.loads(child.stdout.strip().splitlines()[-1])
        static = setup["static"]  # collected once, by the first child
        setups[persons] = (url, setup)
        print(f"{_label(persons)} register: {name}, {setup['persons']:,} persons", flush=True)

    print(
        f"scale benchmark — {os.cpu_count()} cores, both servers up, {options.rounds} rounds of "
        f"{options.seconds:g} s per page and size, {options.concurrency} clients",
        flush=True,
    )
    runs = measure(setups, options.rounds, options.seconds, options.concurrency)
    small, large = (runs[size] for size in sizes)
    for persons in sizes:
        print(f"\n{_label(persons)} register, all rounds:")
        for result in runs[persons]:
            print(result.line())
    failed = any(result.failures for results in runs.values() for result in results)
    label = f"{_label(sizes[1])}/{_label(sizes[0])}"
    print(f"\n{'':<26}{'throughput':>12}{'CPU/request':>14}   ({label}, all rounds)")
    for before, after in zip(small, large, strict=True):
        by_cpu = before.cpu_ms / after.cpu_ms if after.cpu_ms else float("nan")
        print(f"{before.name:<26}{after.rate / before.rate:>12.2f}{by_cpu:>14.2f}")
    for before, after in zip(small[1:-1], large[1:-1], strict=True):
        print(f"{before.name} {label}: {after.rate / before.rate:.2f}")
    if failed:
        print("some answers were not what a working page answers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
