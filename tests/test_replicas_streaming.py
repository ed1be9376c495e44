"""Read replicas against a real streaming replica (PostgreSQL pass only).

A session fixture copies the test cluster with `pg_basebackup -R` (after the test database is
made, so the copy has it) and starts it as a hot standby on a free port; the alias `replica_1`
reads the test database there. The tests pause the standby's replay to make it lag on purpose:
a card reported lost is still `valid` on the replica, yet the document-status check answers
`reported_lost`; a citizen who just wrote reads the primary until the pin expires, and the
replica again afterwards.

The cluster must accept replication connections from 127.0.0.1 (pg_hba.conf:
`host replication postgres 127.0.0.1/32 trust`); without it the fixture fails and says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from hawiya.api.tests.test_document_status_api import register, token_for
from hawiya.audit.actors import Actor
from hawiya.casework.tests.factories import open_office, signed_in, staff_user
from hawiya.core import clock
from hawiya.core.replicas import PIN_COOKIE, stale_reads_ok
from hawiya.core.testing import pin_clock
from hawiya.document_checks.services import StatusQuery, document_status_check
from hawiya.identity.models import StaffRole, User
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.losses.tests.factories import make_id_card, make_report, make_reporter
from hawiya.notifications.services import notify
from hawiya.registry.models import Document, DocumentStatus

from .postgres_servers import (
    as_server_user,
    database_alias,
    free_port,
    on_postgresql,
    port_open,
    postgres_bindir,
    run,
    server_directory,
    tool,
    wait_until,
)

ALIAS = "replica_1"
pytestmark = [
    pytest.mark.skipif(not on_postgresql(), reason="a streaming replica needs PostgreSQL"),
    pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, ALIAS]),
]
# The standby must at least match these of the primary, or it refuses to start.
MATCHED_SETTINGS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
HBA_HINT = (
    "\nThe cluster must accept replication connections from 127.0.0.1: add "
    "`host replication postgres 127.0.0.1/32 trust` to pg_hba.conf and reload."
)


def _one(alias: str, sql: str, params: list[Any] | None = None) -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


@dataclass
class Replica:
    alias: str
    port: int

    def catch_up(self) -> None:
        """Wait (bounded) until the standby has replayed everything the primary has written."""
        position = _one(DEFAULT_DB_ALIAS, "SELECT pg_current_wal_lsn()::text")
        wait_until(
            lambda: bool(_one(self.alias, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])),
            seconds=15,
            what="the replica's replay",
        )

    def pause(self) -> None:
        _one(self.alias, "SELECT pg_wal_replay_pause()::text")
        wait_until(
            lambda: _one(self.alias, "SELECT pg_get_wal_replay_pause_state()") == "paused",
            seconds=10,
            what="the replica's replay to pause",
        )

    def resume(self) -> None:
        _one(self.alias, "SELECT pg_wal_replay_resume()::text")


@pytest.fixture(scope="session")
def streaming_replica(django_db_setup: None, django_db_blocker: Any) -> Iterator[Replica]:
    with django_db_blocker.unblock():
        bindir = postgres_bindir()
        matched = {name: _one(DEFAULT_DB_ALIAS, f"SHOW {name}") for name in MATCHED_SETTINGS}
        primary = connections[DEFAULT_DB_ALIAS].settings_dict
    basebackup = tool(bindir / "pg_basebackup", "postgresql")
    pg_ctl = tool(bindir / "pg_ctl", "postgresql")
    port = free_port()
    with server_directory("hawiya-replica-") as home:
        data = home / "data"
        run(
            as_server_user(
                [
                    basebackup,
                    *_connection_arguments(primary),
                    "-D",
                    str(data),
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "-N",
                ]
            ),
            what="pg_basebackup",
            hint=HBA_HINT,
        )
        _write_config(data, home, port, matched)
        run(
            as_server_user([pg_ctl, "-D", str(data), "-l", str(home / "log"), "-w", "-t", "30", "start"]),
            what="pg_ctl start",
        )
        try:
            with database_alias(ALIAS, port=port), django_db_blocker.unblock():
                replica = Replica(ALIAS, port)
                assert _one(ALIAS, "SELECT pg_is_in_recovery()") is True
                yield replica
                replica.resume()
        finally:
            run(
                as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]), what="pg_ctl stop"
            )
            assert not port_open(port)


def _connection_arguments(primary: dict[str, Any]) -> list[str]:
    host, port, user = primary["HOST"] or "127.0.0.1", primary["PORT"] or 5432, primary["USER"] or "postgres"
    return ["-h", str(host), "-p", str(port), "-U", str(user)]


def _write_config(data: Path, home: Path, port: int, matched: dict[str, str]) -> None:
    """The standby's own configuration (Debian keeps the primary's under /etc, not in the copy)."""
    lines = [
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{home}'",
        "hot_standby = on",
        "fsync = off",
        "shared_buffers = 16MB",
        *(f"{name} = {value}" for name, value in matched.items()),
    ]
    (data / "postgresql.conf").write_text("\n".join(lines) + "\n")
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")


@pytest.fixture
def replica(streaming_replica: Replica, settings: Any) -> Iterator[Replica]:
    """The replica, routed to (HAWIYA_DATABASE_REPLICAS) for this test only; replay resumed and
    the connection closed at the end (a held snapshot would hold back the flush's replay)."""
    settings.HAWIYA_DATABASE_REPLICAS = [streaming_replica.alias]
    settings.HAWIYA_REPLICA_PIN_SECONDS = 10
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 1000
    cache.clear()
    yield streaming_replica
    streaming_replica.resume()
    connections[streaming_replica.alias].close()


def _tables_read(captured: CaptureQueriesContext) -> str:
    return " ".join(query["sql"] for query in captured.captured_queries)


def test_the_replica_alias_reads_the_standby_and_a_stale_tolerant_page_reads_it(replica: Replica) -> None:
    assert _one(DEFAULT_DB_ALIAS, "SELECT pg_is_in_recovery()") is False
    assert _one(replica.alias, "SELECT pg_is_in_recovery()") is True
    supervisor = staff_user(role=StaffRole.SUPERVISOR, office=open_office())
    client = signed_in(supervisor)
    replica.catch_up()
    with (
        CaptureQueriesContext(connections[replica.alias]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        response = client.get("/en/staff/supervisor/")
    assert response.status_code == 200
    assert "replacements_replacement" in _tables_read(on_replica)  # the figures: the replica
    assert "replacements_replacement" not in _tables_read(on_primary)
    assert "identity_" not in _tables_read(on_replica)  # who is signed in, the role: the primary
    assert "identity_" in _tables_read(on_primary)


def test_the_admins_list_page_reads_the_replica_and_its_change_page_the_primary(replica: Replica) -> None:
    holder = make_reporter()
    card = make_id_card(holder)
    client = Client()
    client.force_login(User.objects.create_superuser(username="replica-admin", password="x-long-password-1"))
    replica.catch_up()
    for url, on in (
        (reverse("admin:registry_document_changelist"), replica.alias),
        (reverse("admin:registry_document_change", args=[card.pk]), DEFAULT_DB_ALIAS),
    ):
        with CaptureQueriesContext(connections[replica.alias]) as on_replica:
            response = client.get(url)
        assert response.status_code == 200
        assert ("registry_document" in _tables_read(on_replica)) is (on == replica.alias), url


def test_a_card_reported_lost_is_never_valid_even_while_the_replica_lags(replica: Replica) -> None:
    party, secret = register()
    api = Client()
    token = token_for(api, party, secret)
    holder = make_reporter()
    card = make_id_card(holder)
    replica.catch_up()
    replica.pause()

    make_report(holder, [card])  # on the primary; the replica does not replay it

    assert Document.objects.using(replica.alias).get(pk=card.pk).status == DocumentStatus.VALID
    with stale_reads_ok():
        assert Document.objects.get(pk=card.pk).status == DocumentStatus.VALID  # stale, as allowed
        answers = document_status_check(
            actor=Actor.relying_party(party.application.client_id),
            party=party,
            queries=[
                StatusQuery(id_number=holder.id_number, kind=card.kind, serial_number=card.serial_number)
            ],
        )
    assert [answer.status for answer in answers] == ["reported_lost"]
    response = api.post(
        "/api/v1/document-status",
        {"id_number": holder.id_number, "kind": card.kind, "serial_number": card.serial_number},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "reported_lost"
    assert (
        Document.objects.using(replica.alias).get(pk=card.pk).status == DocumentStatus.VALID
    )  # still lagging


def test_after_a_write_the_client_reads_the_primary_until_the_pin_expires(
    replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = pin_clock(monkeypatch, clock.now())
    user = make_account()
    person = person_of(user)
    with transaction.atomic():
        entry = notify(
            person_id=person.pk,
            mobile="",
            language="en",
            template="lost_document_reported",
            context={"reference": "LR1"},
        )
    client = Client()
    client.force_login(user)
    replica.catch_up()

    def read_list() -> tuple[int, str]:
        with CaptureQueriesContext(connections[replica.alias]) as on_replica:
            page = client.get("/en/notifications/")
        assert page.status_code == 200
        return page.context["unread"], _tables_read(on_replica)

    unread, replica_sql = read_list()
    assert unread == 1
    assert "notifications_inboxnotification" in replica_sql
    replica.pause()

    posted = client.post("/en/notifications/mark-read/", {"notification": [str(entry.pk)]})
    assert posted.status_code == 302
    assert PIN_COOKIE in posted.cookies

    unread, replica_sql = read_list()  # pinned: the primary, which has the write
    assert (unread, replica_sql) == (0, "")
    pinned.advance(seconds=11)
    unread, replica_sql = read_list()  # the pin has expired: the replica, still paused, is stale
    assert unread == 1
    assert "notifications_inboxnotification" in replica_sql
