"""The replica router's rules (core/replicas.py), without a replica: which alias each read and
write is given inside and outside a stale-tolerant scope, pinned or not, with and without replicas
configured. The real streaming replica is tests/test_replicas_streaming.py (PostgreSQL only)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template import engines
from django.template.response import SimpleTemplateResponse
from django.test import RequestFactory
from django.urls import resolve, reverse

import hawiya
from hawiya.core import replicas
from hawiya.core.replicas import (
    PIN_COOKIE,
    ReplicaMiddleware,
    ReplicaRouter,
    pinned_by_cookie,
    replica_reads,
    stale_reads_ok,
)
from hawiya.core.testing import pin_clock
from hawiya.identity.models import User
from hawiya.registry.models import Document, Person

REPLICAS = ["replica_1", "replica_2"]
START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def with_replicas(settings: Any) -> list[str]:
    settings.HAWIYA_DATABASE_REPLICAS = REPLICAS
    settings.HAWIYA_REPLICA_PIN_SECONDS = 10
    return REPLICAS


def test_the_settings_route_through_the_router_and_migrate_only_the_primary(settings: Any) -> None:
    assert settings.DATABASE_ROUTERS == ["hawiya.core.replicas.ReplicaRouter"]
    assert settings.HAWIYA_DATABASE_REPLICAS == []  # no DATABASE_REPLICA_URLS in the tests
    rules = ReplicaRouter()
    assert rules.allow_migrate(DEFAULT_DB_ALIAS, "registry") is True
    assert rules.allow_migrate("replica_1", "registry") is False


def test_the_environment_makes_replica_aliases_and_the_pooler_turns_server_side_cursors_off(
    tmp_path: Path,
) -> None:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("HAWIYA_", "DATABASE_"))
    }
    environment.update(
        {
            "PYTHONPATH": str(Path(hawiya.__file__).parents[1]),
            "HAWIYA_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "k" * 50,
            "HAWIYA_FIELD_KEYS": "Z8ZbX1zG-KmYxrRYNkR6IFpyB5jQOdpTSGOO3-ytsDA=",
            "DATABASE_URL": "postgres://app@db.internal:6432/hawiya",
            "DATABASE_REPLICA_URLS": "postgres://app@replica-a:6432/hawiya, postgres://app@replica-b:6432/hawiya",
            "DATABASE_POOLER": "transaction",
        }
    )
    script = (
        "import json, hawiya.config.settings as s; "
        "print(json.dumps({'replicas': s.HAWIYA_DATABASE_REPLICAS, 'databases': s.DATABASES}, default=str))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout)
    assert loaded["replicas"] == ["replica_1", "replica_2"]
    databases = loaded["databases"]
    assert [databases[alias]["HOST"] for alias in ("default", "replica_1", "replica_2")] == [
        "db.internal",
        "replica-a",
        "replica-b",
    ]
    for alias, database in databases.items():
        assert database["DISABLE_SERVER_SIDE_CURSORS"] is True, alias
        assert database["CONN_MAX_AGE"] == 60
        assert database["CONN_HEALTH_CHECKS"] is True
        assert database["OPTIONS"] == {"connect_timeout": 5}  # nothing prepared, no server-side binding
    assert databases["replica_1"]["TEST"] == {"MIRROR": "default"}


def test_without_replicas_every_read_is_the_primary_even_inside_a_scope() -> None:
    with stale_reads_ok():
        assert router.db_for_read(Document) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Document) == DEFAULT_DB_ALIAS


def test_only_reads_inside_a_scope_go_to_a_replica_and_one_scope_reads_one_replica(
    with_replicas: list[str],
) -> None:
    assert router.db_for_read(Document) == DEFAULT_DB_ALIAS
    chosen = set()
    for _ in range(40):
        with stale_reads_ok():
            alias = router.db_for_read(Document)
            assert alias in with_replicas
            assert router.db_for_read(Person) == alias  # the whole page from one replica
            with stale_reads_ok():  # a nested scope is the same scope
                assert router.db_for_read(Document) == alias
            chosen.add(alias)
        assert router.db_for_read(Document) == DEFAULT_DB_ALIAS
    assert chosen == set(with_replicas)  # both used (1 in 2**39 to fail by chance)


def test_accounts_sessions_and_permissions_read_the_primary_inside_a_scope(with_replicas: list[str]) -> None:
    with stale_reads_ok():
        assert router.db_for_read(Document) in with_replicas
        assert router.db_for_read(User) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Session) == DEFAULT_DB_ALIAS
        assert router.db_for_read(User.groups.through) == DEFAULT_DB_ALIAS


def test_writes_go_to_the_primary_and_the_rest_of_the_scope_reads_it(with_replicas: list[str]) -> None:
    assert router.db_for_write(Document) == DEFAULT_DB_ALIAS
    with stale_reads_ok():
        assert router.db_for_read(Document) in with_replicas
        assert router.db_for_write(User) == DEFAULT_DB_ALIAS  # an account's row: no replica reads it
        assert router.db_for_read(Document) in with_replicas
        assert router.db_for_write(Document) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Document) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Person) == DEFAULT_DB_ALIAS


def test_a_read_while_the_primary_is_in_a_transaction_reads_the_primary(
    with_replicas: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with stale_reads_ok():
        assert router.db_for_read(Document) in with_replicas
        monkeypatch.setattr(connections[DEFAULT_DB_ALIAS], "in_atomic_block", True)
        assert router.db_for_read(Document) == DEFAULT_DB_ALIAS


@pytest.mark.django_db
def test_inside_a_transaction_of_the_test_the_primary_answers(with_replicas: list[str]) -> None:
    """The test's own transaction is invisible to a replica (or a mirror): the primary reads."""
    assert connections[DEFAULT_DB_ALIAS].in_atomic_block
    with stale_reads_ok():
        assert router.db_for_read(Document) == DEFAULT_DB_ALIAS


