"""System checks of the registry app: never start unable to compare fingerprints, and never with
the demo matcher outside demo mode."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error

from hawiya.core.outbound import outbound_url_problems

from .matchers import MATCHER_DEMO, MATCHER_HTTP, MATCHERS, MAX_SCORE, matcher_name


def biometric_matcher_configured(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """The chosen matcher exists and its threshold is a score above 0 and at most 100; the HTTP
    matcher has an http(s) URL and a token."""
    name = matcher_name()
    if name not in MATCHERS:
        return [
            Error(f"HAWIYA_BIOMETRIC_MATCHER is {name!r}; it must be 'demo' or 'http'.", id="registry.E001")
        ]
    problems: list[CheckMessage] = []
    threshold = getattr(settings, "HAWIYA_BIOMETRIC_MATCH_THRESHOLD", None)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not math.isfinite(threshold)
        or not 0 < threshold <= MAX_SCORE
    ):
        problems.append(
            Error(
                f"HAWIYA_BIOMETRIC_MATCH_THRESHOLD is {threshold!r}; it must be a score above 0 and at "
                "most 100.",
                hint="Choose it from the matching system's error-rate tables (a higher score accepts "
                "fewer impostors and refuses more genuine persons).",
                id="registry.E005",
            )
        )
    if name != MATCHER_HTTP:
        return problems
    problems += outbound_url_problems(
        setting="HAWIYA_BIOMETRIC_MATCHER_URL",
        app="registry",
        missing="The HTTP fingerprint matcher is selected but HAWIYA_BIOMETRIC_MATCHER_URL is not set.",
        missing_hint="Set HAWIYA_BIOMETRIC_MATCHER_URL and HAWIYA_BIOMETRIC_MATCHER_TOKEN, or "
        "HAWIYA_BIOMETRIC_MATCHER=demo in demo mode.",
        plain_http="HAWIYA_BIOMETRIC_MATCHER_URL uses plain http: fingerprint templates and the token "
        "cross the network unencrypted.",
        plain_http_hint="Use the matching system's https endpoint.",
    )
    if not getattr(settings, "HAWIYA_BIOMETRIC_MATCHER_TOKEN", ""):
        problems.append(
            Error(
                "The HTTP fingerprint matcher is selected but HAWIYA_BIOMETRIC_MATCHER_TOKEN is not set.",
                hint="Take the token from the environment (never commit it).",
                id="registry.E004",
            )
        )
    return problems


def demo_biometric_matcher_only_in_demo_mode(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Deployment check: the demo matcher compares keyed hashes, which real prints never repeat (it
    would refuse everyone) and the demo scanner always repeats (it would accept anyone)."""
    if matcher_name() == MATCHER_DEMO and not getattr(settings, "DEMO", False):
        return [
            Error(
                "The demo fingerprint matcher is selected outside demo mode: fingerprints at the "
                "counter would not be compared as prints.",
                hint="Set HAWIYA_BIOMETRIC_MATCHER=http with HAWIYA_BIOMETRIC_MATCHER_URL and "
                "HAWIYA_BIOMETRIC_MATCHER_TOKEN (the ABIS).",
                id="registry.E006",
            )
        ]
    return []
