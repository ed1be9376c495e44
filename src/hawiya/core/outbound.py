"""One way to call an outside party's JSON API (SMS operator, payment gateway, courier): a POST
with a bearer token and an idempotency key, bounded in time and size, never following redirects.

Callers turn an `OutboundFailure` into their own error: a non-2xx status (`status` set) or a
transport failure (`reason`: "timeout", "unreachable", "connection_error"), which may be retried
with the same idempotency key.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

MAX_RESPONSE_BYTES = 64 * 1024


class OutboundFailure(Exception):
    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason if status is None else f"{reason} {status}")
        self.reason = reason
        self.status = status


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a 30x with our bearer token to wherever it points. A partner API has
    # no business redirecting a POST, so the 30x is returned as an error instead.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirects())


def post_json(
    director: urllib.request.OpenerDirector,
    url: str,
    body: bytes,
    *,
    token: str,
    idempotency_key: str,
    timeout: float,
) -> bytes:
    """POST `body` (JSON) to `url`; the answer's first MAX_RESPONSE_BYTES, or OutboundFailure."""
    request = urllib.request.Request(  # noqa: S310  (the scheme is checked by each system check)
        url,
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "Idempotency-Key": idempotency_key,
        },
    )
    try:
        with director.open(request, timeout=timeout) as response:
            status = response.status
            raw: bytes = response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise OutboundFailure("status", exc.code) from None
    except TimeoutError:
        raise OutboundFailure("timeout") from None
    except urllib.error.URLError as exc:
        raise OutboundFailure("timeout" if isinstance(exc.reason, TimeoutError) else "unreachable") from None
    except (OSError, HTTPException):
        # Connection reset mid-answer, malformed status line…: the call may or may not have been
        # accepted; retrying with the same idempotency key is safe.
        raise OutboundFailure("connection_error") from None
    if not 200 <= status < 300:
        raise OutboundFailure("status", status)
    return raw


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
