"""Counters that slow guessing down: per account (database), per IP (cache), per code quota.

- Per account: `SignInGuard.failures` counts wrong passwords and wrong codes together; the 10th
  locks the account for 10 minutes. It is changed by ONE atomic `UPDATE … RETURNING` statement,
  so parallel wrong guesses are all counted and exactly one of them sees the lock happen.
- Per IP (an IPv6 client per /64): failures and unauthenticated starts in the cache, each a
  fixed-window `RateLimit` (core/ratelimit.py: atomic on Redis; the local-memory cache is per
  process, so use Redis with several processes).
- Per account or ID number: at most 5 code sends an hour (`CodeSendQuota`, row-locked).

The failure counter is never reset by a resend (NIST SP 800-63B-4): only a complete successful
sign-in resets it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from hawiya.core.ratelimit import RateLimit

from . import errors
from .models import CodeSendQuota, SignInGuard

FAILURE_LIMIT = 10
LOCK_DURATION = dt.timedelta(minutes=10)
CODE_SENDS_PER_HOUR = 5
QUOTA_WINDOW = dt.timedelta(hours=1)
RESEND_INTERVAL = dt.timedelta(seconds=60)
IP_WINDOW_SECONDS = 600

IP_FAILURES = "failures"
IP_STARTS = "starts"


def ip_limit(bucket: str) -> int:
    """Per-IP limit per 10 minutes. Settings HAWIYA_IP_FAILURE_LIMIT (30) and HAWIYA_IP_START_LIMIT
    (20) tune them: mobile carriers put many people behind one address."""
    if bucket == IP_STARTS:
        return int(getattr(settings, "HAWIYA_IP_START_LIMIT", 20))
    return int(getattr(settings, "HAWIYA_IP_FAILURE_LIMIT", 30))


def ip_bucket(ip: str) -> str:
    """What one client is counted as: an IPv4 address (IPv4-mapped IPv6 included), or the /64
    network of an IPv6 address (one home or phone is given a whole /64, so counting single
    addresses would let it try again with each of them). Anything else as given."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ip or "-"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def ip_rate_limit(bucket: str) -> RateLimit:
    """The fixed-window limit of `bucket`, built per call so a changed setting applies at once."""
    return RateLimit(f"identity:ip:{bucket}", ip_limit(bucket), IP_WINDOW_SECONDS)


def ip_check(ip: str, bucket: str = IP_FAILURES) -> None:
    """Raise `ip_throttled` when `ip` has used up its allowance in `bucket`."""
    if ip_rate_limit(bucket).exhausted(ip_bucket(ip)):
        raise errors.error(errors.IP_THROTTLED)


def ip_record(ip: str, bucket: str = IP_FAILURES) -> int:
    """Count one event for `ip` in `bucket` (window: 10 minutes from the first); returns the count."""
    return ip_rate_limit(bucket).hit(ip_bucket(ip)).count


