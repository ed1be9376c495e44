"""1:1 fingerprint verification: a `BiometricMatcher` enrols a template when biometrics are taken
and later compares a fresh capture (the probe) with that enrolment, answering a score from 0 to
100 and a decision against the configured threshold (HAWIYA_BIOMETRIC_MATCH_THRESHOLD).

Two matchers behind the same interface (HAWIYA_BIOMETRIC_MATCHER):

- "http": the automated biometric identification system (ABIS). Enrolling posts the template,
  `POST {url}/templates {"template_b64"}` → `{"reference"}`; verifying posts the reference and the
  probe, `POST {url}/verify {"reference", "template_b64"}` → `{"score"}`. Hawiya keeps only the
  reference: the templates live in the ABIS, which compares prints as prints.
- "demo": the reference is a keyed hash (HMAC-SHA256 with HAWIYA_FINGERPRINT_TEMPLATE_KEY) of the
  template and the score is 100 for the same hash, else 0. Real prints never give the same
  template twice, so only the deterministic demo scanner can match it: demo mode and tests only
  (a deployment check refuses it otherwise).

Neither the templates nor the ABIS's answers appear in an exception or a log line; a failure of
the ABIS is a `MatcherUnavailable` with a short reason ("timeout", "status", "malformed"…).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import re
import uuid
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ApplicationError
from hawiya.core.outbound import OutboundFailure, Partner, post_json

logger = logging.getLogger(__name__)

MATCHERS = ("demo", "http")
MATCHER_DEMO = "demo"
MATCHER_HTTP = "http"
BIOMETRIC_MATCHER_UNAVAILABLE = "biometric_matcher_unavailable"
# What an ABIS reference may look like: an opaque id, kept in BiometricCapture.template_reference.
REFERENCE_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
DEMO_REFERENCE_SHAPE = re.compile(r"[0-9a-f]{64}")
MIN_SCORE = 0.0
MAX_SCORE = 100.0
DEFAULT_THRESHOLD = 60.0
DEFAULT_TIMEOUT = 10.0
FIELD_FINGERPRINTS = "fingerprints"


@dataclass(frozen=True)
class Enrolment:
    """What is kept of an enrolled template: which matcher holds it, and its reference there."""

    matcher: str
    reference: str


@dataclass(frozen=True)
class Verification:
    """A 1:1 comparison's outcome: the score (0-100) and whether it reaches the threshold."""

    matcher: str
    score: float
    threshold: float

    @property
    def matched(self) -> bool:
        return self.score >= self.threshold

    @property
    def decision(self) -> str:
        return "match" if self.matched else "no_match"

    def audit_detail(self) -> dict[str, str]:
        """For the audit trail, which takes no floats: the numbers as text with two decimals."""
        return {
            "matcher": self.matcher,
            "score": f"{self.score:.2f}",
            "threshold": f"{self.threshold:.2f}",
            "decision": self.decision,
        }


class MatcherUnavailable(ApplicationError):
    """The ABIS did not answer usably; `extra["reason"]` says how. Not the person's failure: it is
    never counted as a failed fingerprint check."""

    status_code = 502


def _unavailable(reason: str, status: int | None = None) -> MatcherUnavailable:
    logger.warning("biometric matcher failed: %s%s", reason, f" {status}" if status is not None else "")
    return MatcherUnavailable(
        BIOMETRIC_MATCHER_UNAVAILABLE,
        _(
            "The fingerprint matching system did not answer properly, so nothing was saved. "
            "Try again in a moment; if it keeps failing, tell the office supervisor."
        ),
        field=FIELD_FINGERPRINTS,
        reason=reason,
    )


class BiometricMatcher(Protocol):
    name: str
    threshold: float

    def enrol(self, template: bytes) -> Enrolment:
        """Keep `template` with the matcher; returns what must be stored to compare with it later."""
        ...

    def verify(self, *, reference: str, probe: bytes) -> Verification:
        """Compare a fresh template with the enrolled `reference`."""
        ...


