"""Stable error codes of document-status checks, each with the message the party reads (in the
language of its `Accept-Language`, Arabic or English). An error that needs an HTTP header says so
in `headers` (the API copies them onto its answer)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ApplicationError, Throttled

BATCH_TOO_LARGE = "batch_too_large"
CHECKS_THROTTLED = "checks_throttled"


class BatchTooLarge(ApplicationError):
    status_code = 422


def batch_too_large(limit: int) -> BatchTooLarge:
    return BatchTooLarge(
        BATCH_TOO_LARGE,
        _("A batch may hold at most %(limit)d documents; send the others in another request.")
        % {"limit": limit},
        limit=limit,
    )


def checks_throttled(retry_after: int) -> Throttled:
    """The party checked more documents this minute than it may."""
    return Throttled(
        CHECKS_THROTTLED,
        _("Too many documents checked this minute. Try again after the time in Retry-After."),
        retry_after=retry_after,
    )
