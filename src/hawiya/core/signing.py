"""Signed messages between Hawiya and a partner (the payment gateway's callbacks, the courier's
API calls): HMAC-SHA256 under a shared secret over `<timestamp>.<message>`, sent as
`X-Hawiya-Signature: t=<unix seconds>,v1=<hex>` and refused more than five minutes from now.

The message is what each side signs: the payment callback signs its raw body; the courier signs
`<METHOD>.<path>.<body>` (`request_message`), so a signature for one endpoint or method cannot be
replayed against another. Several `v1=` entries are allowed (a sender signs with the old and the
new secret while one is rotated), and a receiver may accept several secrets (the current one and
the previous one). Every comparison takes constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence

from . import clock

SIGNATURE_HEADER = "X-Hawiya-Signature"
SIGNATURE_TOLERANCE = dt.timedelta(minutes=5)
MAX_HEADER_LENGTH = 1024


class SignatureInvalid(Exception):
    """The signature is missing, malformed, stale or wrong; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(message: bytes, timestamp: str, secret: str) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<message>` under `secret`."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + message, hashlib.sha256).hexdigest()


def request_message(method: str, path: str, body: bytes) -> bytes:
    """What a signed API request signs: `<METHOD>.<path>.<body>` (path with its query string)."""
    return f"{method.upper()}.{path}.".encode() + body


def signature_header(message: bytes, secret: str, *, at: dt.datetime | None = None) -> str:
    """The `X-Hawiya-Signature` value a sender sends with `message`."""
    timestamp = str(int((at or clock.now()).timestamp()))
    return f"t={timestamp},v1={sign(message, timestamp, secret)}"


def verify(
    message: bytes,
    header: str,
    secret: str | Sequence[str],
    *,
    now: dt.datetime | None = None,
    tolerance: dt.timedelta = SIGNATURE_TOLERANCE,
) -> None:
    """Accept `message` only with a fresh signature by `secret` (or any of several secrets),
    else raise SignatureInvalid with reason no_secret, missing, malformed, stale or mismatch."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    secrets = [value for value in secrets if value]
    if not secrets:
        raise SignatureInvalid("no_secret")
    if not header or len(header) > MAX_HEADER_LENGTH:
        raise SignatureInvalid("missing")
    timestamp = ""
    candidates: list[str] = []
    for part in header.split(","):
        name, _sep, value = part.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            candidates.append(value)
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12 or not candidates:
        raise SignatureInvalid("malformed")
    moment = (now or clock.now()).timestamp()
    if abs(moment - int(timestamp)) > tolerance.total_seconds():
        raise SignatureInvalid("stale")
    matched = False
    # Every secret against every candidate, without stopping early: the time taken does not
    # tell which secret or which entry matched.
    for value in secrets:
        expected = sign(message, timestamp, value).encode()
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise SignatureInvalid("mismatch")
