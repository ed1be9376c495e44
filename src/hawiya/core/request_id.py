"""The request id, the request's metrics and its log line: the first middleware.

Each request takes a valid incoming X-Request-ID (core/logs.py's pattern: 8-64 plain characters)
or a new one, keeps it in the context for every log record and every task it enqueues, and
returns it in the X-Request-ID response header. When the response is ready it is counted and timed
under its route's *name* (`portal:dashboard`; `static` for a static file; `unmatched` for a path
no pattern matches) and
logged as one line: method, route name, status and duration. Never the path or its query string:
paths hold references and queries hold whatever was typed; a route name holds neither.

The probes and the metrics scrape (healthz, readyz, metrics) are neither timed, counted nor
logged: they would drown the citizens' requests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .logs import (
    REQUEST_ID_HEADER,
    UNMATCHED_ROUTE,
    new_request_id,
    reset_request_id,
    route_name,
    set_request_id,
    valid_request_id,
)
from .metrics import HTTP_REQUEST_DURATION, HTTP_RESPONSES

logger = logging.getLogger("hawiya.request")

STATIC = "static"
UNOBSERVED_ROUTES = frozenset({"healthz", "readyz", "metrics"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        request_id = valid_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        token = set_request_id(request_id)
        started = time.perf_counter()
        try:
            response = get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            _observe(request, response, time.perf_counter() - started)
            return response
        finally:
            reset_request_id(token)

    return middleware


def _observe(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    route = route_name(request)
    if route == UNMATCHED_ROUTE and settings.STATIC_URL and request.path.startswith(str(settings.STATIC_URL)):
        route = STATIC  # WhiteNoise answers before any URL pattern is tried
    if route in UNOBSERVED_ROUTES:
        return
    method = request.method if request.method in METHODS else "other"
    status = response.status_code
    HTTP_REQUEST_DURATION.labels(route, method).observe(seconds)
    HTTP_RESPONSES.labels(route, method, str(status)).inc()
    duration_ms = round(seconds * 1000, 1)
    logger.info(
        "%s %s %s %sms",
        method,
        route,
        status,
        duration_ms,
        extra={"method": method, "route": route, "status": status, "duration_ms": duration_ms},
    )
