"""System checks of the notifications app: a worker must not start unable to send."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from hawiya.core.outbound import LOCAL_HOSTS, outbound_url_problems

from .clients import sms_client_name
from .templates import sms_domain

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")


def sms_client_configured(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """The chosen SMS client exists, and the HTTP client has an https URL and a token."""
    problems: list[CheckMessage] = []
    domain = sms_domain()
    if not HOSTNAME.fullmatch(domain):
        problems.append(
            Error(
                f"HAWIYA_SMS_DOMAIN is {domain!r}; it must be a lower-case host name like hawiya.gov.sa.",
                hint="One-time codes end with '@<domain> #<code>' so phones autofill them only there.",
                id="notifications.E005",
            )
        )
    name = sms_client_name()
    if name == "demo":
        return problems
    if name != "http":
        return [
            *problems,
            Error(f"HAWIYA_SMS_CLIENT is {name!r}; it must be 'demo' or 'http'.", id="notifications.E001"),
        ]
    if domain in LOCAL_HOSTS:
        problems.append(
            Warning(
                f"HAWIYA_SMS_DOMAIN is {domain!r} while codes go to real phones.",
                hint="Set HAWIYA_SMS_DOMAIN to the portal's public host name, so phones offer to fill "
                "one-time codes in on that site only.",
                id="notifications.W002",
            )
        )
    token = str(getattr(settings, "SMS_OPERATOR_TOKEN", "") or "")
    problems += outbound_url_problems(
        setting="SMS_OPERATOR_URL",
        app="notifications",
        missing="The SMS operator client is selected but SMS_OPERATOR_URL is not set.",
        missing_hint="Set SMS_OPERATOR_URL and SMS_OPERATOR_TOKEN, or HAWIYA_SMS_CLIENT=demo on a "
        "development machine.",
        plain_http="SMS_OPERATOR_URL uses plain http: the bearer token and one-time codes cross the "
        "network unencrypted.",
        plain_http_hint="Use the operator's https endpoint.",
    )
    if not token:
        problems.append(
            Error(
                "The SMS operator client is selected but SMS_OPERATOR_TOKEN is not set.",
                hint="Take the token from the environment (never commit it).",
                id="notifications.E004",
            )
        )
    lease, timeout = int(settings.HAWIYA_SMS_LEASE_SECONDS), float(settings.SMS_OPERATOR_TIMEOUT)
    if lease <= 2 * timeout:
        # A worker still waiting for the operator would lose its lease, and a second worker would
        # hand the same message over beside it (the operator de-duplicates, but both count).
        problems.append(
            Error(
                f"HAWIYA_SMS_LEASE_SECONDS ({lease}) must be over twice SMS_OPERATOR_TIMEOUT ({timeout:g}).",
                hint="Raise the lease or lower the timeout.",
                id="notifications.E006",
            )
        )
    if not str(getattr(settings, "SMS_OPERATOR_WEBHOOK_SECRET", "") or ""):
        problems.append(
            Warning(
                "SMS_OPERATOR_WEBHOOK_SECRET is not set: the operator's delivery reports are refused, "
                'so code pages never say "delivered".',
                hint="Set the secret the operator signs /api/v1/sms/delivery-reports with.",
                id="notifications.W004",
            )
        )
    return problems


def sms_demo_client_only_in_demo_mode(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Deployment check: the demo client sends nothing, so outside demo mode no code would arrive."""
    if sms_client_name() == "demo" and not getattr(settings, "DEMO", False):
        return [
            Warning(
                "The demo SMS client is selected outside demo mode: text messages are stored, never sent.",
                hint="Set HAWIYA_SMS_CLIENT=http with SMS_OPERATOR_URL and SMS_OPERATOR_TOKEN.",
                id="notifications.W003",
            )
        ]
    return []
