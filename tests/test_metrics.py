"""/metrics: who may read it, that Prometheus can parse it, and that the events are counted where
they happen (requests by route name, the task queue, SMS failures by code, sign-in outcomes, the
audit check); multiprocess mode adds up separate processes' counters."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import OperationalError, transaction
from django.test import Client
from django_tasks_db.models import DBTaskResult
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from hawiya.appointments.models import Weekday
from hawiya.appointments.services.citizen import appointment_cancel
from hawiya.appointments.tests.factories import at_riyadh, book, make_bookable_office, next_weekday
from hawiya.appointments.tests.factories import make_replacement as make_bookable_replacement
from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record, audit_seal, audit_verification_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError
from hawiya.identity import services as identity
from hawiya.identity.tests.factories import PASSWORD, make_account, person_of
from hawiya.identity.tests.factories import sign_in as full_sign_in
from hawiya.notifications import tasks as sms_tasks
from hawiya.notifications.clients import SendResult, SmsRejected, SmsTemporaryFailure
from hawiya.notifications.tests.factories import queue_sms
from hawiya.payments.services import bills_expire_due, payment_callback_apply
from hawiya.payments.tests.factories import SECRET as PAYMENT_SECRET
from hawiya.payments.tests.factories import callback_body, make_bill, signed

pytestmark = pytest.mark.django_db

SRC = Path(__file__).resolve().parents[1] / "src"
TOKEN = "scrape-token-for-tests"
IP = "192.0.2.44"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_METRICS_TOKEN = ""
    settings.HAWIYA_METRICS_OPEN = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: Client, **headers: str) -> dict[str, Any]:
    """The exposition parsed by Prometheus's own parser: {sample name: {labels tuple: value}}."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content[:500]
    samples: dict[str, Any] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples


# --- Who may read it -------------------------------------------------------------------------------


def test_with_a_token_only_the_bearer_reads(client, settings):
    settings.HAWIYA_METRICS_TOKEN = TOKEN
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"hawiya_" not in response.content
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert not response.cookies  # no session, no language cookie
    assert "X-Request-ID" in response


def test_without_a_token_production_answers_404_and_demo_answers(client, settings):
    settings.HAWIYA_METRICS_OPEN = False
    assert client.get("/metrics").status_code == 404
    settings.HAWIYA_METRICS_OPEN = True
    assert client.get("/metrics").status_code == 200
    assert client.post("/metrics").status_code == 405


def test_exposition_parses_and_names_every_family(client):
    audit_verification_record(ok=True, events_checked=0)
    names = {
        family.name for family in text_string_to_metric_families(client.get("/metrics").content.decode())
    }
    assert {
        "hawiya_http_request_duration_seconds",
        "hawiya_http_responses",
        "hawiya_task_queue_depth",
        "hawiya_task_oldest_age_seconds",
        "hawiya_sms_outbox_lag_seconds",
        "hawiya_sms_failures",
        "hawiya_sign_ins",
        "hawiya_account_lockouts",
        "hawiya_bookings",
        "hawiya_payments",
        "hawiya_audit_verify_ok",
        "hawiya_audit_verify_last_run_timestamp_seconds",
        "hawiya_audit_unsealed_age_seconds",
    } <= names


def test_a_failing_gauge_is_left_out_and_the_rest_answers(client, monkeypatch):
    def down() -> None:
        raise OperationalError("the database is down")

    monkeypatch.setattr("hawiya.config.metrics_view.sms_outbox_oldest_unsent_at", down)
    monkeypatch.setattr("hawiya.config.metrics_view.audit_verification_last", down)
    monkeypatch.setattr("hawiya.config.metrics_view.audit_oldest_unsealed_at", down)
    samples = scrape(client)
    assert "hawiya_audit_unsealed_age_seconds" not in samples
    assert "hawiya_sms_outbox_lag_seconds" not in samples
    assert "hawiya_audit_verify_ok" not in samples
    assert "hawiya_task_queue_depth" in samples


# --- Requests --------------------------------------------------------------------------------------


