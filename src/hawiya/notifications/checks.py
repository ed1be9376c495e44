"""System checks of the notifications app: a worker must not start unable to send."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from .clients import sms_client_name
from .templates import sms_domain

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
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
    url = str(getattr(settings, "SMS_OPERATOR_URL", "") or "")
    token = str(getattr(settings, "SMS_OPERATOR_TOKEN", "") or "")
    parts = urlsplit(url)
    if not url:
        problems.append(
            Error(
                "The SMS operator client is selected but SMS_OPERATOR_URL is not set.",
                hint="Set SMS_OPERATOR_URL and SMS_OPERATOR_TOKEN, or HAWIYA_SMS_CLIENT=demo on a "
                "development machine.",
                id="notifications.E002",
            )
        )
    elif parts.scheme not in {"http", "https"} or not parts.hostname:
        problems.append(Error("SMS_OPERATOR_URL must be an http(s) URL.", id="notifications.E003"))
    elif parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        problems.append(
            Warning(
                "SMS_OPERATOR_URL uses plain http: the bearer token and one-time codes cross the "
                "network unencrypted.",
                hint="Use the operator's https endpoint.",
                id="notifications.W001",
            )
        )
    if not token:
        problems.append(
            Error(
                "The SMS operator client is selected but SMS_OPERATOR_TOKEN is not set.",
                hint="Take the token from the environment (never commit it).",
                id="notifications.E004",
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
