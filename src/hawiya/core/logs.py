"""Logging: filters, the request id, and JSON lines.

Django's `django.request` logger records a refused request (PermissionDenied → 403, BadRequest →
400) as a warning *with the exception's traceback*: every ordinary "you may not see this" filled
the log with a stack trace that looks like a failure. `ClientErrorsWithoutTraceback` keeps the
warning (method, path, status) and drops the traceback of those client errors only; a 5xx keeps
its traceback.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from http import HTTPStatus
from typing import Any

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import HttpRequest
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

CLIENT_ERRORS = (PermissionDenied, BadRequest, SuspiciousOperation)


class ClientErrorsWithoutTraceback(logging.Filter):
    """Strip the traceback from a record whose exception is a client error (403/400)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        if exc_info and isinstance(exc_info[1], CLIENT_ERRORS):
            record.exc_info = None
            record.exc_text = None
        return True


class BusyAnswersAsWarnings(logging.Filter):
    """Django logs every 5xx answer at ERROR ("Service Unavailable: /ar/sign-in/"). Hawiya's 503s
    are its own "try again in a moment" (every password-hashing slot taken, a code not sent yet):
    expected under a sign-in flood, thousands a minute, and not a fault to page anyone for. They
    stay in the log as warnings; the request log and the metrics count them as every answer."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            getattr(record, "status_code", None) == HTTPStatus.SERVICE_UNAVAILABLE
            and record.levelno > logging.WARNING
        ):
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


# --- Request ids ------------------------------------------------------------------------------------
#
# Every request gets an id (a valid incoming X-Request-ID, or a new one), kept in a context variable
# for as long as the request runs and added to every log record by `RequestIdFilter`. A task enqueued
# while it runs carries the id into the task worker: it is written beside the task's arguments when
# the task's row is saved (`_stamp_task`, django_tasks_db's DBTaskResult), and the worker takes it
# back when the task starts (`_adopt_task_request_id`), so the worker's lines name the request that
# caused them. One place for every task; no task's signature changes.

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_TASK_KEY = "request_id"
# What we accept from a caller (a load balancer's or a relying party's id): short and plain, so it
# cannot carry a log injection or personal data of any length.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{8,64}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("hawiya_request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def valid_request_id(value: object) -> str | None:
    """`value` when it is an acceptable request id, else None."""
    return value if isinstance(value, str) and REQUEST_ID_PATTERN.fullmatch(value) else None


def set_request_id(value: str | None) -> contextvars.Token[str | None]:
    """Make `value` the current request id; `reset_request_id(token)` restores the one before."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the current one, or None) to every record the handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


UNMATCHED_ROUTE = "unmatched"


def route_name(request: Any) -> str:
    """The resolved URL pattern's name (namespaced, e.g. `portal:dashboard`), or `unmatched`."""
    match = getattr(request, "resolver_match", None)
    view_name = getattr(match, "view_name", "") if match is not None else ""
    return view_name or UNMATCHED_ROUTE


class RequestPathsAsRoutes(logging.Filter):
    """Django's own request lines ("Not Found: /ar/…", "Forbidden (CSRF …): /…") name the path;
    a path can hold a reference or a token (`activate/continue/<challenge>/`), so the path (and
    the full path with its query) is replaced by the route's name, as in the request line."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest) and isinstance(record.args, tuple):
            paths = {request.path, request.path_info, request.get_full_path()}
            if any(isinstance(arg, str) and arg in paths for arg in record.args):
                route = route_name(request)
                record.args = tuple(
                    route if isinstance(arg, str) and arg in paths else arg for arg in record.args
                )
        return True


# --- JSON lines -------------------------------------------------------------------------------------


class JsonLinesFormatter(JsonFormatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, and
    whatever `extra` a caller gave (the request line: method, route, status, duration_ms).

    Django's request logger passes the request object as an extra; its text holds the path with
    its query string, so it is never written (nor `status_code`, which the message already has).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s %(request_id)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request", "server_time"])
        super().__init__(*args, **kwargs)


# --- Carrying the request id into the task worker ------------------------------------------------------

# The token of each running task's request id, by task id: the id the worker had before is put
# back when the task finishes.
_task_tokens: dict[str, contextvars.Token[str | None]] = {}


def _stamp_task(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    """pre_save of a task row: a new row remembers the current request id beside its arguments."""
    request_id = _request_id.get()
    args_kwargs = getattr(instance, "args_kwargs", None)
    if request_id and instance._state.adding and isinstance(args_kwargs, dict):
        args_kwargs.setdefault(REQUEST_ID_TASK_KEY, request_id)


def _adopt_task_request_id(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """task_started: the worker takes on the id of the request that enqueued the task (or none).

    Only for tasks read from the database (django_tasks_db); a task run at once, in the request
    itself (the immediate backend), already has the request's id.
    """
    db_result = getattr(task_result, "db_result", None)
    if db_result is None:
        return
    args_kwargs = db_result.args_kwargs if isinstance(db_result.args_kwargs, dict) else {}
    _task_tokens[str(task_result.id)] = _request_id.set(
        valid_request_id(args_kwargs.get(REQUEST_ID_TASK_KEY))
    )


def _forget_task_request_id(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """task_finished: put back the id the worker had before the task."""
    token = _task_tokens.pop(str(task_result.id), None)
    if token is not None:
        try:
            _request_id.reset(token)
        except ValueError:  # set in another context; nothing of ours to restore there
            _request_id.set(None)


def connect_task_request_ids() -> None:
    """Wire the request id into task rows and back out in the worker (core.apps.ready).

    django_tasks logs "Task ... state=RUNNING" in its own task_started receiver, connected when it
    was imported; it is reconnected after ours so that line names the request too.
    """
    from django.db.models.signals import pre_save
    from django_tasks.signals import log_task_started, task_finished, task_started
    from django_tasks_db.models import DBTaskResult

    pre_save.connect(_stamp_task, sender=DBTaskResult, dispatch_uid="hawiya.core.logs.stamp_task")
    task_started.connect(_adopt_task_request_id, dispatch_uid="hawiya.core.logs.adopt_task_request_id")
    if task_started.disconnect(log_task_started):
        task_started.connect(log_task_started)
    task_finished.connect(_forget_task_request_id, dispatch_uid="hawiya.core.logs.forget_task_request_id")
