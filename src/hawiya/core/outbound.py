"""One way to call an outside party's JSON API (SMS operator, payment gateway, courier, biometric
system, and the relying parties' callbacks to come): a POST with a bearer token and an idempotency
key, bounded in time and size, never following redirects, over a pooled connection per partner.

Callers turn an `OutboundFailure` into their own error: a non-2xx status (`status` set; `classify`
says whether it is worth retrying, from the one table of per-partner differences, STATUS_RULES) or
a transport failure (`reason`: "timeout", "unreachable", "connection_error"), which may be retried
with the same idempotency key.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from urllib.parse import urlencode, urlsplit

import httpx
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

MAX_RESPONSE_BYTES = 64 * 1024
MAX_ERROR_BODY_BYTES = 4 * 1024


class Partner(StrEnum):
    """The outside systems we call; each has its own connection pool and its row in STATUS_RULES."""

    SMS_OPERATOR = "sms_operator"
    PAYMENT_GATEWAY = "payment_gateway"
    COURIER = "courier"
    BIOMETRIC_MATCHER = "biometric_matcher"
    SCANNER_BRIDGE = "scanner_bridge"
    # A bank's or agency's back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0).
    RELYING_PARTY = "relying_party"


class OutboundFailure(Exception):
    def __init__(self, reason: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(reason if status is None else f"{reason} {status}")
        self.reason = reason
        self.status = status
        # The start of a non-2xx answer's body (a push receiver's error, RFC 8935 §2.3).
        self.body = body


# --- The pooled clients ----------------------------------------------------------------------------

# The default bound of one call; each call passes its partner's configured timeout.
DEFAULT_TIMEOUT = httpx.Timeout(10.0)
# A partner is called by a handful of workers at a time; a few kept-alive connections suffice.
POOL_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=5, keepalive_expiry=30.0)

_clients: dict[str, httpx.Client] = {}
_clients_lock = threading.Lock()


def _forget_clients() -> None:
    # A forked worker (gunicorn) must not share its parent's sockets: it opens its own.
    global _clients_lock
    _clients.clear()
    _clients_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_clients)


def client(partner: str) -> httpx.Client:
    """The partner's pooled client, made on first use and reused by every later call."""
    pooled = _clients.get(partner)
    if pooled is not None:
        return pooled
    with _clients_lock:
        pooled = _clients.get(partner)
        if pooled is None:
            pooled = httpx.Client(
                timeout=DEFAULT_TIMEOUT,
                limits=POOL_LIMITS,
                # A partner API has no business redirecting a POST, and following it would carry
                # our bearer token to wherever it points: a 30x is a failure with its status.
                follow_redirects=False,
            )
            _clients[partner] = pooled
        return pooled


def close_clients() -> None:
    """Close every pooled connection (tests, shutdown); the next call opens new ones."""
    with _clients_lock:
        for pooled in _clients.values():
            pooled.close()
        _clients.clear()


def post_json(
    partner: str,
    url: str,
    body: bytes,
    *,
    token: str,
    idempotency_key: str,
    timeout: float,
) -> bytes:
    """POST `body` (JSON) to `url`; the answer's first MAX_RESPONSE_BYTES, or OutboundFailure."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Accept": "application/json",
        # The size cap counts the bytes we read; a compressed answer could hide many more.
        "Accept-Encoding": "identity",
        "Idempotency-Key": idempotency_key,
    }
    if token:
        # No token (the workstation's scanner bridge): no header, since "Bearer " with nothing after
        # it is not a valid header value.
        headers["Authorization"] = f"Bearer {token}"
    return _post(partner, url, body, headers, timeout)


def post_form(partner: str, url: str, fields: Mapping[str, str], *, timeout: float) -> bytes:
    """POST `fields` as application/x-www-form-urlencoded (a back-channel logout token), with no
    credentials of ours; the answer's first MAX_RESPONSE_BYTES, or OutboundFailure, as post_json."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept-Encoding": "identity",
    }
    return _post(partner, url, urlencode(dict(fields)).encode(), headers, timeout)


def post_token(partner: str, url: str, token: str, *, content_type: str, timeout: float) -> bytes:
    """POST a signed token as the whole body (a Security Event Token, RFC 8935: content type
    application/secevent+jwt), with no credentials of ours; the answer's first MAX_RESPONSE_BYTES,
    or OutboundFailure (with the start of the error body), as post_json."""
    headers = {
        "Content-Type": content_type,
        "Accept": "application/json",
        "Accept-Encoding": "identity",
    }
    return _post(partner, url, token.encode("ascii"), headers, timeout)


def _error_body(response: httpx.Response) -> bytes:
    raw = bytearray()
    try:
        for chunk in response.iter_bytes():
            raw += chunk
            if len(raw) >= MAX_ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass
    return bytes(raw[:MAX_ERROR_BODY_BYTES])


def _post(partner: str, url: str, body: bytes, headers: dict[str, str], timeout: float) -> bytes:
    try:
        with client(partner).stream(
            "POST", url, content=body, headers=headers, timeout=httpx.Timeout(timeout)
        ) as response:
            if not 200 <= response.status_code < 300:
                raise OutboundFailure("status", response.status_code, _error_body(response))
            raw = bytearray()
            for chunk in response.iter_bytes():
                raw += chunk
                if len(raw) >= MAX_RESPONSE_BYTES:
                    break
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        # Not an outage: a URL that is no http(s) URL (the system checks refuse it at start-up).
        raise ValueError(f"not an http(s) URL: {type(exc).__name__}") from None
    except httpx.TimeoutException:
        raise OutboundFailure("timeout") from None
    except httpx.ConnectError:
        raise OutboundFailure("unreachable") from None
    except httpx.TransportError:
        # Connection reset mid-answer, malformed status line…: the call may or may not have been
        # accepted; retrying with the same idempotency key is safe.
        raise OutboundFailure("connection_error") from None
    return bytes(raw[:MAX_RESPONSE_BYTES])


