"""The HTTP client against a real HTTP server on 127.0.0.1: what it sends, how it reads answers."""

from __future__ import annotations

import json
import time

import pytest

from hawiya.notifications.clients import (
    DemoSmsClient,
    HttpSmsClient,
    SmsRejected,
    SmsTemporaryFailure,
    sms_client,
)

from .conftest import TOKEN, Operator, Reply

REFERENCE = "0b6c1a8e-8f0e-4a53-9b1e-3f4f6f1d2c3a"


def _client(operator: Operator, timeout: float = 0.5) -> HttpSmsClient:
    return HttpSmsClient(base_url=operator.url + "/v1/", token=TOKEN, sender="Hawiya", timeout=timeout)


def _send(client: HttpSmsClient) -> str:
    return client.send(to="+966512345678", body="رمز التحقق: 1234", reference=REFERENCE).operator_message_id


def test_success_posts_json_with_bearer_token(operator: Operator) -> None:
    operator.answer(Reply(200, json.dumps({"id": "op-77"}).encode()))
    assert _send(_client(operator)) == "op-77"
    [request] = operator.received
    assert request.path == "/v1/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["Idempotency-Key"] == REFERENCE
    assert request.payload == {
        "to": "+966512345678",
        "body": "رمز التحقق: 1234",
        "reference": REFERENCE,
        "sender": "Hawiya",
    }


def test_numeric_operator_id_is_kept_as_text(operator: Operator) -> None:
    operator.answer(Reply(202, b'{"id": 12345}'))
    assert _send(_client(operator)) == "12345"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_permanent_rejections(operator: Operator, status: int) -> None:
    operator.answer(Reply(status, b'{"error": "invalid number +966512345678"}'))
    with pytest.raises(SmsRejected) as caught:
        _send(_client(operator))
    assert caught.value.code == f"operator_rejected_{status}"
    assert "+966" not in str(caught.value), "the operator's body never reaches our errors"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, "operator_throttled_429"),
        (500, "operator_unavailable_500"),
        (502, "operator_unavailable_502"),
        (503, "operator_unavailable_503"),
        (408, "operator_408"),
    ],
)
def test_outages_and_throttling_are_temporary(operator: Operator, status: int, code: str) -> None:
    operator.answer(Reply(status, b"{}"))
    with pytest.raises(SmsTemporaryFailure) as caught:
        _send(_client(operator))
    assert caught.value.code == code


@pytest.mark.parametrize("body", [b"<html>ok</html>", b'{"status": "ok"}', b'{"id": ""}', b"[1]"])
def test_unreadable_success_is_temporary(operator: Operator, body: bytes) -> None:
    operator.answer(Reply(200, body))
    with pytest.raises(SmsTemporaryFailure) as caught:
        _send(_client(operator))
    assert caught.value.code == "operator_bad_response"


def test_slow_operator_times_out_as_temporary(operator: Operator) -> None:
    operator.answer(Reply(200, delay=5))
    started = time.monotonic()
    with pytest.raises(SmsTemporaryFailure) as caught:
        _send(_client(operator, timeout=0.3))
    assert caught.value.code == "operator_timeout"
    assert time.monotonic() - started < 3


def test_connection_refused_is_temporary(refused_port: int) -> None:
    client = HttpSmsClient(base_url=f"http://127.0.0.1:{refused_port}", token=TOKEN, timeout=0.5)
    with pytest.raises(SmsTemporaryFailure) as caught:
        _send(client)
    assert caught.value.code == "operator_unreachable"


def test_redirect_is_not_followed_with_the_token(operator: Operator) -> None:
    with Operator() as elsewhere:
        operator.answer(Reply(302, b"", headers={"Location": elsewhere.url + "/steal"}))
        with pytest.raises(SmsTemporaryFailure) as caught:
            _send(_client(operator))
        assert elsewhere.received == []
    assert caught.value.code == "operator_unexpected_302"


def test_repr_never_shows_the_token(operator: Operator) -> None:
    assert TOKEN not in repr(_client(operator))


def test_demo_client_accepts_everything() -> None:
    result = DemoSmsClient().send(to="+966512345678", body="x", reference=REFERENCE)
    assert result.operator_message_id == f"demo-{REFERENCE}"


def test_factory_follows_the_settings(settings) -> None:
    settings.DEMO = True
    del settings.HAWIYA_SMS_CLIENT
    assert isinstance(sms_client(), DemoSmsClient)
    settings.DEMO = False
    settings.SMS_OPERATOR_URL = "https://sms.operator.example/api"
    settings.SMS_OPERATOR_TOKEN = TOKEN
    client = sms_client()
    assert isinstance(client, HttpSmsClient)
    assert client.url == "https://sms.operator.example/api/messages"
    settings.HAWIYA_SMS_CLIENT = "demo"
    assert isinstance(sms_client(), DemoSmsClient)
    settings.HAWIYA_SMS_CLIENT = "carrier-pigeon"
    with pytest.raises(ValueError, match="carrier-pigeon"):
        sms_client()