def test_a_request_is_counted_and_timed_by_route_name(client, settings):
    before_count = sample("hawiya_http_responses_total", route="portal:sign-in", method="GET", status="200")
    before_hist = sample("hawiya_http_request_duration_seconds_count", route="portal:sign-in", method="GET")
    before_404 = sample("hawiya_http_responses_total", route="unmatched", method="GET", status="404")
    assert client.get("/en/sign-in/?next=/en/account/").status_code == 200
    assert client.get("/en/no-such-page/1234567890").status_code == 404
    static_before = sample("hawiya_http_responses_total", route="static", method="GET", status="200")
    settings.WHITENOISE_USE_FINDERS = (
        True  # the suite has no collected files; a new client's WhiteNoise finds them
    )
    assert Client().get("/static/portal/favicon.svg").status_code == 200
    assert (
        sample("hawiya_http_responses_total", route="static", method="GET", status="200") == static_before + 1
    )
    assert (
        sample("hawiya_http_responses_total", route="portal:sign-in", method="GET", status="200")
        == before_count + 1
    )
    assert (
        sample("hawiya_http_request_duration_seconds_count", route="portal:sign-in", method="GET")
        == before_hist + 1
    )
    assert (
        sample("hawiya_http_responses_total", route="unmatched", method="GET", status="404") == before_404 + 1
    )
    # Never a path.
    body = client.get("/metrics").content.decode()
    assert "no-such-page" not in body
    assert "1234567890" not in body


def test_probes_and_scrapes_are_not_counted(client):
    before = {
        route: sample("hawiya_http_request_duration_seconds_count", route=route, method="GET")
        for route in ("healthz", "readyz", "metrics")
    }
    for path in ("/healthz", "/readyz", "/metrics"):
        client.get(path)
    for route, value in before.items():
        assert sample("hawiya_http_request_duration_seconds_count", route=route, method="GET") == value


# --- Scrape-time gauges ----------------------------------------------------------------------------


def test_queue_gauges_reflect_ready_tasks(client):
    depth = ("hawiya_task_queue_depth", (("queue", "default"),))
    assert scrape(client)[depth[0]][depth[1]] == 0
    sms_tasks.deliver_sms.enqueue(999_001)
    sms_tasks.deliver_sms.enqueue(999_002)
    # A retry waiting for its backoff is not in the queue yet.
    sms_tasks.deliver_sms.using(run_after=clock.now() + dt.timedelta(hours=1)).enqueue(999_003)
    DBTaskResult.objects.filter(args_kwargs__args=[999_001]).update(
        enqueued_at=clock.now() - dt.timedelta(minutes=10)
    )
    samples = scrape(client)
    assert samples[depth[0]][depth[1]] == 2
    age = samples["hawiya_task_oldest_age_seconds"][(("queue", "default"),)]
    assert 600 <= age < 700


def test_sms_outbox_lag_is_the_oldest_unsent_message(client):
    assert scrape(client)["hawiya_sms_outbox_lag_seconds"][()] == 0
    message = queue_sms(to="+966550000001")
    type(message).objects.filter(pk=message.pk).update(queued_at=clock.now() - dt.timedelta(minutes=5))
    lag = scrape(client)["hawiya_sms_outbox_lag_seconds"][()]
    assert 300 <= lag < 400


def test_audit_verify_outcome_is_exposed(client):
    assert "hawiya_audit_verify_ok" not in scrape(client)  # never ran: absent
    call_command("audit_verify", stdout=open(os.devnull, "w"))  # noqa: SIM115
    samples = scrape(client)
    assert samples["hawiya_audit_verify_ok"][()] == 1
    ran = samples["hawiya_audit_verify_last_run_timestamp_seconds"][()]
    assert abs(ran - clock.now().timestamp()) < 60
    audit_verification_record(ok=False, events_checked=3)
    assert scrape(client)["hawiya_audit_verify_ok"][()] == 0


def test_the_sealing_lag_is_the_age_of_the_oldest_unsealed_event(client, monkeypatch):
    assert scrape(client)["hawiya_audit_unsealed_age_seconds"][()] == 0
    real_now = clock.now
    for minutes_ago, object_id in ((10, 1), (5, 2)):
        monkeypatch.setattr(clock, "now", lambda ago=minutes_ago: real_now() - dt.timedelta(minutes=ago))
        with transaction.atomic():
            audit_record(
                actor=Actor.system("metrics.test"),
                action="test.done",
                object_type="test.thing",
                object_id=object_id,
            )
    monkeypatch.setattr(clock, "now", real_now)
    lag = scrape(client)["hawiya_audit_unsealed_age_seconds"][()]
    assert 600 <= lag < 700
    assert audit_seal() is not None
    assert scrape(client)["hawiya_audit_unsealed_age_seconds"][()] == 0


# --- Domain counters -------------------------------------------------------------------------------


class FailingClient:
    keeps_secret_bodies: ClassVar[bool] = False

    def __init__(self, error: Exception) -> None:
        self.error = error

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        raise self.error


