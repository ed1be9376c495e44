"""How often approvals may be asked for: per relying party (HAWIYA_APPROVALS_RATE_LIMIT a minute)
and per person (PERSON_LIMIT in PERSON_WINDOW_SECONDS, whichever party asks), so nobody can flood
a citizen's phone; and how often a party may ask about one request (POLL_LIMIT a minute). One
`RateLimit` each (core/ratelimit.py), windows aligned to the clock so the
answer can say when the next one opens (`Retry-After`). The waiting requests are limited too, in
the database (services.py): one per party and person, PENDING_PER_PERSON per person."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from django.conf import settings

from hawiya.core.errors import Throttled
from hawiya.core.ratelimit import RateLimit

from . import errors

PARTY_WINDOW_SECONDS = 60
PERSON_WINDOW_SECONDS = 600
PERSON_LIMIT = 10
# A party asking about one request: about once a second is plenty (it waits for a person's tap).
POLL_WINDOW_SECONDS = 60
POLL_LIMIT = 60


def wall_clock() -> float:
    """The time the windows are counted in (the tests hold it still)."""
    return time.time()


def _count(limit: RateLimit, key: str, *, refused: Callable[[int], Throttled] = errors.throttled) -> None:
    now = wall_clock()
    window = int(now // limit.window_seconds)
    decision = limit.hit(f"{key}:{window}")
    if not decision.allowed:
        raise refused(max(1, math.ceil((window + 1) * limit.window_seconds - now)))


def approvals_count(*, party_id: int, subject_key: str) -> None:
    """Count one request for the party and one for the person; raises Throttled (with the seconds
    until the window ends) past either limit. Refused requests count too."""
    _count(
        RateLimit(
            name="approvals:party",
            limit=int(settings.HAWIYA_APPROVALS_RATE_LIMIT),
            window_seconds=PARTY_WINDOW_SECONDS,
        ),
        str(party_id),
    )
    _count(
        RateLimit(name="approvals:person", limit=PERSON_LIMIT, window_seconds=PERSON_WINDOW_SECONDS),
        subject_key,
    )


def approval_poll_count(*, party_id: int, approval_id: str) -> None:
    """Count one question about request `approval_id` by the party; raises Throttled past POLL_LIMIT
    a minute (a party polling in a tight loop), with the seconds until the window ends."""
    _count(
        RateLimit(name="approvals:poll", limit=POLL_LIMIT, window_seconds=POLL_WINDOW_SECONDS),
        f"{party_id}:{approval_id[:64]}",
        refused=errors.polled_too_often,
    )
