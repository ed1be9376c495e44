"""Stable error codes of document-status checks, each with the message the party reads (in the
language of its `Accept-Language`, Arabic or English). An error that needs an HTTP header says so
in `headers` (the API copies them onto its answer)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ApplicationError

TOKEN_MISSING = "token_missing"  # noqa: S105 (an error code)
TOKEN_INVALID = "token_invalid"  # noqa: S105
SCOPE_MISSING = "scope_missing"
BATCH_TOO_LARGE = "batch_too_large"
CHECKS_THROTTLED = "checks_throttled"


class TokenRefused(ApplicationError):
    """No bearer token, or one that is unknown, expired, revoked or its party's suspended (RFC 6750
    §3: 401 with a `WWW-Authenticate: Bearer` challenge)."""

    status_code = 401

    @property
    def headers(self) -> dict[str, str]:
        if self.code == TOKEN_MISSING:
            return {"WWW-Authenticate": 'Bearer realm="hawiya"'}
        return {"WWW-Authenticate": 'Bearer realm="hawiya", error="invalid_token"'}


class ScopeMissing(ApplicationError):
    """A valid token without the scope this endpoint needs (RFC 6750 §3.1: 403)."""

    status_code = 403

    @property
    def headers(self) -> dict[str, str]:
        scope = str(self.extra.get("scope", ""))
        return {"WWW-Authenticate": f'Bearer realm="hawiya", error="insufficient_scope", scope="{scope}"'}


class BatchTooLarge(ApplicationError):
    status_code = 422


class ChecksThrottled(ApplicationError):
    """The party checked more documents this minute than it may; `retry_after` seconds until the
    window ends."""

    status_code = 429

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(int(self.extra.get("retry_after", 60)))}


def token_missing() -> TokenRefused:
    return TokenRefused(TOKEN_MISSING, _("Send an access token: Authorization: Bearer <token>."))


def token_invalid() -> TokenRefused:
    return TokenRefused(
        TOKEN_INVALID, _("The access token is not valid: it is unknown, expired or revoked. Get a new one.")
    )


def scope_missing(scope: str) -> ScopeMissing:
    return ScopeMissing(
        SCOPE_MISSING, _("This access token does not allow document-status checks."), scope=scope
    )


def batch_too_large(limit: int) -> BatchTooLarge:
    return BatchTooLarge(
        BATCH_TOO_LARGE,
        _("A batch may hold at most %(limit)d documents; send the others in another request.")
        % {"limit": limit},
        limit=limit,
    )


def checks_throttled(retry_after: int) -> ChecksThrottled:
    return ChecksThrottled(
        CHECKS_THROTTLED,
        _("Too many documents checked this minute. Try again after the time in Retry-After."),
        retry_after=retry_after,
    )
