"""Requests per second of the OpenID Connect token endpoint (code exchange) and userinfo, against a
bare view returning a fixed JSON body, on one real server in one run.

    .venv/bin/python bench/oidc.py [--requests 400] [--concurrency 8]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hawiya_bench .venv/bin/python bench/oidc.py

The server is gunicorn as `make run` starts it (scripts/serve: 2 workers x 4 threads), with
settings that add one URL, `/bench/bare/` (bench/oidc_site.py): Hawiya's own URLs never have it.
A demo party and a few citizens' accounts are made first; the authorization codes are written
straight into django-oauth-toolkit's Grant table with their PKCE challenge (S256), as the consent
screen would have, then each is exchanged once at POST /oidc/token/ (client_secret_basic, the
verifier). The access tokens it returns are then used for GET /oidc/userinfo/. The same number of
requests and the same concurrency for each; the bare view is measured before and after and the
ratios use the mean of the two (the machine is shared). Every answer must be 200: a failed
exchange measures nothing, so the script exits 1 on any other status.

SQLite runs in a temporary directory; with DATABASE_URL (its name must contain "bench") the
database is dropped and created afresh. Loopback only, bounded loops.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import http.client
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

from _server import free_port, prepare_environment  # shared by the benches
from sign_in import _make_accounts  # the bench's way of making activated accounts (services)

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
CLIENT_ID = "bench-party"
CLIENT_SECRET = "bench-only-client-secret-" + "x" * 24
REDIRECT_URI = "http://127.0.0.1:8001/callback"
SCOPE = "openid profile national_id birthdate"
WEB_WORKERS, WEB_THREADS = 2, 4  # as scripts/serve
SERVER_START_SECONDS = 60

Request = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body


def _prepare_environment(port: int) -> None:
    """The bench's own settings (oidc_site), with the issuer where the server will answer."""
    os.environ["HAWIYA_OIDC_ISSUER"] = f"http://127.0.0.1:{port}"
    prepare_environment("oidc_site")


def _make_party() -> None:
    from oauth2_provider.models import Application

    from hawiya.identity.models import RelyingParty, TokenEndpointAuthMethod

    application = Application.objects.create(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,  # hashed on save with the keyed fast hasher
        name="Bench Party",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        algorithm=Application.RS256_ALGORITHM,
    )
    RelyingParty.objects.create(
        application=application,
        name_ar="جهة القياس",
        name_en="Bench Party",
        allowed_scopes=SCOPE.split(),
        token_endpoint_auth_method=TokenEndpointAuthMethod.CLIENT_SECRET_BASIC,
    )


def _make_codes(count: int, users: list[int]) -> list[tuple[str, str]]:
    """`count` unused authorization codes as the consent screen leaves them; (code, verifier)."""
    from oauth2_provider.models import Application, Grant

    from hawiya.core import clock

    application = Application.objects.get(client_id=CLIENT_ID)
    expires = clock.now() + dt.timedelta(hours=1)
    codes, grants = [], []
    for index in range(count):
        code, verifier = secrets.token_urlsafe(30), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        grants.append(
            Grant(
                user_id=users[index % len(users)],
                application=application,
                code=code,
                expires=expires,
                redirect_uri=REDIRECT_URI,
                scope=SCOPE,
                code_challenge=challenge,
                code_challenge_method="S256",
                nonce=secrets.token_urlsafe(16),
                claims="{}",
            )
        )
        codes.append((code, verifier))
    Grant.objects.bulk_create(grants, batch_size=500)
    return codes


def _token_request(code: str, verifier: str) -> Request:
    credentials = base64.b64encode(f"{quote(CLIENT_ID)}:{quote(CLIENT_SECRET)}".encode()).decode()
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }
    ).encode()
    headers = {"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"}
    return ("POST", "/oidc/token/", headers, body)


def _start_server(port: int) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "hawiya.config.wsgi:application",
        "--pythonpath",
        f"{ROOT / 'src'},{BENCH}",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WEB_WORKERS),
        "--threads",
        str(WEB_THREADS),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy())
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}")
        try:
            status, _ = _send(
                http.client.HTTPConnection("127.0.0.1", port, timeout=5), ("GET", "/bench/bare/", {}, b"")
            )
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"the server did not answer within {SERVER_START_SECONDS} s")


