"""Prometheus metrics: the one place their names, labels and help live (docs/design.md, "Metrics
and logs").

Counters are incremented where the event happens, in the domain services (`inc_on_commit` where a
rollback could undo the event). With several processes (gunicorn's workers, the task worker, the
periodic sweeps) prometheus_client's multiprocess mode keeps each process's values in a file under
PROMETHEUS_MULTIPROC_DIR and /metrics adds them up; the directory must be the same for every
process and emptied before the first one starts (config/gunicorn.py says what the entry point
does). Without the variable (development, tests) values live in this process's memory.

Gauges that describe the database (the task queue, the SMS outbox, the audit check) are read at
scrape time by collectors (`scrape_collectors`), never stored in a process: a scrape answers
what is true now, whichever process it reaches. A collector that fails (the database is down) is
left out and the rest of the scrape still answers.

Labels are small fixed sets (a route *name*, never a path; an outcome word; an operator's error
code): no label value ever holds an ID number, a code or anything a person typed.
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import logging
import os
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.db import transaction
from prometheus_client import Counter, Histogram, disable_created_metrics, values
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from . import clock

logger = logging.getLogger(__name__)

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# A process that runs again and again, one run at a time (the once-a-minute `run_periodic`), may
# name its files instead of using its pid, so its runs add to one file rather than leaving one
# file a minute behind. Never the same name for two processes that run at once.
PROCESS_NAME_ENV = "HAWIYA_METRICS_PROCESS_NAME"


# No `_created` series beside each counter and histogram: half the exposition, and nothing the
# alerts use (multiprocess mode never had them).
disable_created_metrics()  # type: ignore[no-untyped-call]


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR_ENV))


if multiprocess_mode():
    # A missing directory would stop every process at its first metric: made if need be.
    os.makedirs(os.environ[MULTIPROC_DIR_ENV], exist_ok=True)

if multiprocess_mode() and os.environ.get(PROCESS_NAME_ENV):
    # Must happen before the first metric below is made (prometheus_client reads it then).
    _name = "".join(c for c in os.environ[PROCESS_NAME_ENV] if c.isalnum() or c in "-_")[:40] or "named"
    values.ValueClass = values.MultiProcessValue(lambda: _name)  # type: ignore[no-untyped-call]


# --- Requests (core/request_id.py counts them) ----------------------------------------------------

HTTP_REQUEST_DURATION = Histogram(
    "hawiya_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name (never the path) and method.",
    ["route", "method"],
)
HTTP_RESPONSES = Counter(
    "hawiya_http_responses",
    "HTTP responses by route name, method and status code.",
    ["route", "method", "status"],
)

# --- Text messages (notifications) ------------------------------------------------------------------

SMS_FAILURES = Counter(
    "hawiya_sms_failures",
    "Text messages the operator refused or could not take, by the operator's (or our) error code; "
    "each failed attempt counts, and each failed delivery report (code receipt_<operator code>).",
    ["code"],
)

# --- Sign-in (identity) -----------------------------------------------------------------------------


class SignInOutcome:
    """The outcomes of a sign-in step (`hawiya_sign_ins_total{outcome}`): a small fixed set."""

    SUCCESS = "success"  # the second factor (or passkey) was right: signed in
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 (an outcome word) an existing account, wrong password
    UNKNOWN_ACCOUNT = "unknown_account"  # no such (active) account
    CODE_WRONG = "code_wrong"  # a wrong SMS, authenticator or recovery code
    LOCKED = "locked"  # the account is locked after failures
    BLOCKED = "blocked"  # the holder reported "this wasn't me"
    THROTTLED = "throttled"  # too many failures from the address
    EXPIRED = "expired"  # the journey's challenge expired or was finished
    REFUSED = "refused"  # anything else (no method available, method locked, passkey required...)


SIGN_INS = Counter(
    "hawiya_sign_ins",
    "Sign-in steps by outcome: success, wrong_password, unknown_account, code_wrong, locked, "
    "blocked, throttled, expired, refused.",
    ["outcome"],
)
ACCOUNT_LOCKOUTS = Counter("hawiya_account_lockouts", "Accounts locked after too many failed sign-ins.")

# --- Appointments and payments ------------------------------------------------------------------------

BOOKINGS = Counter(
    "hawiya_bookings",
    "Office appointments by outcome: booked, moved, full (the slot had no place left), cancelled, no_show.",
    ["outcome"],
)
PAYMENTS = Counter(
    "hawiya_payments",
    "Bills by outcome: paid, failed (declined), expired, refund_due (money for a bill that could no "
    "longer be paid), refunded, refund_failed, refund_unknown.",
    ["outcome"],
)


def inc_on_commit(counter: Counter, *labels: str) -> None:
    """Count one event once the current transaction commits (at once outside a transaction), so
    a change that rolls back counts nothing. `labels` are the counter's label values, in order."""
    child = counter.labels(*labels) if labels else counter
    transaction.on_commit(child.inc)