@dataclass(frozen=True)
class FailureCount:
    """The account's counter right after one more failure."""

    failures: int
    locked_until: dt.datetime | None
    just_locked: bool

    def is_locked(self, now: dt.datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def _aware(value: object) -> dt.datetime | None:
    # RETURNING gives PostgreSQL's aware datetime, or SQLite's text in UTC.
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        result = value
    else:
        parsed = parse_datetime(str(value))
        if parsed is None:
            raise ValueError("unreadable datetime from the database")
        result = parsed
    if timezone.is_naive(result):
        result = result.replace(tzinfo=dt.UTC)
    return result


def guard_ensure(user_id: int) -> None:
    """Create the account's guard row if missing; safe against a parallel insert."""
    SignInGuard.objects.bulk_create([SignInGuard(user_id=user_id)], ignore_conflicts=True)


def guard_record_failure(*, user_id: int, now: dt.datetime) -> FailureCount:
    """Count one failed attempt in ONE atomic statement and return the new state.

    A lock that has run out starts the count again at 1. While locked, failures are still counted
    but the lock is not extended (an attacker cannot keep an account closed for ever by guessing
    on). The failure that reaches the limit, and only that one, has `just_locked`.
    """
    table = SignInGuard._meta.db_table
    qn = connection.ops.quote_name
    failures = qn(SignInGuard._meta.get_field("failures").column)
    locked = qn(SignInGuard._meta.get_field("locked_until").column)
    last = qn(SignInGuard._meta.get_field("last_failure_at").column)
    pk = qn(SignInGuard._meta.get_field("user").column)
    now_db = connection.ops.adapt_datetimefield_value(now)
    until_db = connection.ops.adapt_datetimefield_value(now + LOCK_DURATION)
    expired = f"({locked} IS NOT NULL AND {locked} <= %s)"
    # Only column and table names (from the model's metadata) are formatted in; values are bound.
    sql = (
        f"UPDATE {qn(table)} SET "  # noqa: S608
        f"{failures} = CASE WHEN {expired} THEN 1 ELSE {failures} + 1 END, "
        f"{locked} = CASE "
        f"WHEN {locked} IS NOT NULL AND {locked} > %s THEN {locked} "
        f"WHEN (CASE WHEN {expired} THEN 1 ELSE {failures} + 1 END) >= %s THEN %s "
        f"ELSE NULL END, "
        f"{last} = %s "
        f"WHERE {pk} = %s "
        f"RETURNING {failures}, {locked}"
    )
    params = [now_db, now_db, now_db, FAILURE_LIMIT, until_db, now_db, user_id]
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is not None:
            count, locked_until = int(row[0]), _aware(row[1])
            return FailureCount(failures=count, locked_until=locked_until, just_locked=count == FAILURE_LIMIT)
        guard_ensure(user_id)
    raise RuntimeError("the sign-in guard row could not be created")


def guard_reset(*, user_id: int) -> None:
    """A complete successful sign-in: forget earlier failures and any lock."""
    SignInGuard.objects.filter(pk=user_id).update(failures=0, locked_until=None)


def guard_for_update(*, user_id: int) -> SignInGuard:
    """The account's guard, locked until the transaction ends (created if missing)."""
    guard_ensure(user_id)
    return SignInGuard.objects.select_for_update().get(pk=user_id)


def quota_claim(*, key: str, now: dt.datetime) -> int:
    """Take one of the hourly code sends of `key`; returns how many are left afterwards.

    Raises `too_many_codes` (with the seconds until a send frees up) when none is left, and
    `code_send_busy` (ServiceBusy, a 503) if the row vanished under the prune at every try. The row is
    locked, so two parallel sends cannot both take the last one. Call inside a transaction.

    The retention prune deletes a row whose newest send left the hour (code_send_quotas_prune):
    such a row limits nothing, so a send that finds it gone creates it again with the same outcome.
    """
    quota = None
    for _attempt in range(3):
        CodeSendQuota.objects.bulk_create([CodeSendQuota(key=key)], ignore_conflicts=True)
        # `first()`, not `get()`: on PostgreSQL the prune may delete the row between the insert
        # that found it there and this lock, which then returns nothing; insert it again.
        quota = CodeSendQuota.objects.select_for_update().filter(key=key).order_by().first()
        if quota is not None:
            break
    if quota is None:
        # Three lost races in a row: the prune is busy on this key's rows. Ask the person to send
        # again in a moment (503 with Retry-After) rather than fail the request.
        raise errors.code_send_busy()
    recent = sorted(
        sent
        for sent in (_aware(value) for value in quota.recent_sends)
        if sent is not None and sent > now - QUOTA_WINDOW
    )
    if len(recent) >= CODE_SENDS_PER_HOUR:
        wait = recent[-CODE_SENDS_PER_HOUR] + QUOTA_WINDOW - now
        raise errors.too_many_codes(int(wait.total_seconds()) + 1)
    recent.append(now)
    quota.recent_sends = [sent.isoformat() for sent in recent]
    quota.last_send_at = max(recent)
    quota.save(update_fields=["recent_sends", "last_send_at"])
    return CODE_SENDS_PER_HOUR - len(recent)
