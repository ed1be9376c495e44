"""A real operator on 127.0.0.1 and the real task worker, for the SMS channel's tests."""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from hawiya.core import clock
from hawiya.core.fakepartner import FakePartner
from hawiya.core.fakepartner import Reply as Reply  # for the tests that import it from here
from hawiya.core.fakepartner import refused_port as free_port
from hawiya.notifications.models import SmsMessage

TOKEN = "operator-test-token"

# The SMS operator, and in other apps' tests the payment gateway and the courier: the shared fake.
Operator = FakePartner


@pytest.fixture
def operator() -> Iterator[Operator]:
    with Operator() as running:
        yield running


@pytest.fixture
def use_operator(settings: Any, operator: Operator) -> Operator:
    """Settings that send through the HTTP client to the local operator."""
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = operator.url + "/v1"
    settings.SMS_OPERATOR_TOKEN = TOKEN
    settings.SMS_SENDER_ID = "Hawiya"
    settings.SMS_OPERATOR_TIMEOUT = 0.5
    return operator


@pytest.fixture
def use_demo_client(settings: Any) -> None:
    settings.HAWIYA_SMS_CLIENT = "demo"


@pytest.fixture
def refused_port() -> int:
    """A local port nothing listens on."""
    return free_port()


def run_worker() -> None:
    """The real db_worker, in batch mode: runs every task that is due, then returns."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def fast_forward() -> None:
    """Make every waiting retry due now, as if its backoff had passed."""
    past = clock.now() - dt.timedelta(seconds=1)
    SmsMessage.objects.filter(status=SmsMessage.Status.QUEUED).update(next_attempt_at=past)
    DBTaskResult.objects.filter(status="READY").update(run_after=past)


def pending_tasks() -> list[DBTaskResult[..., Any]]:
    return list(DBTaskResult.objects.filter(status="READY").order_by("run_after"))