def test_sms_failures_are_counted_by_code(monkeypatch):
    before_rejected = sample("hawiya_sms_failures_total", code="operator_400")
    before_outage = sample("hawiya_sms_failures_total", code="operator_timeout")
    message = queue_sms(to="+966550000002")
    monkeypatch.setattr(
        sms_tasks, "sms_client", lambda: FailingClient(SmsTemporaryFailure("operator_timeout"))
    )
    sms_tasks.deliver_sms.call(message.pk)
    message.refresh_from_db()
    message.next_attempt_at = clock.now()
    message.save(update_fields=["next_attempt_at"])
    monkeypatch.setattr(sms_tasks, "sms_client", lambda: FailingClient(SmsRejected("operator_400")))
    assert sms_tasks.deliver_sms.call(message.pk) == "failed"
    assert sample("hawiya_sms_failures_total", code="operator_timeout") == before_outage + 1
    assert sample("hawiya_sms_failures_total", code="operator_400") == before_rejected + 1


def test_sign_in_outcomes_and_lockouts_are_counted(django_capture_on_commit_callbacks):
    user = make_account()
    outcomes = ("success", "wrong_password", "unknown_account", "locked")
    before = {outcome: sample("hawiya_sign_ins_total", outcome=outcome) for outcome in outcomes}
    lockouts = sample("hawiya_account_lockouts_total")

    def refused(login: str, password: str) -> str:
        with pytest.raises(ApplicationError) as raised:
            identity.sign_in_start(login=login, password=password, ip=IP, user_agent="t")
        return raised.value.code

    assert refused("nobody.here", PASSWORD) == "invalid_credentials"
    full_sign_in(user)
    # The test runs in a transaction that never commits: the lock-out, counted after commit, is
    # counted when these callbacks run.
    with django_capture_on_commit_callbacks(execute=True):
        codes = [refused(user.username, "wrong-password") for _ in range(10)]
    assert codes == ["invalid_credentials"] * 10  # the lock is revealed only to the right password
    # The right password on the locked account: refused as locked.
    assert refused(person_of(user).id_number, PASSWORD) == "account_locked"

    assert sample("hawiya_sign_ins_total", outcome="unknown_account") == before["unknown_account"] + 1
    assert sample("hawiya_sign_ins_total", outcome="success") == before["success"] + 1
    # The tenth wrong password locks the account: counted as a wrong password and a lock-out.
    assert sample("hawiya_sign_ins_total", outcome="wrong_password") == before["wrong_password"] + 10
    assert sample("hawiya_sign_ins_total", outcome="locked") == before["locked"] + 1
    assert sample("hawiya_account_lockouts_total") == lockouts + 1


def test_a_sign_in_refused_because_hawiya_is_busy_is_counted_as_refused(settings):
    """ServiceBusy (every hashing slot taken) is not an ApplicationError, yet still counted."""
    from hawiya.identity.hashers import PasswordHashingBusy, hashing_slot

    settings.PASSWORD_HASHERS = ["hawiya.identity.hashers.Argon2idHasher"]
    settings.HAWIYA_PASSWORD_HASH_CONCURRENCY = 1
    settings.HAWIYA_PASSWORD_HASH_WAIT_SECONDS = 0.05
    user = make_account()
    before = sample("hawiya_sign_ins_total", outcome="refused")

    with hashing_slot(), pytest.raises(PasswordHashingBusy):
        identity.sign_in_start(login=user.username, password=PASSWORD, ip=IP, user_agent="t")

    assert sample("hawiya_sign_ins_total", outcome="refused") == before + 1


# --- Several processes -----------------------------------------------------------------------------

WRITER = """
from hawiya.core.metrics import SIGN_INS, SMS_FAILURES
SIGN_INS.labels("success").inc(3)
SMS_FAILURES.labels("operator_503").inc()
"""


def _write_in_a_process(directory: Path, **env: str) -> None:
    subprocess.run(
        [sys.executable, "-c", WRITER],
        env={**os.environ, "PYTHONPATH": str(SRC), "PROMETHEUS_MULTIPROC_DIR": str(directory), **env},
        check=True,
        timeout=60,
    )