# --- One classification of a partner's error statuses ------------------------------------------------


class Outcome(StrEnum):
    RETRY = "retry"  # the same request may succeed later (outage, throttling, a key in flight)
    PERMANENT = "permanent"  # this request, as sent, will never be accepted


@dataclass(frozen=True)
class Verdict:
    """What a status means for one partner: retry or not, and the word in the caller's error code
    (`<prefix>_<kind>_<status>`, e.g. "gateway_credentials_401"; no word: "operator_408")."""

    outcome: Outcome
    kind: str

    @property
    def permanent(self) -> bool:
        return self.outcome is Outcome.PERMANENT

    def code(self, prefix: str, status: int) -> str:
        return "_".join(part for part in (prefix, self.kind, str(status)) if part)


@dataclass(frozen=True)
class StatusRules:
    """Statuses named one by one, then every 5xx, then any other status."""

    exact: Mapping[int, Verdict] = field(default_factory=dict)
    server_error: Verdict | None = None
    otherwise: Verdict | None = None


# Our token refused: every call fails until someone fixes the configuration (callers log an error).
CREDENTIAL_STATUSES = frozenset({401, 403})

_RETRY_UNAVAILABLE = Verdict(Outcome.RETRY, "unavailable")
_REFUSED = Verdict(Outcome.PERMANENT, "refused")

# The default: only an answer about the request itself (400, 404, 422…, and a 3xx, never followed)
# is a refusal. Our credentials refused (someone will fix them) and 409 (the same idempotency key
# still in flight) may succeed later, like an outage or throttling (408, 425, 429, 5xx).
DEFAULT_RULES = StatusRules(
    exact={
        401: Verdict(Outcome.RETRY, "credentials"),
        403: Verdict(Outcome.RETRY, "credentials"),
        409: Verdict(Outcome.RETRY, "in_flight"),
        408: _RETRY_UNAVAILABLE,
        425: _RETRY_UNAVAILABLE,
        429: _RETRY_UNAVAILABLE,
    },
    server_error=_RETRY_UNAVAILABLE,
    otherwise=_REFUSED,
)

_SMS_REJECTED = Verdict(Outcome.PERMANENT, "rejected")

# Where a partner departs from the default; its `exact` entries are laid over the default's. The
# departures are kept as they were when the three clients classified for themselves. Those that
# look accidental rather than chosen (to be decided, not changed silently in a refactor):
# - SMS 401/403: permanent, so a wrong token fails every queued message (one-time codes included)
#   at once, where the gateway and the courier retry until the configuration is fixed;
# - SMS 409: permanent, though the operator de-duplicates on our reference and a 409 most likely
#   means "this reference is still in flight", which the gateway and the courier retry;
# - SMS 3xx and unlisted 4xx (402, 411, 414…): retried as "unexpected", where the gateway and the
#   courier treat them as a refusal of the request.
# The biometric matcher and the scanner bridge have no row: a person waits at the counter for them,
# so any failure is reported at once and nothing is retried.
STATUS_RULES: Mapping[str, StatusRules] = MappingProxyType(
    {
        Partner.SMS_OPERATOR: StatusRules(
            exact={
                **dict.fromkeys((400, 401, 403, 404, 405, 409, 410, 413, 415, 422), _SMS_REJECTED),
                408: Verdict(Outcome.RETRY, ""),
                425: Verdict(Outcome.RETRY, ""),
                429: Verdict(Outcome.RETRY, "throttled"),
            },
            otherwise=Verdict(Outcome.RETRY, "unexpected"),
        ),
    }
)


def classify(partner: str, status: int) -> Verdict:
    """What a non-2xx `status` from `partner` means: the partner's row in STATUS_RULES, else the
    default."""
    rules = STATUS_RULES.get(partner, DEFAULT_RULES)
    verdict = rules.exact.get(status) or DEFAULT_RULES.exact.get(status)
    if verdict is not None:
        return verdict
    if status >= 500:
        return rules.server_error or _RETRY_UNAVAILABLE
    return rules.otherwise or _REFUSED


# --- The system checks of a partner's URL ---------------------------------------------------------

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def outbound_url_problems(
    *, setting: str, app: str, missing: str, missing_hint: str, plain_http: str, plain_http_hint: str
) -> list[CheckMessage]:
    """The system-check messages about an outside system's base URL (the SMS operator, the payment
    gateway, the courier), with the same ids in every app: `<app>.E002` not set (`missing`),
    `<app>.E003` not an http(s) URL, `<app>.W001` plain http to a host that is not this machine."""
    url = str(getattr(settings, setting, "") or "")
    parts = urlsplit(url)
    if not url:
        return [Error(missing, hint=missing_hint, id=f"{app}.E002")]
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return [Error(f"{setting} must be an http(s) URL.", id=f"{app}.E003")]
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        return [Warning(plain_http, hint=plain_http_hint, id=f"{app}.W001")]
    return []
