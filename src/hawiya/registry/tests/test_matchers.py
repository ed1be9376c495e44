"""The fingerprint matchers: the decision against the threshold, the demo matcher, the HTTP
adapter of the ABIS against a real local server (success, timeouts, error statuses, malformed
answers: each a clear error, never a 500), the settings, the system checks, and what a capture
keeps when the ABIS enrols it."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.checks import run_checks
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.registry.biometrics import DemoFingerprintScanner, FingerprintCapture, biometrics_record
from hawiya.registry.matchers import (
    DemoBiometricMatcher,
    HttpBiometricMatcher,
    MatcherUnavailable,
    Verification,
    biometric_matcher,
    template_hash,
)
from hawiya.registry.models import BiometricCapture

from .abis import TOKEN, Abis, running_abis, use_abis
from .factories import make_office, make_person, portrait_photo

TEMPLATE = bytes(range(256)) * 2
PROBE = b"a fresh capture of the same finger"


@pytest.fixture
def abis() -> Iterator[Abis]:
    with running_abis() as server:
        yield server


@pytest.fixture
def abis_matcher(abis: Abis, settings: Any) -> Abis:
    return use_abis(settings, abis)


def http(abis: Abis, *, threshold: float = 60.0, timeout: float = 2.0) -> HttpBiometricMatcher:
    return HttpBiometricMatcher(base_url=abis.url + "/", token=TOKEN, timeout=timeout, threshold=threshold)


# --- The decision ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "matched", "decision"),
    [(59.99, False, "no_match"), (60.0, True, "match"), (60.01, True, "match"), (0.0, False, "no_match")],
)
def test_a_score_at_or_over_the_threshold_is_a_match_and_under_it_is_not(
    score: float, matched: bool, decision: str
) -> None:
    verification = Verification(matcher="http", score=score, threshold=60.0)
    assert verification.matched is matched
    assert verification.decision == decision


def test_the_audit_detail_has_the_score_and_the_decision_as_text() -> None:
    # The audit trail takes no floats (their text may not survive jsonb).
    assert Verification(matcher="http", score=87.256, threshold=60).audit_detail() == {
        "matcher": "http",
        "score": "87.26",
        "threshold": "60.00",
        "decision": "match",
    }


@pytest.mark.parametrize(
    ("score", "threshold", "matched"),
    [(59, 60.0, False), (60, 60.0, True), (61, 60.0, True), (72.5, 72.5, True), (72.4, 72.5, False)],
)
def test_the_http_matcher_decides_against_its_threshold(
    abis: Abis, score: float, threshold: float, matched: bool
) -> None:
    abis.scores(score)
    verification = http(abis, threshold=threshold).verify(reference="abis-ref-0001", probe=PROBE)
    assert (verification.score, verification.threshold, verification.matched) == (score, threshold, matched)


# --- The demo matcher ------------------------------------------------------------------------------


def test_the_demo_matcher_enrols_a_keyed_hash_and_scores_100_or_0(settings: Any) -> None:
    matcher = DemoBiometricMatcher(threshold=60)
    template = DemoFingerprintScanner().capture(subject_hint="7").template
    enrolment = matcher.enrol(template)
    assert (enrolment.matcher, enrolment.reference) == ("demo", template_hash(template))
    assert template.hex() not in enrolment.reference

    same = matcher.verify(reference=enrolment.reference, probe=template)
    other = matcher.verify(
        reference=enrolment.reference, probe=DemoFingerprintScanner().capture(subject_hint="8").template
    )
    assert (same.score, same.matched) == (100.0, True)
    assert (other.score, other.matched) == (0.0, False)
    assert not matcher.verify(reference=enrolment.reference, probe=b"").matched
    # The hash is keyed: another key, another reference.
    settings.HAWIYA_FINGERPRINT_TEMPLATE_KEY = "another key"
    assert matcher.enrol(template).reference != enrolment.reference


# --- The ABIS over HTTP ----------------------------------------------------------------------------


def test_enrolling_posts_the_template_with_the_token_and_keeps_the_reference(abis: Abis) -> None:
    abis.enrol_answer = json.dumps({"reference": "tmpl:2026.ABC-42"}).encode()
    enrolment = http(abis).enrol(TEMPLATE)
    assert (enrolment.matcher, enrolment.reference) == ("http", "tmpl:2026.ABC-42")
    path, headers, body = abis.received[0]
    assert path == "/templates"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Idempotency-Key"]
    assert body == {"template_b64": base64.b64encode(TEMPLATE).decode()}


def test_a_reference_the_database_could_not_keep_is_refused(abis: Abis) -> None:
    for reference in ["tmpl:2026/ABC-42", "", "x" * 129, 42, None, "a b"]:
        abis.enrol_answer = json.dumps({"reference": reference}).encode()
        with pytest.raises(MatcherUnavailable) as caught:
            http(abis).enrol(TEMPLATE)
        assert caught.value.extra["reason"] == "malformed"
    abis.enrol_answer = json.dumps({"reference": "tmpl:2026.ABC-42_x"}).encode()
    assert http(abis).enrol(TEMPLATE).reference == "tmpl:2026.ABC-42_x"


def test_verifying_posts_the_reference_and_the_probe(abis: Abis) -> None:
    abis.scores(91.5)
    verification = http(abis).verify(reference="abis-ref-0001", probe=PROBE)
    assert verification == Verification(matcher="http", score=91.5, threshold=60.0)
    path, headers, body = abis.received[0]
    assert path == "/verify"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert body == {"reference": "abis-ref-0001", "template_b64": base64.b64encode(PROBE).decode()}


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        b"",
        b"[90]",
        b"{}",
        b'{"score": "90"}',
        b'{"score": true}',
        b'{"score": null}',
        b'{"score": NaN}',
        b'{"score": 100.5}',
        b'{"score": -1}',
    ],
)
def test_a_malformed_answer_is_a_clear_error(abis: Abis, answer: bytes) -> None:
    abis.verify_answer = answer
    with pytest.raises(MatcherUnavailable) as caught:
        http(abis).verify(reference="abis-ref-0001", probe=PROBE)
    assert caught.value.code == "biometric_matcher_unavailable"
    assert caught.value.extra["reason"] == "malformed"
    assert caught.value.field == "fingerprints"
    assert caught.value.status_code == 502
    with translation.override("en"):
        assert "did not answer properly" in str(caught.value.message)


@pytest.mark.parametrize("status", [400, 401, 404, 422, 500, 503])
def test_an_error_status_is_a_clear_error(abis: Abis, status: int) -> None:
    abis.status = status
    abis.verify_answer = b'{"error": "unknown reference"}'
    with pytest.raises(MatcherUnavailable) as caught:
        http(abis).verify(reference="abis-ref-0001", probe=PROBE)
    assert caught.value.extra["reason"] == "status"
    with pytest.raises(MatcherUnavailable):
        http(abis).enrol(TEMPLATE)


def test_an_abis_that_does_not_answer_in_time_is_a_clear_error(abis: Abis) -> None:
    abis.stall = True
    with pytest.raises(MatcherUnavailable) as caught:
        http(abis, timeout=0.3).verify(reference="abis-ref-0001", probe=PROBE)
    assert caught.value.extra["reason"] == "timeout"


def test_an_unreachable_or_unconfigured_abis_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = HttpBiometricMatcher(base_url=f"http://127.0.0.1:{port}", token=TOKEN, timeout=1)
    with pytest.raises(MatcherUnavailable) as caught:
        closed.verify(reference="abis-ref-0001", probe=PROBE)
    assert caught.value.extra["reason"] == "unreachable"
    with pytest.raises(MatcherUnavailable) as caught:
        HttpBiometricMatcher(base_url="", token=TOKEN).enrol(TEMPLATE)
    assert caught.value.extra["reason"] == "not_configured"


def test_no_template_or_answer_reaches_the_log(abis: Abis, caplog: pytest.LogCaptureFixture) -> None:
    abis.verify_answer = b'{"score": "secret-looking answer"}'
    with pytest.raises(MatcherUnavailable):
        http(abis).verify(reference="abis-ref-0001", probe=PROBE)
    logged = caplog.text
    assert "matcher failed: malformed" in logged
    assert "secret-looking" not in logged
    assert base64.b64encode(PROBE).decode() not in logged


# --- The settings and the system checks ------------------------------------------------------------


def test_the_settings_choose_the_matcher(settings: Any) -> None:
    settings.HAWIYA_BIOMETRIC_MATCHER = "demo"
    settings.HAWIYA_BIOMETRIC_MATCH_THRESHOLD = 75.0
    demo = biometric_matcher()
    assert isinstance(demo, DemoBiometricMatcher)
    assert demo.threshold == 75.0
    settings.HAWIYA_BIOMETRIC_MATCHER = "http"
    settings.HAWIYA_BIOMETRIC_MATCHER_URL = "https://abis.example/api/"
    settings.HAWIYA_BIOMETRIC_MATCHER_TOKEN = "t"
    settings.HAWIYA_BIOMETRIC_MATCHER_TIMEOUT = 4.0
    chosen = biometric_matcher()
    assert isinstance(chosen, HttpBiometricMatcher)
    assert (chosen.base_url, chosen.token, chosen.timeout, chosen.threshold) == (
        "https://abis.example/api",
        "t",
        4.0,
        75.0,
    )
    settings.HAWIYA_BIOMETRIC_MATCHER = "usb"
    with pytest.raises(ValueError, match="usb"):
        biometric_matcher()


def _ids(*, deploy: bool = False) -> set[str]:
    return {
        str(message.id)
        for message in run_checks(include_deployment_checks=deploy)
        if str(message.id).startswith("registry.")
    }


def _abis_settings(settings: Any) -> None:
    settings.HAWIYA_BIOMETRIC_MATCHER = "http"
    settings.HAWIYA_BIOMETRIC_MATCHER_URL = "https://abis.example/api"
    settings.HAWIYA_BIOMETRIC_MATCHER_TOKEN = "t"
    settings.HAWIYA_BIOMETRIC_MATCH_THRESHOLD = 60.0


def test_a_configured_abis_passes_the_checks(settings: Any) -> None:
    _abis_settings(settings)
    settings.DEMO = False
    assert _ids(deploy=True) == set()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"HAWIYA_BIOMETRIC_MATCHER": "usb"}, "registry.E001"),
        ({"HAWIYA_BIOMETRIC_MATCHER_URL": ""}, "registry.E002"),
        ({"HAWIYA_BIOMETRIC_MATCHER_URL": "ftp://abis.example"}, "registry.E003"),
        ({"HAWIYA_BIOMETRIC_MATCHER_URL": "http://abis.example"}, "registry.W001"),
        ({"HAWIYA_BIOMETRIC_MATCHER_TOKEN": ""}, "registry.E004"),
        ({"HAWIYA_BIOMETRIC_MATCH_THRESHOLD": 0.0}, "registry.E005"),
        ({"HAWIYA_BIOMETRIC_MATCH_THRESHOLD": 100.5}, "registry.E005"),
        ({"HAWIYA_BIOMETRIC_MATCH_THRESHOLD": float("nan")}, "registry.E005"),
    ],
)
def test_a_misconfigured_matcher_is_refused_at_start(
    settings: Any, change: dict[str, Any], expected: str
) -> None:
    _abis_settings(settings)
    for name, value in change.items():
        setattr(settings, name, value)
    assert expected in _ids()


def test_the_demo_matcher_is_refused_outside_demo_mode(settings: Any) -> None:
    settings.HAWIYA_BIOMETRIC_MATCHER = "demo"
    settings.DEMO = False
    assert "registry.E006" in _ids(deploy=True)
    assert "registry.E006" not in _ids()  # a deployment check, like hawiya.E003 for the demo scanner
    settings.DEMO = True
    assert "registry.E006" not in _ids(deploy=True)


# --- A capture enrolled by the ABIS ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_capture_keeps_the_abis_reference_and_never_the_template(abis_matcher: Abis) -> None:
    person, office = make_person(), make_office()
    fingerprints = FingerprintCapture(
        template=TEMPLATE, quality=80, finger_count=10, device_id="scanner-1", device_model="Model"
    )
    capture = biometrics_record(
        person_id=person.pk,
        office=office,
        photo=portrait_photo(),
        fingerprints=fingerprints,
        actor=Actor.staff(7, role="officer", office_code=office.code),
    )
    capture.refresh_from_db()
    assert (capture.matcher, capture.template_reference) == ("http", "abis-ref-0001")
    assert abis_matcher.templates_sent() == [TEMPLATE]
    stored = json.dumps(
        list(BiometricCapture.objects.filter(pk=capture.pk).values().get().values()), default=str
    )
    for form in (TEMPLATE.hex(), base64.b64encode(TEMPLATE).decode(), template_hash(TEMPLATE)):
        assert form not in stored


@pytest.mark.django_db
def test_nothing_is_kept_when_the_abis_cannot_enrol(abis_matcher: Abis) -> None:
    person, office = make_person(), make_office()
    abis_matcher.status = 503
    with pytest.raises(MatcherUnavailable):
        biometrics_record(
            person_id=person.pk,
            office=office,
            photo=portrait_photo(),
            fingerprints=DemoFingerprintScanner().capture(subject_hint="1"),
            actor=Actor.staff(7, role="officer", office_code=office.code),
        )
    assert not BiometricCapture.objects.exists()
    person.refresh_from_db()
    assert person.biometrics_captured_on is None
