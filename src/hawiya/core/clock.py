"""One place to ask the time, so tests can pin it and displays use Riyadh time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

RIYADH = ZoneInfo("Asia/Riyadh")


def now() -> dt.datetime:
    """The current aware datetime (UTC)."""
    return timezone.now()


def today() -> dt.date:
    """Today's date in Riyadh: the civil date citizens and officers see."""
    return timezone.now().astimezone(RIYADH).date()
