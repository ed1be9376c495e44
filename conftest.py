"""Suite-wide test settings."""

import base64
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from django.test import override_settings
from django.test.testcases import LiveServerThread

SRC = Path(__file__).resolve().parent / "src"


def pytest_configure(config: pytest.Config) -> None:
    """Compile stale message catalogues, so a bare `pytest` sees the Arabic a `make test` would.

    pytest-django has set Django up by now, and an app's start has already read the Arabic
    catalogues; after compiling, they are dropped as Django's autoreloader drops them, or the
    first run would still translate with the old ones."""
    from django.utils.translation.reloader import translation_file_changed

    for catalogue in SRC.glob("hawiya/*/locale/*/LC_MESSAGES/django.po"):
        compiled = catalogue.with_suffix(".mo")
        if not compiled.exists() or compiled.stat().st_mtime < catalogue.stat().st_mtime:
            subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(catalogue)], check=True)  # noqa: S603,S607
            translation_file_changed(sender=None, file_path=compiled)


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server for an in-memory SQLite test database.

    Its request threads all share the test's one connection (an in-memory database exists only
    in it). Two requests at once, such as a page's script fetching while its form posts, then
    interleave their statements on that connection and SQLite fails one ("cannot release
    savepoint - SQL statements in progress"), a 500 no real server gives. Each request runs
    whole (answer, body and close) under one lock; connections stay threaded, so the browser's
    keep-alive connections still work.
    """

    def set_app(self, application: WSGIApplication | None) -> None:
        assert application is not None
        lock = threading.Lock()

        def one_at_a_time(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
            with lock:
                answer = application(environ, start_response)
                try:
                    return [b"".join(answer)]
                finally:
                    close = getattr(answer, "close", None)
                    if close is not None:
                        close()

        super().set_app(one_at_a_time)


@pytest.fixture(autouse=True, scope="session")
def live_server_one_request_at_a_time() -> Iterator[None]:
    """On SQLite, the live server (a session fixture built on first use) serves one request at a
    time: see OneRequestAtATimeServer. PostgreSQL gives each request thread its own connection."""
    if connection.vendor != "sqlite":
        yield
        return
    # django-stubs does not declare the class attribute the thread builds its server from.
    original = LiveServerThread.server_class  # type: ignore[attr-defined]
    LiveServerThread.server_class = OneRequestAtATimeServer  # type: ignore[attr-defined]
    yield
    LiveServerThread.server_class = original  # type: ignore[attr-defined]


@pytest.fixture(autouse=True, scope="session")
def plain_static_files() -> Iterator[None]:
    """Production serves hashed static files from a manifest written by collectstatic; the suite
    serves them straight from the apps, so it does not depend on a collectstatic run. Also quick
    password hashing (below)."""
    with override_settings(
        # The test client and the live server speak plain HTTP; production redirects to HTTPS.
        SECURE_SSL_REDIRECT=False,
        # Quick password hashing for the thousands of accounts the suite makes; the tests about
        # hashing (identity/tests/test_hashers.py, `real_hashers`) set the production hashers.
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "hawiya.identity.client_secrets.ClientSecretHasher",
            "hawiya.identity.hashers.Argon2idHasher",
        ],
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        yield


@pytest.fixture(autouse=True)
def pages_forgotten() -> None:
    """Each test renders the visitors' pages afresh (portal/page_cache.py keeps them a minute in
    each process): a test that patches what a page shows must see it."""
    from django.conf import settings
    from django.core.cache import caches

    if "pages" in settings.CACHES:
        caches["pages"].clear()


# The audit log's signing key of the whole suite (a server configuration, as on PostgreSQL here,
# has no key derived from SECRET_KEY; audit/tests set their own and test its absence).
TEST_AUDIT_SIGNING_SEED = base64.b64encode(bytes(range(32))).decode("ascii")


@pytest.fixture(autouse=True, scope="session")
def audit_signing_key() -> Iterator[None]:
    """Every test that runs the minute jobs seals the audit log, which needs the key; and a sealer
    waits at most 0.3 s for another connection's open transaction instead of 10 s."""
    with override_settings(
        HAWIYA_AUDIT_SIGNING_KEY=TEST_AUDIT_SIGNING_SEED, HAWIYA_AUDIT_SEAL_WAIT_SECONDS=0.3
    ):
        yield


@pytest.fixture(autouse=True, scope="session")
def demo_biometric_matcher() -> Iterator[None]:
    """The demo fingerprint matcher on both engines (the settings choose the ABIS with a server
    database); a test of the ABIS adapter chooses "http" itself."""
    with override_settings(HAWIYA_BIOMETRIC_MATCHER="demo"):
        yield


@pytest.fixture(autouse=True)
def audit_trail_cleared_before_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """A transactional test ends with a flush, which on SQLite is `DELETE FROM` every table; the
    audit trail's append-only triggers refuse that. Empty the trail first, lifting the triggers
    for that moment only (hawiya.audit.testing)."""
    if (
        request.node.get_closest_marker("django_db") is None
        and "transactional_db" not in request.fixturenames
    ):
        yield
        return
    # Set up before this fixture, so torn down (flushed) after it.
    request.getfixturevalue("_django_db_helper")
    yield
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        from hawiya.audit.testing import clear_audit_trail

        clear_audit_trail()


@pytest.fixture(autouse=True)
def signing_key_forgotten() -> None:
    """Each process remembers which key signs (identity/signing_keys.py); a test's database does
    not outlive the test, so neither may that memory."""
    from hawiya.identity import signing_keys

    signing_keys._active.clear()