def test_relations_across_the_primary_and_the_replicas_are_allowed(with_replicas: list[str]) -> None:
    rules = ReplicaRouter()
    one, two = Person(), Document()
    one._state.db, two._state.db = "replica_2", DEFAULT_DB_ALIAS
    assert rules.allow_relation(one, two) is True
    two._state.db = "elsewhere"
    assert rules.allow_relation(one, two) is None


# --- The view decorator ----------------------------------------------------------------------------


def _probe() -> str:
    return router.db_for_read(Document)


@replica_reads
def _list_view(request: HttpRequest) -> HttpResponseBase:
    template = engines["django"].from_string("{{ probe }}")
    response = SimpleTemplateResponse(template, {"probe": _probe})
    response["X-In-View"] = _probe()
    return response


def test_a_decorated_view_reads_a_replica_on_get_and_renders_inside_the_scope(
    with_replicas: list[str],
) -> None:
    response = _list_view(RequestFactory().get("/"))
    assert response["X-In-View"] in with_replicas
    assert isinstance(response, SimpleTemplateResponse)
    assert response.content.decode() == response["X-In-View"]  # rendered before the scope closed
    posted = _list_view(RequestFactory().post("/"))
    assert posted["X-In-View"] == DEFAULT_DB_ALIAS
    assert isinstance(posted, SimpleTemplateResponse)
    assert posted.render().content.decode() == DEFAULT_DB_ALIAS


# --- The middleware: the pin and the admin's list pages ----------------------------------------------


def _run(
    request: HttpRequest, view: Callable[[HttpRequest], HttpResponseBase], *, admin_view: bool = False
) -> tuple[HttpResponseBase, list[str]]:
    """Run `view` behind ReplicaMiddleware; returns the response and where the view's reads went
    (one before and one inside a stale-tolerant scope)."""
    seen: list[str] = []

    def get_response(request: HttpRequest) -> HttpResponseBase:
        if admin_view:
            request.resolver_match = resolve(request.path_info)
            middleware.process_view(request, view, (), {})
            seen.append(router.db_for_read(Document))
        response = view(request)
        with stale_reads_ok():
            seen.append(router.db_for_read(Document))
        return response

    middleware = ReplicaMiddleware(get_response)
    return middleware(request), seen