def template_hash(template: bytes) -> str:
    """HMAC-SHA256 of a template with HAWIYA_FINGERPRINT_TEMPLATE_KEY, hex: the demo reference."""
    key = str(settings.HAWIYA_FINGERPRINT_TEMPLATE_KEY).encode()
    return hmac.new(key, template, hashlib.sha256).hexdigest()


class DemoBiometricMatcher:
    """Equality of keyed hashes, scored 100 or 0 (see the module: demo scanner only)."""

    name = MATCHER_DEMO

    def __init__(self, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold

    def enrol(self, template: bytes) -> Enrolment:
        return Enrolment(matcher=self.name, reference=template_hash(template))

    def verify(self, *, reference: str, probe: bytes) -> Verification:
        same = bool(probe) and hmac.compare_digest(reference, template_hash(probe))
        return Verification(
            matcher=self.name, score=MAX_SCORE if same else MIN_SCORE, threshold=self.threshold
        )


class HttpBiometricMatcher:
    """The ABIS's JSON API (see the module), with a bearer token, each call bounded in time."""

    name = MATCHER_HTTP

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float = DEFAULT_TIMEOUT,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.threshold = threshold

    def _call(self, path: str, payload: dict[str, str]) -> dict[str, object]:
        if not self.base_url.startswith(("http://", "https://")):
            raise _unavailable("not_configured")
        try:
            raw = post_json(
                Partner.BIOMETRIC_MATCHER,
                f"{self.base_url}{path}",
                json.dumps(payload).encode(),
                token=self.token,
                idempotency_key=uuid.uuid4().hex,
                timeout=self.timeout,
            )
        except OutboundFailure as failure:
            raise _unavailable(failure.reason, failure.status) from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise _unavailable("malformed") from None
        if not isinstance(answer, dict):
            raise _unavailable("malformed")
        return answer

    def enrol(self, template: bytes) -> Enrolment:
        answer = self._call("/templates", {"template_b64": base64.b64encode(template).decode()})
        reference = answer.get("reference")
        if not isinstance(reference, str) or not REFERENCE_SHAPE.fullmatch(reference):
            raise _unavailable("malformed")
        return Enrolment(matcher=self.name, reference=reference)

    def verify(self, *, reference: str, probe: bytes) -> Verification:
        answer = self._call(
            "/verify", {"reference": reference, "template_b64": base64.b64encode(probe).decode()}
        )
        score = answer.get("score")
        if (
            isinstance(score, bool)
            or not isinstance(score, (int, float))
            or not math.isfinite(score)
            or not MIN_SCORE <= score <= MAX_SCORE
        ):
            raise _unavailable("malformed")
        return Verification(matcher=self.name, score=float(score), threshold=self.threshold)


def matcher_name() -> str:
    return str(getattr(settings, "HAWIYA_BIOMETRIC_MATCHER", "") or MATCHER_DEMO)


def match_threshold() -> float:
    return float(getattr(settings, "HAWIYA_BIOMETRIC_MATCH_THRESHOLD", DEFAULT_THRESHOLD))


def biometric_matcher() -> BiometricMatcher:
    """The matcher the settings choose (HAWIYA_BIOMETRIC_MATCHER: "demo" or "http")."""
    name = matcher_name()
    if name == MATCHER_DEMO:
        return DemoBiometricMatcher(threshold=match_threshold())
    if name == MATCHER_HTTP:
        return HttpBiometricMatcher(
            base_url=str(getattr(settings, "HAWIYA_BIOMETRIC_MATCHER_URL", "") or ""),
            token=str(getattr(settings, "HAWIYA_BIOMETRIC_MATCHER_TOKEN", "") or ""),
            timeout=float(getattr(settings, "HAWIYA_BIOMETRIC_MATCHER_TIMEOUT", DEFAULT_TIMEOUT)),
            threshold=match_threshold(),
        )
    raise ValueError(f"HAWIYA_BIOMETRIC_MATCHER must be 'demo' or 'http', not {name!r}")
