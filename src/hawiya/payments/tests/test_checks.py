"""The system checks refuse a gateway that could not take or verify a payment."""

from __future__ import annotations

import pytest
from django.core import checks

from hawiya.payments.checks import payment_demo_gateway_only_in_demo_mode, payment_gateway_configured


def _ids() -> list[str | None]:
    return [message.id for message in payment_gateway_configured(None)]


@pytest.fixture
def http_gateway(settings):
    settings.HAWIYA_PAYMENT_GATEWAY = "http"
    settings.HAWIYA_PAYMENT_GATEWAY_URL = "https://pay.example/api"
    settings.HAWIYA_PAYMENT_API_KEY = "k"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = "s"
    return settings


def test_demo_gateway_needs_nothing(settings) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = ""
    assert _ids() == []


def test_configured_http_gateway_passes(http_gateway) -> None:
    assert _ids() == []


def test_http_gateway_without_url_key_or_secret_is_refused(http_gateway) -> None:
    http_gateway.HAWIYA_PAYMENT_GATEWAY_URL = ""
    http_gateway.HAWIYA_PAYMENT_API_KEY = ""
    http_gateway.HAWIYA_PAYMENT_WEBHOOK_SECRET = ""
    assert _ids() == ["payments.E002", "payments.E004", "payments.E005"]
    assert {"payments.E002", "payments.E004", "payments.E005"} <= {m.id for m in checks.run_checks()}


def test_malformed_or_plain_http_url(http_gateway) -> None:
    http_gateway.HAWIYA_PAYMENT_GATEWAY_URL = "pay.example"
    assert _ids() == ["payments.E003"]
    http_gateway.HAWIYA_PAYMENT_GATEWAY_URL = "http://pay.example/api"
    assert _ids() == ["payments.W001"]
    http_gateway.HAWIYA_PAYMENT_GATEWAY_URL = "http://127.0.0.1:9000/api"
    assert _ids() == []


def test_unknown_gateway_is_refused(settings) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "cash"
    assert _ids() == ["payments.E001"]


def test_demo_gateway_outside_demo_mode_is_refused_at_deployment(settings) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.DEMO = False
    assert [m.id for m in payment_demo_gateway_only_in_demo_mode(None)] == ["payments.E006"]
    assert "payments.E006" in {m.id for m in checks.run_checks(include_deployment_checks=True)}
    assert "payments.E006" not in {m.id for m in checks.run_checks()}
    settings.DEMO = True
    assert payment_demo_gateway_only_in_demo_mode(None) == []