def _send(connection: http.client.HTTPConnection, request: Request) -> tuple[int, bytes]:
    method, path, headers, body = request
    connection.request(method, path, body=body or None, headers={"Host": "127.0.0.1", **headers})
    response = connection.getresponse()
    return response.status, response.read()


def _load(port: int, requests: list[Request], concurrency: int) -> tuple[float, list[tuple[int, bytes]]]:
    """Send every request once from `concurrency` threads with kept-alive connections; the seconds
    taken and the answers, in the order of `requests`."""
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    cursor = iter(range(len(requests)))
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                try:
                    answers[index] = _send(connection, requests[index])
                except (OSError, http.client.HTTPException) as error:
                    answers[index] = (-1, str(error).encode())
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, answers


def _measure(
    name: str, port: int, requests: list[Request], concurrency: int, check: Callable[[bytes], bool]
) -> tuple[float, list[bytes]]:
    """Requests per second of one endpoint, and its answers' bodies."""
    seconds, answers = _load(port, requests, concurrency)
    failed = [(status, body[:200]) for status, body in answers if status != 200 or not check(body)]
    if failed:
        raise RuntimeError(f"{name}: {len(failed)} of {len(answers)} failed, e.g. {failed[0]!r}")
    rate = len(requests) / seconds
    print(f"  {name:<16} {len(requests):>5} requests in {seconds:6.2f} s   {rate:8.1f} requests/s")
    return rate, [body for _, body in answers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--port", type=int, default=0, help="default: a free port on 127.0.0.1")
    options = parser.parse_args()
    if not (1 <= options.requests <= 100_000 and 1 <= options.concurrency <= 64):
        sys.exit("--requests 1..100000, --concurrency 1..64")
    port = options.port or free_port()
    _prepare_environment(port)

    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from hawiya.identity.models import User

    _make_accounts(options.accounts)
    users = list(User.objects.order_by("id").values_list("id", flat=True))
    _make_party()
    warm_up = min(50, options.requests)
    codes = _make_codes(options.requests + warm_up, users)
    vendor = connection.vendor
    connection.close()  # the server's processes hold the database now (SQLite: one writer)

    server = _start_server(port)
    try:
        bare: list[Request] = [("GET", "/bench/bare/", {}, b"")] * options.requests
        tokens = [_token_request(code, verifier) for code, verifier in codes]

        def has(key: str) -> Callable[[bytes], bool]:
            return lambda body: key in json.loads(body)

        # Warm-up: every worker has loaded its code, keys and connections before anything counts.
        _load(port, bare[:warm_up], options.concurrency)
        _, warm_answers = _load(port, tokens[:warm_up], options.concurrency)
        access = [json.loads(body)["access_token"] for status, body in warm_answers if status == 200]
        if len(access) != warm_up:
            raise RuntimeError(
                f"warm-up token exchange failed: {warm_answers[0][0]} {warm_answers[0][1][:300]!r}"
            )

        print(
            f"OIDC benchmark — {vendor}, {os.cpu_count()} cores, gunicorn {WEB_WORKERS} workers x "
            f"{WEB_THREADS} threads, {options.concurrency} concurrent clients, "
            f"{options.requests} requests each"
        )
        bare_before, _ = _measure("bare view", port, bare, options.concurrency, has("ok"))
        token_rate, issued = _measure(
            "token endpoint", port, tokens[warm_up:], options.concurrency, has("id_token")
        )
        access += [json.loads(body)["access_token"] for body in issued]
        userinfo = [
            ("GET", "/oidc/userinfo/", {"Authorization": f"Bearer {access[index % len(access)]}"}, b"")
            for index in range(options.requests)
        ]
        _load(port, userinfo[:warm_up], options.concurrency)
        userinfo_rate, _ = _measure("userinfo", port, userinfo, options.concurrency, has("sub"))
        bare_after, _ = _measure("bare view again", port, bare, options.concurrency, has("ok"))
    finally:
        server.terminate()
        server.wait(timeout=30)

    bare_rate = (bare_before + bare_after) / 2
    print(f"  bare view, mean of both runs: {bare_rate:.1f} requests/s")
    print(f"token/bare: {token_rate / bare_rate:.2f}")
    print(f"userinfo/bare: {userinfo_rate / bare_rate:.2f}")


if __name__ == "__main__":
    main()
