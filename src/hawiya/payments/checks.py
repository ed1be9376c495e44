"""System checks of the payments app: never start unable to take or verify a payment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error

from hawiya.core.outbound import outbound_url_problems

from .gateways import GATEWAYS, payment_gateway_name


def payment_gateway_configured(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """The chosen gateway exists; the HTTP gateway has an http(s) URL, an API key and a secret."""
    name = payment_gateway_name()
    if name not in GATEWAYS:
        return [
            Error(f"HAWIYA_PAYMENT_GATEWAY is {name!r}; it must be 'demo' or 'http'.", id="payments.E001")
        ]
    if name == "demo":
        return []
    problems: list[CheckMessage] = []
    problems += outbound_url_problems(
        setting="HAWIYA_PAYMENT_GATEWAY_URL",
        app="payments",
        missing="The payment gateway's HTTP client is selected but HAWIYA_PAYMENT_GATEWAY_URL is not set.",
        missing_hint="Set HAWIYA_PAYMENT_GATEWAY_URL, HAWIYA_PAYMENT_API_KEY and "
        "HAWIYA_PAYMENT_WEBHOOK_SECRET, or HAWIYA_PAYMENT_GATEWAY=demo in demo mode.",
        plain_http="HAWIYA_PAYMENT_GATEWAY_URL uses plain http: the API key crosses the network unencrypted.",
        plain_http_hint="Use the gateway's https endpoint.",
    )
    if not getattr(settings, "HAWIYA_PAYMENT_API_KEY", ""):
        problems.append(
            Error(
                "The payment gateway's HTTP client is selected but HAWIYA_PAYMENT_API_KEY is not set.",
                hint="Take the key from the environment (never commit it).",
                id="payments.E004",
            )
        )
    if not getattr(settings, "HAWIYA_PAYMENT_WEBHOOK_SECRET", ""):
        problems.append(
            Error(
                "HAWIYA_PAYMENT_WEBHOOK_SECRET is not set: no payment callback could be verified.",
                hint="Use the signing secret the gateway shows for our callback endpoint.",
                id="payments.E005",
            )
        )
    return problems


def payment_demo_gateway_only_in_demo_mode(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Deployment check: the demo gateway's pay page exists only in demo mode, so outside it
    nobody could pay and every request would expire."""
    if payment_gateway_name() == "demo" and not getattr(settings, "DEMO", False):
        return [
            Error(
                "The demo payment gateway is selected outside demo mode: nobody could pay a bill.",
                hint="Set HAWIYA_PAYMENT_GATEWAY=http with HAWIYA_PAYMENT_GATEWAY_URL, "
                "HAWIYA_PAYMENT_API_KEY and HAWIYA_PAYMENT_WEBHOOK_SECRET.",
                id="payments.E006",
            )
        ]
    return []
