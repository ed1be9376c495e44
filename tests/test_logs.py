"""Logs: the request id (header, every line, carried into the task worker), JSON lines, and a whole
journey's log scanned for the person's ID number, mobile number, codes and tokens."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from hawiya.core import clock
from hawiya.core.logs import JsonLinesFormatter, RequestIdFilter, reset_request_id, set_request_id
from hawiya.identity.models import OneTimeCode, User
from hawiya.identity.tests.factories import PASSWORD, last_code, make_account, make_citizen, person_of
from hawiya.notifications.models import SmsMessage
from hawiya.notifications.tasks import deliver_sms
from hawiya.notifications.tests.factories import queue_sms
from hawiya.portal.tests.test_losses_pages import answer_all, confirm
from hawiya.portal.tests.test_requests_pages import url, walk_to_check
from hawiya.registry.models import DocumentKind
from hawiya.registry.tests.factories import make_address, make_document
from hawiya.replacements.tests.factories import service_office

SRC = Path(__file__).resolve().parents[1] / "src"
HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every record, hawiya's at DEBUG, written as the JSON-lines handler writes it, through the
    filters the settings put on the console handler (the request id, paths as route names)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter())
    console = next(
        h for h in logging.getLogger().handlers if any(isinstance(f, RequestIdFilter) for f in h.filters)
    )
    for log_filter in console.filters:
        handler.addFilter(log_filter)
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in ("hawiya", "django_tasks", "django_tasks_db")]
    levels = [(logger, logger.level) for logger in [root, *loggers]]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for logger, level in levels:
            logger.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.fixture
def run_worker(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """The real db_worker in batch mode: every due task, then back. Inside the test's transaction:
    the worker's closing of old connections would close the one the test holds open (PostgreSQL)."""
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run() -> None:
        saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
        try:
            call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=1)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    return run


# --- The request id ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_request_id_is_made_or_taken_and_returned(client: Client):
    made = client.get("/en/sign-in/")["X-Request-ID"]
    assert HEX32.fullmatch(made)
    assert client.get("/en/sign-in/")["X-Request-ID"] != made
    assert (
        client.get("/en/sign-in/", headers={"X-Request-ID": "lb-7f3a:9c21"})["X-Request-ID"] == "lb-7f3a:9c21"
    )
    for bad in ("short", "x" * 65, "has space in it", "new\nline-injected", "<script>alert(1)</script>"):
        answered = client.get("/en/sign-in/", headers={"X-Request-ID": bad})["X-Request-ID"]
        assert HEX32.fullmatch(answered), bad


