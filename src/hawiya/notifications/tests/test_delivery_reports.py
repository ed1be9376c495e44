"""POST /api/v1/sms/delivery-reports: the operator's signed delivery reports update the outbox."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.core import clock
from hawiya.core.signing import signature_header
from hawiya.core.testing import PinnedClock, pin_clock
from hawiya.notifications import tasks
from hawiya.notifications.clients import operator_webhook_secret
from hawiya.notifications.models import SmsMessage

from .conftest import Operator, Reply
from .factories import queue_notice, queue_sms

pytestmark = pytest.mark.django_db

URL = "/api/v1/sms/delivery-reports"
SECRET = "operator-delivery-report-secret"
Status = SmsMessage.Status


START = dt.datetime(2026, 11, 23, 7, 42, 5, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    return pin_clock(monkeypatch, START)


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.SMS_OPERATOR_WEBHOOK_SECRET = SECRET
    settings.SMS_DELIVERY_REPORT_FAILURE_LIMIT = 3
    cache.clear()


@pytest.fixture
def operator_client() -> Client:
    # The operator has no cookie and no CSRF token: the signature is its authentication.
    return Client(enforce_csrf_checks=True)


def _sent(
    operator: Operator, pinned: PinnedClock, operator_id: str = "op-1", *, secret: bool = False
) -> SmsMessage:
    """A message the HTTP client handed to the (local) operator, which answered `operator_id`."""
    operator.answer(Reply(200, json.dumps({"id": operator_id}).encode()))
    message = queue_sms() if secret else queue_notice()
    tasks.deliver_sms.call(message.pk)
    pinned.current += dt.timedelta(seconds=10)  # reports come a little later
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.operator_message_id == operator_id  # recorded from the send response
    return message


def _body(message_id: str = "op-1", status: str = "delivered", at: dt.datetime | None = None, **more: Any):
    occurred = (at or clock.now()).isoformat()
    return json.dumps({"message_id": message_id, "status": status, "occurred_at": occurred, **more}).encode()


def _post(
    client: Client,
    body: bytes,
    *,
    secret: str = SECRET,
    header: str | None = None,
    at: dt.datetime | None = None,
    ip: str = "198.51.100.20",
):
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_HAWIYA_SIGNATURE=signature_header(body, secret, at=at) if header is None else header,
        REMOTE_ADDR=ip,
    )


def test_a_delivered_report_marks_the_message_delivered_at_the_operators_time(
    operator_client, use_operator, pinned
) -> None:
    message = _sent(use_operator, pinned, secret=True)
    delivered = clock.now() - dt.timedelta(seconds=3)

    response = _post(operator_client, _body(at=delivered))

    assert response.status_code == 200, response.content
    assert response.json() == {"message_id": "op-1", "status": "delivered"}
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert message.delivered_at == delivered
    assert message.body == ""  # a code the operator has is not kept


def test_a_replay_answers_200_and_changes_nothing(operator_client, use_operator, pinned) -> None:
    message = _sent(use_operator, pinned)
    body = _body()
    assert _post(operator_client, body).status_code == 200
    first = SmsMessage.objects.get(pk=message.pk)

    again = _post(operator_client, body)
    later = _post(operator_client, _body(at=clock.now() + dt.timedelta(minutes=1)))

    assert again.status_code == later.status_code == 200
    assert again.json()["status"] == "delivered"
    after = SmsMessage.objects.get(pk=message.pk)
    assert (after.status, after.delivered_at, after.sent_at) == (
        first.status,
        first.delivered_at,
        first.sent_at,
    )


def test_a_failed_report_after_delivery_does_not_move_the_message_back(
    operator_client, use_operator, pinned
) -> None:
    message = _sent(use_operator, pinned)
    assert _post(operator_client, _body(status="delivered")).status_code == 200

    response = _post(operator_client, _body(status="failed", error_code="absent_subscriber"))

    assert response.status_code == 200
    assert response.json()["status"] == "delivered"
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert message.failed_at is None
    assert message.last_error_code == ""


def test_failed_then_delivered_ends_delivered(operator_client, use_operator, pinned) -> None:
    message = _sent(use_operator, pinned)
    failed_at = clock.now()

    response = _post(operator_client, _body(status="failed", error_code="absent_subscriber", at=failed_at))
    assert response.json() == {"message_id": "op-1", "status": "failed"}
    message.refresh_from_db()
    assert (message.status, message.failed_at) == (Status.FAILED, failed_at)
    assert message.last_error_code == "receipt_absent_subscriber"
    # The same failure again changes nothing; a delivery (the operator retried) wins.
    assert _post(operator_client, _body(status="failed")).json()["status"] == "failed"
    assert _post(operator_client, _body(status="delivered")).json()["status"] == "delivered"
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_a_report_time_in_the_future_or_before_queueing_is_brought_within_bounds(
    operator_client, use_operator, pinned
) -> None:
    message = _sent(use_operator, pinned)
    _post(operator_client, _body(at=clock.now() + dt.timedelta(hours=3)))
    message.refresh_from_db()
    assert message.delivered_at is not None
    assert message.queued_at <= message.delivered_at <= clock.now()


def test_an_unknown_operator_id_is_404_and_writes_nothing(operator_client, use_operator, pinned) -> None:
    message = _sent(use_operator, pinned)
    response = _post(operator_client, _body(message_id="op-unknown"))
    assert response.status_code == 404
    assert response.json()["code"] == "sms_not_found"
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_an_unsent_message_cannot_be_reported_by_its_own_reference(operator_client) -> None:
    message = queue_notice()  # queued: no operator id yet
    response = _post(operator_client, _body(message_id=str(message.reference)))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("how", "reason"),
    [("forged", "mismatch"), ("missing", "missing"), ("expired", "stale"), ("garbled", "malformed")],
)
def test_a_badly_signed_report_is_401_logged_and_writes_nothing(
    operator_client, use_operator, pinned, caplog, how, reason
) -> None:
    message = _sent(use_operator, pinned)
    body = _body()
    header = {
        "forged": signature_header(body, "not-the-secret"),
        "missing": "",
        "expired": signature_header(body, SECRET, at=clock.now() - dt.timedelta(minutes=6)),
        "garbled": "t=abc,v1=zz",
    }[how]
    with caplog.at_level(logging.WARNING, logger="hawiya.api.sms"):
        response = _post(operator_client, body, header=header, ip="203.0.113.40")
    assert response.status_code == 401
    assert response.json()["code"] == "sms_report_signature_invalid"
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert any("203.0.113.40" in r.getMessage() and reason in r.getMessage() for r in caplog.records)


def test_a_report_signed_for_another_body_is_refused(operator_client, use_operator, pinned) -> None:
    _sent(use_operator, pinned)
    header = signature_header(_body(status="failed"), SECRET)
    assert _post(operator_client, _body(status="delivered"), header=header).status_code == 401


def test_too_many_badly_signed_reports_from_one_address_are_429_but_good_ones_pass(
    operator_client, use_operator, pinned
) -> None:
    message = _sent(use_operator, pinned)
    body = _body()
    codes = [_post(operator_client, body, secret="wrong", ip="203.0.113.41").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert (
        _post(operator_client, body, secret="wrong", ip="203.0.113.41").json()["code"]
        == "sms_report_throttled"
    )
    assert _post(operator_client, body, ip="203.0.113.41").status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


BAD_BODIES = [
    b"",
    b"not json",
    b"[]",
    b'"delivered"',
    b"{}",
    b'{"message_id": "op-1", "status": "delivered"}',
    b'{"message_id": "op-1", "status": "read", "occurred_at": "2026-11-23T07:00:00+00:00"}',
    b'{"message_id": 1, "status": "delivered", "occurred_at": "2026-11-23T07:00:00+00:00"}',
    b'{"message_id": "op\\u0000-1", "status": "delivered", "occurred_at": "2026-11-23T07:00:00+00:00"}',
    b'{"message_id": "op 1", "status": "delivered", "occurred_at": "2026-11-23T07:00:00+00:00"}',
    '{"message_id": "op-١", "status": "delivered", "occurred_at": "2026-11-23T07:00:00+00:00"}'.encode(),
    b'{"message_id": "'
    + b"x" * 101
    + b'", "status": "delivered", "occurred_at": "2026-11-23T07:00:00+00:00"}',
    b'{"message_id": "op-1", "status": "delivered", "occurred_at": "2026-11-23T07:00:00"}',
    b'{"message_id": "op-1", "status": "delivered", "occurred_at": "yesterday"}',
    b'{"message_id": "op-1", "status": "delivered", "occurred_at": 1767225600}',
    '{"message_id": "op-1", "status": "delivered", "occurred_at": "٢٠٢٦-11-23T07:00:00+00:00"}'.encode(),
    b'{"message_id": "op-1", "status": "failed", "occurred_at": "2026-11-23T07:00:00Z", "error_code": 5}',
    b'{"message_id": "op-1", "status": "failed", "occurred_at": "2026-11-23T07:00:00Z", "error_code": "a b"}',
    b'{"message_id": "op-1", "status": "delivered", "occurred_at": "2026-11-23T07:00:00+00:00", "pad": "'
    + b"x" * 5000
    + b'"}',
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_well_signed_but_malformed_report_is_400_never_500(
    operator_client, use_operator, pinned, body
) -> None:
    message = _sent(use_operator, pinned)
    response = _post(operator_client, body)
    assert response.status_code == 400, response.content
    # A NUL byte is refused by the API's guard before the endpoint (core/guard.py).
    assert response.json()["code"] in {"sms_report_malformed", "request_malformed"}
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_the_demo_client_has_a_derived_secret_and_the_http_client_none(settings) -> None:
    settings.SMS_OPERATOR_WEBHOOK_SECRET = ""
    settings.HAWIYA_SMS_CLIENT = "demo"
    assert len(operator_webhook_secret()) == 64
    settings.HAWIYA_SMS_CLIENT = "http"
    assert operator_webhook_secret() == ""


def test_without_a_secret_the_http_client_accepts_no_report(
    operator_client, use_operator, pinned, settings
) -> None:
    _sent(use_operator, pinned)
    settings.SMS_OPERATOR_WEBHOOK_SECRET = ""
    assert _post(operator_client, _body(), secret="").status_code == 401


def test_the_openapi_document_lists_every_answer(client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/sms/delivery-reports"]["post"]
    assert set(operation["responses"]) == {"200", "400", "401", "404", "413", "429"}
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["status"]["enum"] == ["delivered", "failed"]
    assert body["properties"]["message_id"]["maxLength"] == 100
    assert any(parameter["name"] == "X-Hawiya-Signature" for parameter in operation["parameters"])
