"""System checks of the delivery app: never start unable to hand a shipment to the courier or to
verify the courier's calls."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error

from hawiya.core.outbound import outbound_url_problems

from .couriers import COURIERS, courier_name

KEY_ID_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,48}")


def courier_configured(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """The chosen courier exists; the HTTP courier has an http(s) URL, a token, a key id and a
    signing secret (the previous secret is optional: set only during a rotation)."""
    name = courier_name()
    if name not in COURIERS:
        return [Error(f"HAWIYA_COURIER is {name!r}; it must be 'demo' or 'http'.", id="delivery.E001")]
    if name == "demo":
        return []
    problems: list[CheckMessage] = []
    problems += outbound_url_problems(
        setting="HAWIYA_COURIER_URL",
        app="delivery",
        missing="The courier's HTTP client is selected but HAWIYA_COURIER_URL is not set.",
        missing_hint="Set HAWIYA_COURIER_URL and HAWIYA_COURIER_API_TOKEN, "
        "or HAWIYA_COURIER=demo in demo mode.",
        plain_http="HAWIYA_COURIER_URL uses plain http: the token and the recipients' addresses cross "
        "the network unencrypted.",
        plain_http_hint="Use the courier's https endpoint.",
    )
    if not getattr(settings, "HAWIYA_COURIER_API_TOKEN", ""):
        problems.append(
            Error(
                "The courier's HTTP client is selected but HAWIYA_COURIER_API_TOKEN is not set.",
                hint="Take the token from the environment (never commit it).",
                id="delivery.E004",
            )
        )
    if not getattr(settings, "HAWIYA_COURIER_KEY_ID", "") or not getattr(
        settings, "HAWIYA_COURIER_SECRET", ""
    ):
        problems.append(
            Error(
                "HAWIYA_COURIER_KEY_ID or HAWIYA_COURIER_SECRET is not set: "
                "no courier call could be verified.",
                hint="Give the courier a key id and a signing secret of at least 32 random bytes.",
                id="delivery.E005",
            )
        )
    elif len(str(getattr(settings, "HAWIYA_COURIER_SECRET", ""))) < 32:
        problems.append(
            Error(
                "HAWIYA_COURIER_SECRET is shorter than 32 characters.",
                hint="Use a long random secret, e.g. "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`.",
                id="delivery.E006",
            )
        )
    key_id = str(getattr(settings, "HAWIYA_COURIER_KEY_ID", "") or "")
    if key_id and not KEY_ID_SHAPE.fullmatch(key_id):
        problems.append(
            Error(
                "HAWIYA_COURIER_KEY_ID must be 1-48 letters, digits, dots, hyphens or underscores.",
                hint="It names the courier in the audit trail as courier:<key id>.",
                id="delivery.E008",
            )
        )
    return problems


def courier_demo_only_in_demo_mode(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Deployment check: the demo courier delivers nothing, so outside demo mode every card would
    wait for a pickup that never comes."""
    if courier_name() == "demo" and not getattr(settings, "DEMO", False):
        return [
            Error(
                "The demo courier is selected outside demo mode: no card would ever be delivered.",
                hint="Set HAWIYA_COURIER=http with HAWIYA_COURIER_URL, HAWIYA_COURIER_API_TOKEN, "
                "HAWIYA_COURIER_KEY_ID and HAWIYA_COURIER_SECRET.",
                id="delivery.E007",
            )
        ]
    return []
