"""How many documents one relying party may check per minute (HAWIYA_DOCUMENT_STATUS_RATE_LIMIT).

One `RateLimit` (core/ratelimit.py), keyed by the party and the minute of the clock: the windows
are aligned to the clock rather than opened by the first check, so the answer can say exactly
when the next one opens (`Retry-After`). A batch counts each of its documents.
"""

from __future__ import annotations

import math
import time

from django.conf import settings

from hawiya.core.ratelimit import RateLimit

from . import errors

WINDOW_SECONDS = 60


def party_allowance() -> RateLimit:
    return RateLimit(
        name="document_checks:party",
        limit=int(settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT),
        window_seconds=WINDOW_SECONDS,
    )


def checks_count(*, party_id: int, documents: int) -> None:
    """Count `documents` checks for the party; raises Throttled (with the seconds until the
    window ends) when they go past the limit. Refused checks count too: a party that keeps
    knocking stays refused until the window ends."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    decision = party_allowance().hit(f"{party_id}:{window}", cost=documents)
    if not decision.allowed:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise errors.checks_throttled(retry_after)