def test_multiprocess_mode_adds_up_every_process(client, tmp_path, monkeypatch):
    _write_in_a_process(tmp_path)
    _write_in_a_process(tmp_path)
    # Two runs of a named process (the periodic sweep) share one file and still add up.
    _write_in_a_process(tmp_path, HAWIYA_METRICS_PROCESS_NAME="periodic")
    _write_in_a_process(tmp_path, HAWIYA_METRICS_PROCESS_NAME="periodic")
    assert len(list(tmp_path.glob("counter_periodic.db"))) == 1
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(client)
    assert samples["hawiya_sign_ins_total"][(("outcome", "success"),)] == 12
    assert samples["hawiya_sms_failures_total"][(("code", "operator_503"),)] == 4
    assert "hawiya_task_queue_depth" in samples  # the scrape-time gauges are still there


def test_bookings_are_counted_after_commit(django_capture_on_commit_callbacks):
    now = at_riyadh(dt.date(2030, 3, 4), 9)  # a Monday
    tuesday_ten = at_riyadh(next_weekday(now.date(), Weekday.TUESDAY), 10)
    office = make_bookable_office()
    replacement = make_bookable_replacement()
    before = {
        outcome: sample("hawiya_bookings_total", outcome=outcome) for outcome in ("booked", "cancelled")
    }
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(replacement, office, tuesday_ten, at=now)
        assert sample("hawiya_bookings_total", outcome="booked") == before["booked"]  # not before commit
    assert sample("hawiya_bookings_total", outcome="booked") == before["booked"] + 1
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(
            appointment_id=appointment.pk,
            applicant=replacement.applicant,
            at=now - dt.timedelta(days=1),
            actor=Actor.citizen(1),
        )
    assert sample("hawiya_bookings_total", outcome="cancelled") == before["cancelled"] + 1


def test_payments_are_counted_by_outcome(settings, django_capture_on_commit_callbacks):
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = PAYMENT_SECRET
    outcomes = ("paid", "failed", "expired")
    before = {outcome: sample("hawiya_payments_total", outcome=outcome) for outcome in outcomes}
    paid, declined = make_bill(), make_bill()
    with django_capture_on_commit_callbacks(execute=True):
        for bill, status in ((paid, "paid"), (declined, "failed")):
            body = callback_body(bill, status=status)
            payment_callback_apply(body=body, signature_header=signed(body))
        make_bill(at=clock.now() - dt.timedelta(hours=73))
        assert bills_expire_due() == 1
    for outcome in outcomes:
        assert sample("hawiya_payments_total", outcome=outcome) == before[outcome] + 1, outcome


def test_gunicorn_child_exit_forgets_the_dead_workers_live_gauges(tmp_path, monkeypatch):
    from hawiya.config import gunicorn

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("gauge_livesum_4242.db", "counter_4242.db", "gauge_livesum_4343.db"):
        (tmp_path / name).write_bytes(b"")
    gunicorn.child_exit(server=None, worker=type("Worker", (), {"pid": 4242})())
    # The dead worker's counters still count; only its live gauges go.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["counter_4242.db", "gauge_livesum_4343.db"]


def _get(app, path="/metrics", authorization=""):
    from wsgiref.util import setup_testing_defaults

    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    if authorization:
        environ["HTTP_AUTHORIZATION"] = authorization
    setup_testing_defaults(environ)
    answered = {}
    body = b"".join(app(environ, lambda status, headers: answered.update(status=status)))
    return answered["status"], body.decode()


def test_a_worker_machine_serves_its_processes_counters_with_the_token(tmp_path, settings):
    # A worker pod: its processes' counters, served beside them by `manage.py serve_metrics`,
    # under the same access rule as /metrics (core.metrics.scrape_access).
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    from hawiya.core.management.commands.serve_metrics import metrics_app

    _write_in_a_process(tmp_path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    app = metrics_app(registry)
    settings.HAWIYA_METRICS_TOKEN = "scrape-token"

    assert _get(app)[0].startswith("401")
    assert _get(app, authorization="Bearer wrong")[0].startswith("401")
    assert _get(app, path="/", authorization="Bearer scrape-token")[0].startswith("404")
    status, body = _get(app, authorization="Bearer scrape-token")
    assert status.startswith("200")
    assert 'hawiya_sms_failures_total{code="operator_503"} 1.0' in body
    # No token configured: closed in production, open on one machine in demo mode.
    settings.HAWIYA_METRICS_TOKEN = ""
    settings.HAWIYA_METRICS_OPEN = False
    assert _get(app)[0].startswith("404")
    settings.HAWIYA_METRICS_OPEN = True
    assert _get(app)[0].startswith("200")


def test_serve_metrics_needs_the_processes_directory(monkeypatch):
    from django.core.management import CommandError, call_command

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with pytest.raises(CommandError, match="PROMETHEUS_MULTIPROC_DIR"):
        call_command("serve_metrics", port=0)
