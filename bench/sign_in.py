"""Server time of a full sign-in (password + SMS code), with and without the Argon2 hash.

Runs the real pages in-process through Django's test client (no network, no browser): GET the
sign-in page, POST ID number + password, GET the code page (which sends the code), POST the code.
The password hasher's own time is measured separately and subtracted, because Argon2 is
deliberately slow and sized by its parameters, not by our code.

    .venv/bin/python bench/sign_in.py [--accounts 40]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hawiya_bench .venv/bin/python bench/sign_in.py

SQLite runs in a temporary directory. With DATABASE_URL (its name must contain "bench") the
database is dropped and created afresh. Each account signs in once: the per-account limit of
five codes an hour is part of what is measured, not something to switch off.

    .venv/bin/python bench/sign_in.py --flood 8 [--seconds 10] [--concurrency 4]

--flood N: against the real server instead (deploy/entrypoint web, bench/_server.py), N threads
post wrong passwords for the accounts in turn at full speed, each few tries from a new client
address (X-Forwarded-For behind one trusted proxy), so every try runs Argon2. A relying party's
document-status lookups (bench/document_status.py's party and cards) are measured for `--seconds`
before the flood, then the flood runs alone as long (the sign-ins answered per second per core:
the server's capacity), then the lookups are measured again during the flood. It prints the
lookups' flood/idle ratio, the sign-ins per second per core, the 503s (every password-hashing slot
of a process busy: identity/hashers.py) apart from any other answer; any other answer (a 500)
exits 1. HAWIYA_PASSWORD_HASH_NICE in the environment reaches the server (0: hashes at the pages'
priority, as before the hashing threads).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _server import prepare_environment  # the run's database and demo settings, shared by the benches

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "a long demo pass phrase 2026"
RATE_LIMIT = 1_000_000  # --flood: the party's documents a minute, counted, never reached


class HashTimer:
    """Wraps the Argon2 hasher's verify/encode and adds up the time spent in them."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def install(self) -> None:
        from django.contrib.auth.hashers import Argon2PasswordHasher

        for name in ("verify", "encode"):
            original = getattr(Argon2PasswordHasher, name)

            def timed(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds += time.perf_counter() - started

            setattr(Argon2PasswordHasher, name, timed)


def _latest_code(to: str) -> str:
    from hawiya.notifications.models import SmsMessage
    from hawiya.notifications.templates import origin_bound_code

    body = SmsMessage.objects.filter(to=to).order_by("-id").values_list("body", flat=True).first() or ""
    code = origin_bound_code(body)
    if code is None:
        raise RuntimeError(f"no code in the outbox for {to}")
    return code


def _make_accounts(count: int) -> list[tuple[str, str]]:
    """`count` persons with activated accounts, through the real services; (ID number, mobile)."""
    from hawiya.audit.actors import Actor
    from hawiya.identity import services as identity
    from hawiya.registry.id_numbers import check_digit
    from hawiya.registry.services import person_create

    accounts = []
    for index in range(count):
        first_nine = f"19{index:07d}"
        id_number = first_nine + check_digit(first_nine)
        mobile = f"+96655{index:07d}"
        birth = dt.date(1980, 1, 1) + dt.timedelta(days=index)
        person_create(
            id_number=id_number,
            first_name_ar="سعد",
            father_name_ar="محمد",
            grandfather_name_ar="علي",
            family_name_ar="القحطاني",
            first_name_en="Saad",
            father_name_en="Mohammed",
            grandfather_name_en="Ali",
            family_name_en="Al-Qahtani",
            sex="M",
            date_of_birth=birth,
            place_of_birth_ar="الرياض",
            place_of_birth_en="Riyadh",
            mobile=mobile,
            actor=Actor.system("bench.sign_in"),
        )
        ip = f"127.1.{index // 250}.{index % 250 + 1}"
        started = identity.activation_start(id_number=id_number, date_of_birth=birth, mobile=mobile, ip=ip)
        identity.activation_verify(challenge=started.challenge, code=_latest_code(mobile), ip=ip)
        identity.activation_complete(
            challenge=started.challenge,
            username=f"bench{index}",
            password=PASSWORD,
            accepted_terms=True,
            ip=ip,
        )
        accounts.append((id_number, mobile))
    return accounts


def _sign_in(id_number: str, mobile: str, ip: str) -> None:
    from django.test import Client
    from django.urls import reverse
    from django.utils import translation

    with translation.override("en"):
        sign_in_url, code_url = reverse("portal:sign-in"), reverse("portal:sign-in-code")
    client = Client(HTTP_HOST="localhost", REMOTE_ADDR=ip)
    _expect(client.get(sign_in_url), 200)
    _expect(client.post(sign_in_url, {"login": id_number, "password": PASSWORD}), 302, code_url)
    _expect(client.get(code_url), 200)
    _expect(client.post(code_url, {"code": _latest_code(mobile), "method": "sms"}), 302, "/account/")


def _expect(response: Any, status: int, location: str = "") -> None:
    """A benchmark of a broken journey measures nothing: stop at the first unexpected answer."""
    if response.status_code != status or location not in response.get("Location", ""):
        got = f"{response.status_code} {response.get('Location', '')}"
        raise RuntimeError(f"expected {status} {location}, got {got}")


def _flood(options: argparse.Namespace) -> None:
    """--flood: wrong passwords at full speed against the real server, while a relying party's
    document-status lookups are measured on the same server, idle and during the flood."""
    import json

    from _server import Server, collect_static, free_port, load

    vendor = prepare_environment()
    port = free_port()
    # The flood names a new client address every few tries (X-Forwarded-For behind one trusted
    # proxy), as many attackers behind a load balancer appear: every try runs Argon2.
    os.environ["HAWIYA_TRUSTED_PROXIES"] = "1"
    os.environ["HAWIYA_DOCUMENT_STATUS_RATE_LIMIT"] = str(RATE_LIMIT)

    import django
    from django.core.management import call_command
    from django.db import connection
    from django.urls import reverse
    from django.utils import translation

    django.setup()
    call_command("migrate", verbosity=0)
    collect_static(options.static)
    from document_status import SignInFlood, _issue_cards, _make_party, _party_token

    logins = [id_number for id_number, _mobile in _make_accounts(options.accounts)]
    checks = _issue_cards(logins)
    client_id, secret = _make_party()
    with translation.override("en"):
        sign_in_path = reverse("portal:sign-in")
    connection.close()  # the server's processes hold the database now (SQLite: one writer)

    def valid(status: int, body: bytes) -> bool:
        return status == 200 and json.loads(body).get("status") == "valid"

    with Server(port) as server:
        token = _party_token(port, client_id, secret)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        lookup = ("POST", "/api/v1/document-status", headers, json.dumps(checks[0]).encode())
        load(server, "warm-up", lookup, 1.0, options.concurrency, valid)
        idle = load(server, "lookup, idle", lookup, options.seconds, options.concurrency, valid)
        with SignInFlood(port, logins, options.flood, sign_in_path, spread=True) as flood:
            time.sleep(1.0)  # the flood's threads have their forms and are posting
            # First the flood alone: how many sign-ins the server answers with nothing else to do.
            counted_from = dict(flood.answers)
            cpu_before = server.cpu_seconds()
            started = time.perf_counter()
            time.sleep(options.seconds)
            alone_seconds = time.perf_counter() - started
            alone_cpu = server.cpu_seconds() - cpu_before
            alone = {name: flood.answers[name] - counted_from.get(name, 0) for name in flood.answers}
            # Then the lookups during the flood.
            counted_from = dict(flood.answers)
            started = time.perf_counter()
            during = load(server, "lookup, during flood", lookup, options.seconds, options.concurrency, valid)
            flood_seconds = time.perf_counter() - started
            answers = {name: flood.answers[name] - counted_from.get(name, 0) for name in flood.answers}
    cores = os.cpu_count() or 1
    refused = answers.get("wrong password", 0)
    refused_alone = alone.get("wrong password", 0)
    busy = answers.get("busy", 0)
    throttled = answers.get("throttled", 0)  # refused before the hasher: not counted as sign-ins
    expected = ("wrong password", "busy", "throttled")
    others = {name: count for name, count in answers.items() if name not in expected}
    others.update({f"alone: {name}": count for name, count in alone.items() if name not in expected})
    print(
        f"sign-in flood — {vendor}, {cores} cores, deploy/entrypoint web, {options.flood} flood threads "
        f"(wrong passwords, a new address every few tries), {options.concurrency} lookup clients, "
        f"hashing threads' nice {os.environ.get('HAWIYA_PASSWORD_HASH_NICE', 'default')}"
    )
    print(idle.line())
    print(f"  flood alone ({alone_seconds:.1f} s): {alone}")
    tries_alone = max(1, sum(alone.values()))
    print(
        f"  the server workers' CPU during it: {alone_cpu:.1f} s, "
        f"{1000 * alone_cpu / tries_alone:.1f} ms a try "
        f"(so {tries_alone / alone_cpu if alone_cpu else 0:.1f} sign-ins per second of one core's CPU)"
    )
    print(during.line())
    print(f"  flood answers during the lookups ({flood_seconds:.1f} s): {answers}")
    print(f"  503 (every password-hashing slot busy, Retry-After): {busy}; throttled: {throttled}")
    print(f"  other answers (errors): {sum(others.values())} {others or ''}")
    print(f"  sign-ins answered per second during the lookups: {refused / flood_seconds:.1f} ({cores} cores)")
    # The machine runs the flood's client too: this per-core figure counts every core of the machine.
    print(f"sign-ins/s per core: {refused_alone / alone_seconds / cores:.1f}")
    print(f"lookup flood/idle: {during.rate / idle.rate:.2f}")
    if others or idle.failures or during.failures:
        print("an answer other than the expected ones (no 500s allowed)", file=sys.stderr)
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--flood", type=int, default=0, help="flood threads against the real server")
    parser.add_argument("--seconds", type=float, default=10.0, help="--flood: time per measurement")
    parser.add_argument("--concurrency", type=int, default=4, help="--flood: lookup clients")
    parser.add_argument("--static", default="", help="--flood: a STATIC_ROOT collected by an earlier run")
    options = parser.parse_args()
    if options.flood:
        if not (1 <= options.flood <= 32 and 1 <= options.accounts <= 500 and 1 <= options.seconds <= 120):
            sys.exit("--flood 1..32, --accounts 1..500, --seconds 1..120")
        _flood(options)
        return
    prepare_environment()

    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # pages render as in production
    accounts = _make_accounts(options.accounts)
    timer = HashTimer()
    timer.install()

    totals, without_hash = [], []
    for index, (id_number, mobile) in enumerate(accounts):
        before_hash = timer.seconds
        started = time.perf_counter()
        _sign_in(id_number, mobile, ip=f"127.2.{index // 250}.{index % 250 + 1}")
        elapsed = time.perf_counter() - started
        totals.append(elapsed)
        without_hash.append(elapsed - (timer.seconds - before_hash))

    def ms(values: list[float], q: float) -> str:
        ordered = sorted(values)
        return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f}"

    print(f"sign-in benchmark — {connection.vendor}, {os.cpu_count()} cores, {len(accounts)} sign-ins")
    print("  4 requests each: GET sign-in, POST password, GET code page (sends the SMS), POST code")
    print(f"  full sign-in       median {1000 * statistics.median(totals):.1f} ms   p90 {ms(totals, 0.9)} ms")
    print(
        f"  without Argon2     median {1000 * statistics.median(without_hash):.1f} ms   "
        f"p90 {ms(without_hash, 0.9)} ms"
    )


if __name__ == "__main__":
    main()