def _ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def _redirect(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=302)


def _writes(request: HttpRequest) -> HttpResponse:
    router.db_for_write(Document)
    return HttpResponse("ok")


def _refused(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=400)


def test_a_successful_post_pins_the_client_and_a_plain_get_does_not(with_replicas: list[str]) -> None:
    factory = RequestFactory()
    response, seen = _run(factory.get("/"), _ok)
    assert PIN_COOKIE not in response.cookies
    assert seen[0] in with_replicas
    response, _seen = _run(factory.post("/"), _redirect)
    cookie = response.cookies[PIN_COOKIE]
    assert cookie["max-age"] == 10
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    response, _seen = _run(factory.post("/"), _refused)
    assert PIN_COOKIE not in response.cookies


def test_a_get_that_writes_reads_the_primary_afterwards_and_pins_the_client(with_replicas: list[str]) -> None:
    response, seen = _run(RequestFactory().get("/"), _writes)
    assert seen == [DEFAULT_DB_ALIAS]
    assert PIN_COOKIE in response.cookies


def test_a_pinned_client_reads_the_primary_until_the_pin_expires(
    with_replicas: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = pin_clock(monkeypatch, START)
    factory = RequestFactory()
    response, _seen = _run(factory.post("/"), _redirect)
    factory.cookies[PIN_COOKIE] = response.cookies[PIN_COOKIE].value
    pinned.advance(seconds=9)
    response, seen = _run(factory.get("/"), _ok)
    assert seen == [DEFAULT_DB_ALIAS]
    assert PIN_COOKIE not in response.cookies  # a read does not extend the pin
    pinned.advance(seconds=2.5)
    _response, seen = _run(factory.get("/"), _ok)
    assert seen[0] in with_replicas


def test_a_forged_or_malformed_pin_is_ignored(with_replicas: list[str]) -> None:
    factory = RequestFactory()
    factory.cookies[PIN_COOKIE] = "9999999999:forged"
    assert not pinned_by_cookie(factory.get("/"))
    factory.cookies[PIN_COOKIE] = "nonsense"
    assert not pinned_by_cookie(factory.get("/"))


def test_without_replicas_the_middleware_sets_no_cookie(settings: Any) -> None:
    settings.HAWIYA_DATABASE_REPLICAS = []
    response, seen = _run(RequestFactory().post("/"), _redirect)
    assert PIN_COOKIE not in response.cookies
    assert seen == [DEFAULT_DB_ALIAS]


def test_the_admins_list_pages_read_a_replica_and_its_other_pages_the_primary(
    with_replicas: list[str],
) -> None:
    factory = RequestFactory()
    changelist = reverse("admin:registry_document_changelist")
    _response, seen = _run(factory.get(changelist), _ok, admin_view=True)
    assert seen[0] in with_replicas
    change = reverse("admin:registry_document_change", args=[1])
    _response, seen = _run(factory.get(change), _ok, admin_view=True)
    assert seen[0] == DEFAULT_DB_ALIAS
    _response, seen = _run(factory.post(changelist), _ok, admin_view=True)  # an action
    assert seen[0] == DEFAULT_DB_ALIAS


def test_the_scope_and_the_request_end_with_the_request(with_replicas: list[str]) -> None:
    """The context variables are reset however the request ends (a thread serves many)."""

    def boom(request: HttpRequest) -> HttpResponse:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        _run(RequestFactory().get(reverse("admin:registry_document_changelist")), boom, admin_view=True)
    assert replicas._scope.get() is None
    assert replicas._request.get() is None
    assert router.db_for_read(Document) == DEFAULT_DB_ALIAS


@pytest.fixture(autouse=True)
def _nothing_left_open() -> Iterator[None]:
    yield
    assert replicas._scope.get() is None
    assert replicas._request.get() is None
