"""Callback signatures: HMAC-SHA256 over "<timestamp>.<body>", five minutes either way."""

from __future__ import annotations

import datetime as dt

import pytest

from hawiya.core import clock
from hawiya.payments.gateways import SignatureInvalid, sign, signature_header, verify

SECRET = "s3cret"
BODY = b'{"event_id": "evt_1", "bill_number": "123456789012"}'


def _reason(body: bytes, header: str, *, secret: str = SECRET, now: dt.datetime | None = None) -> str:
    with pytest.raises(SignatureInvalid) as caught:
        verify(body, header, secret, now=now)
    return caught.value.reason


def test_sign_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, "1700000000", SECRET) == expected


def test_good_signature_is_accepted() -> None:
    verify(BODY, signature_header(BODY, SECRET), SECRET)


def test_any_of_several_v1_entries_may_match_while_a_secret_is_rotated() -> None:
    header = signature_header(BODY, SECRET)
    timestamp = header.split(",")[0]
    old = f"v1={sign(BODY, timestamp[2:], 'old-secret')}"
    verify(BODY, f"{timestamp},{old},{header.split(',')[1]}", SECRET)


def test_wrong_secret_is_refused() -> None:
    assert _reason(BODY, signature_header(BODY, "another")) == "mismatch"


def test_tampered_body_is_refused() -> None:
    header = signature_header(BODY, SECRET)
    assert _reason(BODY.replace(b"789012", b"789013"), header) == "mismatch"


def test_old_timestamp_is_refused_and_a_fresh_one_accepted() -> None:
    now = clock.now()
    assert _reason(
        BODY, signature_header(BODY, SECRET, at=now - dt.timedelta(minutes=5, seconds=2)), now=now
    ) == ("stale")
    assert _reason(BODY, signature_header(BODY, SECRET, at=now + dt.timedelta(minutes=6)), now=now) == "stale"
    verify(
        BODY, signature_header(BODY, SECRET, at=now - dt.timedelta(minutes=4, seconds=58)), SECRET, now=now
    )


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "missing"),
        ("v1=abc", "malformed"),
        ("t=abc,v1=abc", "malformed"),
        ("t=1700000000", "malformed"),
        ("t=١٧٠٠٠٠٠٠٠٠,v1=abc", "malformed"),
    ],
)
def test_missing_or_malformed_header_is_refused(header: str, reason: str) -> None:
    assert _reason(BODY, header) == reason


def test_an_empty_secret_verifies_nothing() -> None:
    assert _reason(BODY, signature_header(BODY, ""), secret="") == "no_secret"
