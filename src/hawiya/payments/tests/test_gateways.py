"""The gateway's HTTP client against a real local server, the demo gateway, and the choice
between them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from hawiya.core.fakepartner import FakePartner, Reply
from hawiya.payments import errors
from hawiya.payments.gateways import (
    DemoGateway,
    GatewayError,
    HttpPaymentGateway,
    payment_gateway,
    webhook_secret,
)
from hawiya.payments.models import Bill

API_KEY = "gateway-test-key"

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway_server():
    with FakePartner() as running:
        yield running


@pytest.fixture
def bill() -> Bill:
    from .factories import make_bill

    made = make_bill()
    made.gateway_payment_id = "pay_1"
    return made


def _client(server: FakePartner, timeout: float = 0.5) -> HttpPaymentGateway:
    return HttpPaymentGateway(
        base_url=server.url + "/v1/", api_key=API_KEY, timeout=timeout, checkout_host="pay.example"
    )


def test_checkout_posts_the_bill_with_the_key_and_returns_the_gateway_url(gateway_server, bill) -> None:
    gateway_server.answer(Reply(201, json.dumps({"url": "https://pay.example/c/abc"}).encode()))
    url = _client(gateway_server).checkout_url(bill, "http://testserver/ar/payments/x/return/")
    assert url == "https://pay.example/c/abc"
    [request] = gateway_server.received
    assert request.path == "/v1/checkouts"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Idempotency-Key"] == f"checkout-{bill.bill_number}-1"
    assert request.payload == {
        "bill_number": bill.bill_number,
        "amount_sar": "135.00",
        "currency": "SAR",
        "return_url": "http://testserver/ar/payments/x/return/",
    }


def test_refund_posts_the_amount_and_returns_the_refund_id(gateway_server, bill) -> None:
    gateway_server.answer(Reply(200, b'{"id": "rf_9"}'))
    assert _client(gateway_server).refund(bill, Decimal(100)) == "rf_9"
    [request] = gateway_server.received
    assert request.path == "/v1/refunds"
    assert request.payload == {
        "bill_number": bill.bill_number,
        "payment_id": "pay_1",
        "amount_sar": "100.00",
        "currency": "SAR",
    }
    assert request.headers["Idempotency-Key"] == f"refund-{bill.bill_number}"


@pytest.mark.parametrize(
    ("reply", "code", "reason"),
    [
        (Reply(400, b'{"error": "bad"}'), errors.GATEWAY_REFUSED, "gateway_refused_400"),
        (Reply(404), errors.GATEWAY_REFUSED, "gateway_refused_404"),
        (Reply(422), errors.GATEWAY_REFUSED, "gateway_refused_422"),
        # Our key refused (a misconfiguration), or the same idempotency key still in flight: the
        # call may succeed later, so these are retried like an outage, never a definite refusal.
        (Reply(401), errors.GATEWAY_UNAVAILABLE, "gateway_credentials_401"),
        (Reply(403), errors.GATEWAY_UNAVAILABLE, "gateway_credentials_403"),
        (Reply(409), errors.GATEWAY_UNAVAILABLE, "gateway_in_flight_409"),
        (Reply(503), errors.GATEWAY_UNAVAILABLE, "gateway_unavailable_503"),
        (Reply(500), errors.GATEWAY_UNAVAILABLE, "gateway_unavailable_500"),
        (Reply(200, b"not json"), errors.GATEWAY_UNAVAILABLE, "gateway_bad_response"),
        (
            Reply(200, b'{"url": "javascript:alert(1)"}'),
            errors.GATEWAY_UNAVAILABLE,
            "gateway_bad_checkout_url",
        ),
        (Reply(302, b"{}", headers={"Location": "https://elsewhere.example/"}), errors.GATEWAY_REFUSED, None),
    ],
)
def test_gateway_errors_are_short_stable_codes(gateway_server, bill, reply, code, reason) -> None:
    gateway_server.answer(reply)
    with pytest.raises(GatewayError) as caught:
        _client(gateway_server).checkout_url(bill, "http://testserver/return/")
    assert caught.value.code == code
    assert caught.value.status_code == 502
    if reason:
        assert caught.value.extra["reason"] == reason
    assert API_KEY not in str(caught.value)


def test_refused_credentials_are_logged_at_error(gateway_server, bill, caplog) -> None:
    gateway_server.answer(Reply(401))
    with caplog.at_level("ERROR", logger="hawiya.payments.gateways"), pytest.raises(GatewayError):
        _client(gateway_server).refund(bill, Decimal(100))
    assert [record.levelname for record in caplog.records] == ["ERROR"]
    assert API_KEY not in caplog.text


def test_each_checkout_attempt_has_its_own_idempotency_key(gateway_server, bill) -> None:
    gateway_server.answer(Reply(201, b'{"url": "https://pay.example/c/1"}'))
    gateway_server.answer(Reply(201, b'{"url": "https://pay.example/c/2"}'))
    _client(gateway_server).checkout_url(bill, "http://testserver/return/", attempt=1)
    _client(gateway_server).checkout_url(bill, "http://testserver/return/", attempt=2)
    keys = [request.headers["Idempotency-Key"] for request in gateway_server.received]
    assert keys == [f"checkout-{bill.bill_number}-1", f"checkout-{bill.bill_number}-2"]


@pytest.mark.parametrize(
    "url",
    [
        "http://pay.example/c/1",
        "https://elsewhere.example/c/1",
        "https://pay.example.elsewhere.example/c/1",
        "https://user:pass@pay.example/c/1",
        "https://pay.example:notaport/c/1",
        "//pay.example/c/1",
        "/c/1",
        "https://pay.example/c/\u0661",
    ],
)
def test_a_checkout_url_not_https_on_the_gateway_host_is_refused(gateway_server, bill, url) -> None:
    gateway_server.answer(Reply(201, json.dumps({"url": url}).encode()))
    with pytest.raises(GatewayError) as caught:
        _client(gateway_server).checkout_url(bill, "http://testserver/return/")
    assert caught.value.status_code == 502


def test_the_checkout_host_is_the_api_host_unless_configured(settings) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "http"
    settings.HAWIYA_PAYMENT_GATEWAY_URL = "https://api.gateway.example/v1"
    settings.HAWIYA_PAYMENT_API_KEY = API_KEY
    gateway = payment_gateway()
    assert isinstance(gateway, HttpPaymentGateway)
    assert gateway.checkout_host == "api.gateway.example"
    settings.HAWIYA_PAYMENT_CHECKOUT_HOST = "checkout.gateway.example"
    gateway = payment_gateway()
    assert isinstance(gateway, HttpPaymentGateway)
    assert gateway.checkout_host == "checkout.gateway.example"


def test_a_slow_gateway_times_out(gateway_server, bill) -> None:
    gateway_server.answer(Reply(200, b'{"id": "late"}', delay=2))
    with pytest.raises(GatewayError) as caught:
        _client(gateway_server, timeout=0.2).refund(bill, Decimal(100))
    assert caught.value.extra["reason"] == "gateway_timeout"


def test_nothing_listening_is_unavailable(bill) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HttpPaymentGateway(base_url=f"http://127.0.0.1:{port}", api_key=API_KEY, timeout=0.5)
    with pytest.raises(GatewayError) as caught:
        client.refund(bill, Decimal(100))
    assert caught.value.extra["reason"] == "gateway_unreachable"


def test_the_key_never_appears_in_the_repr() -> None:
    assert API_KEY not in repr(HttpPaymentGateway(base_url="https://g.example", api_key=API_KEY))


def test_settings_choose_the_gateway(settings) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    assert isinstance(payment_gateway(), DemoGateway)
    settings.HAWIYA_PAYMENT_GATEWAY = "http"
    settings.HAWIYA_PAYMENT_GATEWAY_URL = "https://g.example/api"
    settings.HAWIYA_PAYMENT_API_KEY = API_KEY
    gateway = payment_gateway()
    assert isinstance(gateway, HttpPaymentGateway)
    assert gateway.base_url == "https://g.example/api"
    settings.HAWIYA_PAYMENT_GATEWAY = "cash"
    with pytest.raises(ValueError, match="demo"):
        payment_gateway()


def test_demo_checkout_is_the_portal_demo_page(bill) -> None:
    from django.utils import translation

    with translation.override("en"):
        assert DemoGateway().checkout_url(bill, "") == f"/en/payments/demo/{bill.bill_number}/"


def test_the_demo_checkout_page_is_named_by_the_settings_not_by_the_payments_app(bill, settings) -> None:
    from django.utils import translation

    settings.PAYMENT_DEMO_CHECKOUT_URL = "portal:payments-bill"
    with translation.override("en"):
        assert DemoGateway().checkout_url(bill, "") == f"/en/payments/{bill.bill_number}/"


def test_demo_gateway_falls_back_to_a_derived_secret_the_real_one_never_does(settings) -> None:
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = ""
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    derived = webhook_secret()
    assert len(derived) == 64
    assert derived != settings.SECRET_KEY
    settings.HAWIYA_PAYMENT_GATEWAY = "http"
    assert webhook_secret() == ""
