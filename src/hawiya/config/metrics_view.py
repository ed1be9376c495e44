"""GET /metrics: Prometheus's text format, for the monitoring system only.

With HAWIYA_METRICS_TOKEN set, the scraper must send `Authorization: Bearer <token>` (compared in
constant time), else 401. Without a token the page answers only in demo, debug or embedded mode
(one machine, nobody else's network), and is a plain 404 in production. It is outside the language
prefix, sets no cookie and reads no session; probes and scrapes are not counted in the request
metrics (core/request_id.py). It never fails: a scrape-time gauge whose read fails (the database
is down) is left out, and the counters still answer.

The scrape-time gauges read the database where the truth is: the task queue (core/metrics.py), the
SMS outbox (notifications), the last audit-trail check and the sealing lag (audit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from hawiya.audit.selectors import audit_oldest_unsealed_at, audit_verification_last
from hawiya.core.metrics import Exposition, ScrapeAccess, age_gauge, scrape_access
from hawiya.notifications.selectors import sms_outbox_oldest_unsent_at

logger = logging.getLogger(__name__)


def sms_outbox_gauges() -> Iterator[Metric]:
    yield age_gauge(
        "hawiya_sms_outbox_lag_seconds",
        "Age of the oldest text message not yet handed to the operator (0 when none waits).",
        sms_outbox_oldest_unsent_at(),
    )


def audit_verify_gauges() -> Iterator[Metric]:
    """Left out until `manage.py audit_verify` has run once (an alert can ask for its absence)."""
    last = audit_verification_last()
    if last is None:
        return
    yield GaugeMetricFamily(
        "hawiya_audit_verify_ok",
        "1 if the last audit-chain verification found the chain intact, 0 if it found a break.",
        value=1.0 if last.ok else 0.0,
    )
    yield GaugeMetricFamily(
        "hawiya_audit_verify_last_run_timestamp_seconds",
        "When the last audit-chain verification ran (Unix time).",
        value=last.ran_at.timestamp(),
    )


def audit_seal_gauges() -> Iterator[Metric]:
    yield age_gauge(
        "hawiya_audit_unsealed_age_seconds",
        "Age of the oldest audit event not yet sealed into the signed Merkle log (0 when none waits).",
        audit_oldest_unsealed_at(),
    )


EXPOSITION = Exposition([sms_outbox_gauges, audit_verify_gauges, audit_seal_gauges])


def _plain(text: str, status: int) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    access = scrape_access(request.headers.get("Authorization", ""))
    if access is ScrapeAccess.UNAUTHORIZED:
        response = _plain("Unauthorized\n", 401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if access is ScrapeAccess.CLOSED:
        return _plain("Not Found\n", 404)
    try:
        body = generate_latest(EXPOSITION)
    except Exception:
        logger.error("metrics: the exposition failed", exc_info=True)
        return _plain("Unavailable\n", 503)
    response = HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
