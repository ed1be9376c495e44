"""The application's role runs under a 60 s statement limit in its database (migration core 0001),
and a client's startup option (the migrate Job's PGOPTIONS) lifts it."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a role's settings are PostgreSQL's"),
]


def _new_connection() -> psycopg.Connection:
    """A connection of its own, as a new process of the application would open, to the test
    database (role defaults apply when a session starts; libpq reads PGOPTIONS then)."""
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )


def _statement_timeout(new: psycopg.Connection) -> str:
    row = new.execute("SHOW statement_timeout").fetchone()
    assert row is not None
    return str(row[0])


def test_a_new_session_of_the_role_gets_the_sixty_second_limit() -> None:
    with _new_connection() as new:
        assert _statement_timeout(new) == "1min"
        # It cancels: a statement past a (shortened) limit is stopped by the server.
        new.execute("SET statement_timeout = '50ms'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            new.execute("SELECT pg_sleep(1)")


def test_the_migrate_jobs_startup_option_lifts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=0")
    with _new_connection() as new:
        assert _statement_timeout(new) == "0"


def test_the_limit_is_set_for_this_database_only() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.datname, s.setconfig FROM pg_db_role_setting s "
            "JOIN pg_database d ON d.oid = s.setdatabase "
            "WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
            "AND d.datname IN (current_database(), 'postgres')"
        )
        settings = dict(cursor.fetchall())
    assert settings == {connection.settings_dict["NAME"]: ["statement_timeout=60s"]}