@pytest.mark.django_db
def test_each_request_is_one_json_line_without_its_path(client: Client, json_log: io.StringIO):
    response = client.get(
        "/en/sign-in/?next=/en/account/&login=1234567890", headers={"X-Request-ID": "probe-0001"}
    )
    request_lines = [line for line in lines(json_log) if line["logger"] == "hawiya.request"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert line["request_id"] == "probe-0001" == response["X-Request-ID"]
    assert line["method"] == "GET"
    assert line["route"] == "portal:sign-in"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO"
    assert dt.datetime.fromisoformat(line["time"]).tzinfo is not None
    assert "sign-in/" not in json_log.getvalue()
    assert "1234567890" not in json_log.getvalue()
    # A 404 from Django's own request logger names the route, not the path (which may hold a
    # token); its request object (path and query) is never written.
    client.get("/en/no-such-page/secret-path-token/?q=secret-query")
    assert "secret-query" not in json_log.getvalue()
    assert "secret-path-token" not in json_log.getvalue()
    assert any(line["message"] == "Not Found: unmatched" for line in lines(json_log))


def test_the_json_format_is_chosen_by_the_environment():
    program = (
        "import django, logging; django.setup(); "
        "logging.getLogger('hawiya.test').warning('hello %s', 'there', extra={'route': 'x:y'})"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "DJANGO_SETTINGS_MODULE": "hawiya.config.settings",
        "HAWIYA_LOG_FORMAT": "json",
    }
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello there"
    assert line["level"] == "WARNING"
    assert line["logger"] == "hawiya.test"
    assert line["route"] == "x:y"
    assert line["request_id"] is None
    assert "time" in line


@pytest.mark.django_db
def test_a_task_carries_the_request_id_into_the_worker(json_log: io.StringIO, run_worker: Callable[[], None]):
    message = queue_sms()
    token = set_request_id("req-carried-0001")
    try:
        deliver_sms.enqueue(message.pk)
    finally:
        reset_request_id(token)
    assert DBTaskResult.objects.get().args_kwargs["request_id"] == "req-carried-0001"
    run_worker()
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.SENT
    sent = [line for line in lines(json_log) if line["message"].startswith(f"SMS {message.reference} sent")]
    assert [line["request_id"] for line in sent] == ["req-carried-0001"]
    started = [line for line in lines(json_log) if "state=RUNNING" in line["message"]]
    assert [line["request_id"] for line in started] == ["req-carried-0001"]
    # After the task the worker has no request id of its own again.
    assert lines(json_log)[-1]["request_id"] is None


@pytest.mark.django_db(transaction=True)
def test_a_request_carries_its_id_into_the_task_it_enqueues(
    client: Client, json_log: io.StringIO, run_worker: Callable[[], None]
):
    user = make_account()
    person = person_of(user)
    response = client.post(
        "/en/sign-in/",
        {"login": person.id_number, "password": PASSWORD},
        headers={"X-Request-ID": "signin-request-42"},
    )
    assert response["Location"] == "/en/sign-in/code/"
    # The activation's message (no request) and the sign-in's code (this request).
    stamped = [task.args_kwargs.get("request_id") for task in DBTaskResult.objects.order_by("enqueued_at")]
    assert stamped == [None, "signin-request-42"]
    code_message = SmsMessage.objects.order_by("-queued_at", "-id").first()
    run_worker()
    sent = [
        line for line in lines(json_log) if line["message"].startswith(f"SMS {code_message.reference} sent")
    ]
    assert [line["request_id"] for line in sent] == ["signin-request-42"]


# --- A whole journey's log holds no personal data ---------------------------------------------------


@pytest.mark.django_db
def test_a_whole_journey_logs_no_id_number_mobile_code_or_token(
    client: Client,
    json_log: io.StringIO,
    django_capture_on_commit_callbacks: Any,
    run_worker: Callable[[], None],
):
    office = service_office()
    person = make_citizen(biometrics_captured_on=clock.today() - dt.timedelta(days=300))
    make_address(person)
    card = make_document(holder=person, kind=DocumentKind.NATIONAL_ID_CARD, office=office)
    codes: list[str] = []

    def post(path: str, data: dict[str, Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data)

    # Activation with the SMS code.
    born = person.date_of_birth
    post(
        "/en/activate/",
        {
            "id_number": person.id_number,
            "dob_day": str(born.day),
            "dob_month": str(born.month),
            "dob_year": str(born.year),
            "dob_calendar": "gregorian",
            "mobile": person.mobile,
        },
    )
    codes.append(last_code(person.mobile))
    assert post("/en/activate/code/", {"code": codes[-1]})["Location"] == "/en/activate/create/"
    created = post(
        "/en/activate/create/", {"username": "journey.person", "password": PASSWORD, "accepted_terms": "on"}
    )
    assert created["Location"] == "/en/activate/done/"
    post("/en/sign-out/", {})
    # Sign in with the ID number, the password and an SMS code.
    assert (
        post("/en/sign-in/", {"login": person.id_number, "password": PASSWORD})["Location"]
        == "/en/sign-in/code/"
    )
    codes.append(last_code(person.mobile))
    assert post("/en/sign-in/code/", {"code": codes[-1], "method": "sms"})["Location"] == "/en/account/"
    session_key = client.session.session_key
    # Report the card lost, then ask for a replacement.
    with django_capture_on_commit_callbacks(execute=True):
        answer_all(client, [card])
        assert confirm(client).status_code == 302
        assert walk_to_check(client, card.pk).status_code == 200
        assert client.post(url("requests-new-check"))["Location"].startswith("/en/requests/")
    # The worker sends every message the journey queued.
    run_worker()

    log = json_log.getvalue()
    records = lines(json_log)
    assert any(line["route"] == "portal:sign-in-code" for line in records if "route" in line)
    assert any(line["logger"] == "hawiya.notifications.tasks" for line in records)
    user = User.objects.get(username="journey.person")
    challenges = list(OneTimeCode.objects.filter(person=person).values_list("challenge", flat=True))
    assert len(challenges) >= 2
    secrets = {
        "ID number": person.id_number,
        "mobile": person.mobile,
        "mobile without +": person.mobile.lstrip("+"),
        "national mobile": "0" + person.mobile[4:],
        "session": session_key,
        "CSRF token": client.cookies["csrftoken"].value,
        "password": PASSWORD,
        "password hash": user.password,
        **{f"challenge {index}": challenge for index, challenge in enumerate(challenges)},
        **{f"code {index}": code for index, code in enumerate(codes)},
    }
    leaks = {what for what, value in secrets.items() if value and value in log}
    assert leaks == set(), leaks