# --- Scrape-time gauges --------------------------------------------------------------------------------

ScrapeCollector = Callable[[], Iterable[Metric]]


def task_queue_gauges() -> Iterator[Metric]:
    """hawiya_task_queue_depth and hawiya_task_oldest_age_seconds per queue, from django_tasks_db.

    Ready tasks are those whose time has come (a retry waiting for its backoff is not yet in the
    queue); a ready task has waited since its run_after, or since it was enqueued if it had none.
    Every configured queue is reported, at 0 when empty, so an alert can tell "empty" from "absent".
    """
    from django.conf import settings
    from django.db.models import Case, Count, F, Min, When
    from django_tasks_db.models import DBTaskResult, get_date_max

    queues: set[str] = set()
    for backend in getattr(settings, "TASKS", {}).values():
        queues.update(backend.get("QUEUES") or ["default"])
    rows = (
        DBTaskResult.objects.ready()
        .order_by()
        .values("queue_name")
        .annotate(
            depth=Count("id"),
            oldest=Min(Case(When(run_after=get_date_max(), then=F("enqueued_at")), default=F("run_after"))),
        )
    )
    now = clock.now()
    by_queue = {row["queue_name"]: row for row in rows}
    depth = GaugeMetricFamily(
        "hawiya_task_queue_depth", "Tasks ready to run and not yet taken by a worker.", labels=["queue"]
    )
    age = GaugeMetricFamily(
        "hawiya_task_oldest_age_seconds",
        "How long the oldest ready task has waited for a worker (0 when the queue is empty).",
        labels=["queue"],
    )
    for queue in sorted(queues | set(by_queue)):
        row = by_queue.get(queue)
        depth.add_metric([queue], float(row["depth"]) if row else 0.0)
        oldest = row["oldest"] if row else None
        age.add_metric([queue], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    yield depth
    yield age


def age_gauge(name: str, documentation: str, since: dt.datetime | None) -> GaugeMetricFamily:
    """A gauge of the seconds since `since` (0 when None)."""
    seconds = max(0.0, (clock.now() - since).total_seconds()) if since is not None else 0.0
    return GaugeMetricFamily(name, documentation, value=seconds)


class Exposition(Collector):
    """What /metrics shows: the counters (this process's, or every process's files in
    multiprocess mode), then each scrape-time collector; a collector that raises is left out."""

    def __init__(self, scrape_collectors: Iterable[ScrapeCollector] = ()) -> None:
        self.scrape_collectors = tuple(scrape_collectors)

    def collect(self) -> Iterator[Metric]:
        if multiprocess_mode():
            yield from MultiProcessCollector(None).collect()  # type: ignore[no-untyped-call]
        else:
            yield from REGISTRY.collect()
        for collect in (task_queue_gauges, *self.scrape_collectors):
            try:
                # Materialised first: a collector that fails halfway adds nothing.
                metrics = list(collect())
            except Exception:
                logger.warning(
                    "metrics: the %s gauges were left out of this scrape", collect.__name__, exc_info=True
                )
                continue
            yield from metrics


class ScrapeAccess(enum.Enum):
    """What a scrape of the counters gets (/metrics, and `manage.py serve_metrics`)."""

    ALLOWED = "allowed"
    UNAUTHORIZED = "unauthorized"  # 401: a token is set, and this is not it
    CLOSED = "closed"  # 404: no token set, outside demo, debug or embedded mode


def scrape_access(authorization: str) -> ScrapeAccess:
    """With HAWIYA_METRICS_TOKEN set, `Authorization: Bearer <token>` (compared in constant time);
    without one, only on a machine in demo, debug or embedded mode (HAWIYA_METRICS_OPEN)."""
    token = str(getattr(settings, "HAWIYA_METRICS_TOKEN", "") or "")
    if not token:
        return (
            ScrapeAccess.ALLOWED if getattr(settings, "HAWIYA_METRICS_OPEN", False) else ScrapeAccess.CLOSED
        )
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return ScrapeAccess.ALLOWED
    return ScrapeAccess.UNAUTHORIZED
