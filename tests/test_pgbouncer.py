"""Hawiya behind PgBouncer in transaction mode (PostgreSQL pass only; needs the Debian package
pgbouncer). A session fixture starts PgBouncer on a free port (pool_mode = transaction, trust,
in front of the test cluster); the tests point the default connection at it with
DATABASE_POOLER=transaction's setting (DISABLE_SERVER_SIDE_CURSORS) and run a slice of the
application: reads and writes in transactions, select_for_update, a long `.iterator()`, the same
query many times (no prepared statements), and a citizen's page. One test shows why the setting
is needed: with server-side cursors on, an iterator breaks as soon as its next fetch lands on
another server connection."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.test import Client

from hawiya.identity.tests.factories import make_account
from hawiya.registry.models import Person
from hawiya.registry.tests.factories import make_person

from .postgres_servers import (
    SERVER_USER,
    free_port,
    on_postgresql,
    port_open,
    server_directory,
    tool,
    wait_until,
)

pytestmark = [
    pytest.mark.skipif(not on_postgresql(), reason="PgBouncer stands in front of PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]
POOL_SIZE = 2


@pytest.fixture(scope="session")
def pgbouncer(django_db_setup: None, django_db_blocker: Any) -> Iterator[int]:
    """PgBouncer's port. Run as the postgres OS user (it refuses root), stopped at the end."""
    with django_db_blocker.unblock():
        primary = connections[DEFAULT_DB_ALIAS].settings_dict
        host, port, user = (
            primary["HOST"] or "127.0.0.1",
            primary["PORT"] or 5432,
            primary["USER"] or "postgres",
        )
    program = tool("pgbouncer", "pgbouncer")
    listen = free_port()
    with server_directory("hawiya-pgbouncer-") as home:
        (home / "users.txt").write_text(f'"{user}" ""\n')
        (home / "pgbouncer.ini").write_text(_ini(home, listen, host, port))
        server = subprocess.Popen(
            [program, str(home / "pgbouncer.ini")],
            user=SERVER_USER if _root() else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(lambda: port_open(listen) or server.poll() is not None, seconds=10, what="pgbouncer")
            if server.poll() is not None:
                pytest.fail(f"pgbouncer did not start: {_log(home)}")
            yield listen
        finally:
            server.terminate()
            server.wait(timeout=10)


def _root() -> bool:
    return os.geteuid() == 0


def _log(home: Path) -> str:
    log = home / "pgbouncer.log"
    return log.read_text()[-2000:] if log.exists() else "(no log)"


def _ini(home: Path, listen: int, host: str, port: int) -> str:
    """The settings docs/design.md asks of operators: transaction pooling, nothing that relies on
    session state; a small pool, so that consecutive transactions of one client really land on
    different server connections here."""
    return f"""[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {home}/users.txt
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 20
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {home}/pgbouncer.log
pidfile = {home}/pgbouncer.pid
"""


@contextmanager
def through_pgbouncer(port: int, *, server_side_cursors: bool, **options: Any) -> Iterator[None]:
    """The default connection goes through PgBouncer, with server-side cursors off (as
    DATABASE_POOLER=transaction sets them) unless asked otherwise, and these connection options
    added; restored at the end."""
    connection = connections[DEFAULT_DB_ALIAS]
    saved = {
        key: connection.settings_dict[key]
        for key in ("HOST", "PORT", "DISABLE_SERVER_SIDE_CURSORS", "OPTIONS")
    }
    connection.close()
    connection.settings_dict.update(
        {
            "HOST": "127.0.0.1",
            "PORT": port,
            "DISABLE_SERVER_SIDE_CURSORS": not server_side_cursors,
            "OPTIONS": {**saved["OPTIONS"], **options},
        }
    )
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@contextmanager
def another_client_in_a_transaction(port: int) -> Iterator[None]:
    """A second client of PgBouncer holding a server connection (the one used last) in an open
    transaction, so the next statement of ours is given another server connection."""
    settings_dict = connections[DEFAULT_DB_ALIAS].settings_dict
    with psycopg.connect(
        host="127.0.0.1", port=port, dbname=settings_dict["NAME"], user=settings_dict["USER"] or "postgres"
    ) as other:
        other.execute("SELECT 1")  # psycopg opens a transaction: PgBouncer keeps its server
        yield
        other.rollback()


def _server_pid() -> int:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db
def test_the_settings_for_transaction_pooling(settings: Any) -> None:
    """What DATABASE_POOLER=transaction relies on: no prepared statements (Django binds on the
    client and leaves psycopg's prepare_threshold at None), server-side cursors off by the setting."""
    options = settings.DATABASES[DEFAULT_DB_ALIAS].get("OPTIONS", {})
    assert "server_side_binding" not in options
    assert options.get("prepare_threshold") is None
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    assert connection.connection.prepare_threshold is None
    assert connection.connection.cursor().__class__.__name__ == "Cursor"  # Django's ClientCursor
    assert isinstance(connection.connection.cursor(), psycopg.ClientCursor)


def test_a_slice_of_the_application_through_pgbouncer(pgbouncer: int, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()
    people = [make_person() for _ in range(3)]
    with through_pgbouncer(pgbouncer, server_side_cursors=False):
        servers = set()
        # Writes and reads in transactions, a row lock.
        with transaction.atomic():
            locked = Person.objects.select_for_update().get(pk=people[0].pk)
            locked.first_name_en = "Pooled"
            locked.save(update_fields=["first_name_en"])
        assert Person.objects.get(pk=people[0].pk).first_name_en == "Pooled"
        # The same query again and again, from changing server connections: nothing prepared.
        for round_ in range(8):
            if round_ % 2:
                with another_client_in_a_transaction(pgbouncer):
                    servers.add(_server_pid())
                    assert Person.objects.filter(pk=people[1].pk).count() == 1
            else:
                servers.add(_server_pid())
                assert Person.objects.filter(pk=people[1].pk).count() == 1
        assert len(servers) == POOL_SIZE  # the statements really moved between server connections
        # A long iterator while another client takes the server connection it started on.
        rows = Person.objects.order_by("pk").only("pk").iterator(chunk_size=1)
        first = next(rows)
        with another_client_in_a_transaction(pgbouncer):
            rest = list(rows)
        assert [first.pk, *(row.pk for row in rest)] == sorted(person.pk for person in Person.objects.all())
        # A citizen's page: sign-in state, session, the page's reads.
        user = make_account()
        client = Client()
        client.force_login(user)
        page = client.get("/en/account/")
        assert page.status_code == 200


def test_server_side_cursors_break_behind_transaction_pooling(pgbouncer: int) -> None:
    """Why DATABASE_POOLER=transaction turns them off: the cursor lives on one server connection,
    and the next fetch may be sent to another."""
    for _ in range(3):
        make_person()
    with through_pgbouncer(pgbouncer, server_side_cursors=True):
        rows = Person.objects.order_by("pk").only("pk").iterator(chunk_size=1)
        next(rows)
        with (
            another_client_in_a_transaction(pgbouncer),
            pytest.raises((DatabaseError, psycopg.Error), match=r"cursor .* does not exist"),
        ):
            list(rows)


def test_prepared_statements_would_break_behind_transaction_pooling(pgbouncer: int) -> None:
    """Why Django's defaults are kept (client-side binding, prepare_threshold=None): a statement
    prepared on one server connection is unknown to the next (PgBouncer before 1.21, or
    max_prepared_statements = 0)."""
    person = make_person()
    with through_pgbouncer(
        pgbouncer, server_side_cursors=False, server_side_binding=True, prepare_threshold=0
    ):
        assert Person.objects.filter(pk=person.pk).count() == 1  # prepared on the server used last
        with (
            another_client_in_a_transaction(pgbouncer),
            pytest.raises((DatabaseError, psycopg.Error), match=r"prepared statement .* does not exist"),
        ):
            Person.objects.filter(pk=person.pk).count()
