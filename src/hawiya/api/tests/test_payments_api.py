"""POST /api/v1/payments/callback: the gateway's signed callback, its status codes, no CSRF."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.audit.models import AuditEvent
from hawiya.payments.models import BillState, PaymentCallback
from hawiya.payments.tests.factories import SECRET, callback_body, make_bill, signed
from hawiya.replacements.models import Replacement, ReplacementState

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/callback"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "http"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = SECRET
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


@pytest.fixture
def gateway() -> Client:
    # The gateway has no cookie and no CSRF token: the signature is its authentication.
    return Client(enforce_csrf_checks=True)


def _post(client: Client, body: bytes, header: str | None = None, ip: str = "198.51.100.7"):
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_HAWIYA_SIGNATURE=signed(body) if header is None else header,
        REMOTE_ADDR=ip,
    )


def test_paid_callback_answers_200_and_pays_the_bill(gateway) -> None:
    bill = make_bill()
    body = callback_body(bill, event_id="evt_api_1")
    response = _post(gateway, body)
    assert response.status_code == 200, response.content
    assert response.json() == {"event_id": "evt_api_1", "bill_number": bill.bill_number, "outcome": "applied"}
    bill.refresh_from_db()
    assert bill.state == BillState.PAID
    assert Replacement.objects.get(pk=bill.replacement_id).state == ReplacementState.PAID


def test_a_replay_answers_200_and_changes_nothing(gateway) -> None:
    bill = make_bill()
    body = callback_body(bill)
    assert _post(gateway, body).status_code == 200
    again = _post(gateway, body)
    assert again.status_code == 200
    assert again.json()["outcome"] == "applied"
    assert PaymentCallback.objects.count() == 1


def test_bad_signature_is_401_logged_with_the_address_and_stores_nothing(gateway, caplog) -> None:
    bill = make_bill()
    audited = AuditEvent.objects.count()
    body = callback_body(bill)
    with caplog.at_level(logging.WARNING, logger="hawiya.api.payments"):
        response = _post(gateway, body, header=signed(body, secret="forged"), ip="203.0.113.9")
        assert response.status_code == 401
        assert response.json()["code"] == "callback_signature_invalid"
        assert _post(gateway, body, header="", ip="203.0.113.9").status_code == 401
    assert not PaymentCallback.objects.exists()
    assert AuditEvent.objects.count() == audited
    logged = [record.getMessage() for record in caplog.records]
    assert any("203.0.113.9" in line and "mismatch" in line for line in logged)
    assert any("203.0.113.9" in line and "missing" in line for line in logged)


def test_too_many_bad_signatures_from_one_address_are_answered_429(gateway, settings) -> None:
    settings.HAWIYA_PAYMENT_CALLBACK_FAILURE_LIMIT = 3
    bill = make_bill()
    body = callback_body(bill)
    forged = signed(body, secret="forged")
    assert [_post(gateway, body, header=forged).status_code for _ in range(3)] == [401, 401, 401]
    throttled = _post(gateway, body, header=forged)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "callback_throttled"
    # Another address is not affected, and the gateway's signed callbacks always go through.
    assert _post(gateway, body, header=forged, ip="198.51.100.8").status_code == 401
    assert _post(gateway, body).status_code == 200
    bill.refresh_from_db()
    assert bill.state == BillState.PAID


def test_the_same_event_id_with_another_body_is_409(gateway) -> None:
    bill = make_bill()
    assert _post(gateway, callback_body(bill, event_id="evt_same", payment_id="pay_1")).status_code == 200
    response = _post(gateway, callback_body(bill, event_id="evt_same", payment_id="pay_2"))
    assert response.status_code == 409
    assert response.json()["code"] == "callback_event_conflict"
    assert AuditEvent.objects.filter(action="payment.callback_conflict").count() == 1


def test_an_amount_sent_as_a_number_is_400(gateway) -> None:
    bill = make_bill()
    response = _post(gateway, callback_body(bill, amount_sar=135))
    assert response.status_code == 400
    assert response.json()["code"] == "callback_malformed"


def test_malformed_body_is_400(gateway) -> None:
    body = b'{"event_id": "evt_x"}'
    response = _post(gateway, body)
    assert response.status_code == 400
    assert response.json()["code"] == "callback_malformed"
    assert set(response.json()) == {"code", "message"}


def test_unknown_bill_is_404(gateway) -> None:
    response = _post(gateway, callback_body(None, bill_number="123123123123"))
    assert response.status_code == 404
    assert response.json()["code"] == "callback_unknown_bill"


def test_amount_mismatch_is_409(gateway) -> None:
    bill = make_bill()
    response = _post(gateway, callback_body(bill, amount_sar="1.00"))
    assert response.status_code == 409
    assert response.json()["code"] == "callback_amount_mismatch"
    bill.refresh_from_db()
    assert bill.state == BillState.ISSUED


def test_only_post_is_allowed(gateway) -> None:
    assert gateway.get(URL).status_code == 405


def test_openapi_describes_the_callback() -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    operation = response.json()["paths"]["/api/v1/payments/callback"]["post"]
    assert set(operation["responses"]) >= {"200", "400", "401", "404", "409", "429"}
    assert any(parameter["name"] == "X-Hawiya-Signature" for parameter in operation["parameters"])
