"""Read replicas, safely: every read goes to the primary unless the code says a little staleness
is fine (docs/design.md, "Replicas and PgBouncer").

- `stale_reads_ok()` (a context manager) and `@replica_reads` (a view decorator, GET and HEAD only)
  open a *stale-tolerant scope*; only inside one does `ReplicaRouter.db_for_read` answer a replica
  alias, and only when replicas are configured (`HAWIYA_DATABASE_REPLICAS`, from
  DATABASE_REPLICA_URLS). Dashboards, officers' lists, CSV exports, the admin's list pages and a
  few of the citizen's lists opt in; document-status checks, sign-in, codes, sessions, OIDC and
  payment callbacks never do.
- Even inside a scope the primary answers when: the model belongs to an app whose rows decide
  who someone is or what they may do (`PRIMARY_ONLY_APPS`: accounts, codes, sessions, roles,
  tokens, approvals); the primary connection is inside a transaction (a read there may be the
  first half of a read-modify-write, and a replica cannot see the transaction's own rows); the
  scope has already written; or the request is pinned.
- Read-your-writes: a request that wrote (a POST/PUT/PATCH/DELETE answered below 400, or any write
  through the router) pins its client to the primary for HAWIYA_REPLICA_PIN_SECONDS with a short,
  signed cookie (`ReplicaMiddleware`). A cookie rather than a session flag: reading a session is
  itself a database (or cache) read, on every request, and a client without a session (the sign-in
  pages) must be pinned as well; the cookie costs nothing on the server and travels to whichever
  web process answers next.
- Writes always go to the primary; migrations run on the primary only (a replica follows it).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core import signing
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponseBase
from django.template.response import SimpleTemplateResponse

from hawiya.core import clock

PIN_COOKIE = "hawiya_primary"
PIN_SALT = "hawiya.core.replicas.pin"
DEFAULT_PIN_SECONDS = 10
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Apps whose rows are always read from the primary, even inside a stale-tolerant scope: who is
# signed in (sessions, accounts), what they may do (permissions, staff roles), codes, passkeys,
# tokens and approvals. A password changed or a role withdrawn a second ago must count at once.
# Writes to them do not pin the client either: no replica read ever sees those rows.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "identity", "oauth2_provider", "approvals"})

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


@dataclass
class _Scope:
    """One stale-tolerant scope: the replica it reads (chosen once, so one page is read from one
    replica) and whether it has written (then the rest of it reads the primary)."""

    alias: str | None = None
    wrote: bool = False


@dataclass
class _RequestState:
    """The current request: pinned by its cookie, and whether it has written."""

    pinned: bool
    wrote: bool = False
    scope_tokens: list[Token[_Scope | None]] = field(default_factory=list)


_scope: ContextVar[_Scope | None] = ContextVar("hawiya_replica_scope", default=None)
_request: ContextVar[_RequestState | None] = ContextVar("hawiya_replica_request", default=None)


def replica_aliases() -> tuple[str, ...]:
    """The configured replicas' database aliases (empty: everything reads the primary)."""
    return tuple(getattr(settings, "HAWIYA_DATABASE_REPLICAS", ()))


def pin_seconds() -> int:
    return int(getattr(settings, "HAWIYA_REPLICA_PIN_SECONDS", DEFAULT_PIN_SECONDS))


@contextmanager
def stale_reads_ok() -> Iterator[None]:
    """Reads inside may come from a replica, a moment behind the primary. Nested scopes are one."""
    if _scope.get() is not None:
        yield
        return
    token = _scope.set(_Scope())
    try:
        yield
    finally:
        _scope.reset(token)


def replica_reads(view: View) -> View:
    """Decorate a list, dashboard or export view whose reads may be a moment stale: on GET and
    HEAD it runs (and its template renders) inside `stale_reads_ok()`. Put it below the
    permission decorators, so that they check on the primary before the scope opens. A streaming
    response's generator runs after the scope has closed, so its reads are on the primary."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        with stale_reads_ok():
            response = view(request, *args, **kwargs)
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                response.render()
        return response

    return cast(View, wrapped)


def _primary_in_transaction() -> bool:
    return connections[DEFAULT_DB_ALIAS].in_atomic_block


def _may_read_replica(model: type[Model]) -> str | None:
    """The replica alias this read may use, or None for the primary."""
    scope = _scope.get()
    if scope is None or scope.wrote:
        return None
    aliases = replica_aliases()
    if not aliases or model._meta.app_label in PRIMARY_ONLY_APPS:
        return None
    state = _request.get()
    if state is not None and (state.pinned or state.wrote):
        return None
    if _primary_in_transaction():
        return None
    if scope.alias not in aliases:
        scope.alias = random.choice(aliases)  # noqa: S311 (spreading load, not a secret)
    return scope.alias


class ReplicaRouter:
    """DATABASE_ROUTERS: reads on a replica only inside a stale-tolerant scope; everything else,
    and every write, on the primary. Always names an alias, so a row read from a replica and
    used later outside the scope loads its relations from the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return _may_read_replica(model) or DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        if model._meta.app_label not in PRIMARY_ONLY_APPS:
            scope, state = _scope.get(), _request.get()
            if scope is not None:
                scope.wrote = True
            if state is not None:
                state.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        ours = {DEFAULT_DB_ALIAS, *replica_aliases()}
        return True if obj1._state.db in ours and obj2._state.db in ours else None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


# --- Read-your-writes: the pin --------------------------------------------------------------------


def pinned_by_cookie(request: HttpRequest) -> bool:
    """Whether the request carries a valid, unexpired pin (its expiry is signed, read by the clock)."""
    value = request.COOKIES.get(PIN_COOKIE)
    if not value:
        return False
    try:
        until = int(signing.Signer(salt=PIN_SALT).unsign(value))
    except (signing.BadSignature, ValueError):
        return False
    return clock.now().timestamp() < until


def _pin(response: HttpResponseBase) -> None:
    seconds = pin_seconds()
    until = int(clock.now().timestamp()) + seconds + 1
    response.set_cookie(
        PIN_COOKIE,
        signing.Signer(salt=PIN_SALT).sign(str(until)),
        max_age=seconds,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _is_admin_changelist(request: HttpRequest) -> bool:
    match = request.resolver_match
    return bool(
        match is not None
        and "admin" in match.namespaces
        and (match.url_name or "").endswith("_changelist")
        and request.method in ("GET", "HEAD")
    )


class ReplicaMiddleware:
    """Place right after AuthenticationMiddleware. With replicas configured: reads the pin cookie,
    notes the request's writes, pins a client that wrote, and opens a stale-tolerant scope for
    the admin's list pages (their template renders inside it). Without replicas: nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not replica_aliases():
            return self.get_response(request)
        state = _RequestState(pinned=pinned_by_cookie(request))
        token = _request.set(state)
        try:
            response = self.get_response(request)
        finally:
            for scope_token in reversed(state.scope_tokens):
                _scope.reset(scope_token)
            _request.reset(token)
        if state.wrote or (request.method not in SAFE_METHODS and response.status_code < 400):
            _pin(response)
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        state = _request.get()
        if state is not None and _scope.get() is None and _is_admin_changelist(request):
            state.scope_tokens.append(_scope.set(_Scope()))
        return None
