"""Idempotency keys (docs/design.md §5): the same key returns the first result; the same key with a
different request is refused.

Each creating model stores the key the page or client sent and a fingerprint of what was asked;
its service looks the key up first (under the owner's row lock or a unique constraint) and calls
`check_same_request` when it finds one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

from .errors import ApplicationError

IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
# A UUID from a hidden form field, or a client's Idempotency-Key header (printable, bounded).
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")


def idempotency_key_checked(key: str) -> str:
    """The key as given, or ApplicationError: a page that lost its key must be reloaded."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ApplicationError(
            IDEMPOTENCY_KEY_INVALID,
            _("This form has expired. Go back, reload the page and try again."),
        )
    return key


def request_fingerprint(payload: Mapping[str, object]) -> str:
    """A stable SHA-256 of what was asked (canonical JSON; values turned to text)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_same_request(stored_fingerprint: str, payload: Mapping[str, object]) -> None:
    """Refuse a key that was first used for a different request."""
    if stored_fingerprint != request_fingerprint(payload):
        raise ApplicationError(
            IDEMPOTENCY_KEY_REUSED,
            _("This form was already sent with different answers. Start again from the beginning."),
        )
