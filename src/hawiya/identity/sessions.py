"""What the pages keep in the session, and the rule for "you confirmed it is you recently".

The pages' `require_recent_auth` decorator is built on `recent_auth_is_fresh`: sensitive changes
(authenticator app, recovery codes, method locks, ending sessions) need a sign-in or a
reauthentication less than five minutes old. The pages write `RECENT_AUTH_SESSION_KEY` with
`recent_auth_session_value(now)` after `sign_in_verify` and `reauthentication_verify`.
"""

from __future__ import annotations

import datetime as dt

RECENT_AUTH_MAX_AGE = dt.timedelta(minutes=5)
# The time of the holder's last full authentication (sign-in or reauthentication), as a POSIX
# timestamp (the session is JSON).
RECENT_AUTH_SESSION_KEY = "hawiya_identity_authenticated_at"
# The second factor of the last full authentication (sms, totp, recovery): `amr` for relying parties.
SIGN_IN_METHOD_SESSION_KEY = "hawiya_identity_sign_in_method"
# The challenge of the journey in progress (sign-in, activation, password reset, reauthentication).
CHALLENGE_SESSION_KEY = "hawiya_identity_challenge"
# A clock skew this large between web processes is tolerated for a stamp "in the future".
_SKEW = dt.timedelta(seconds=5)


def recent_auth_is_fresh(last_auth_at: dt.datetime | None, now: dt.datetime) -> bool:
    """True when `last_auth_at` is at most five minutes before `now` (and not in the future)."""
    if last_auth_at is None:
        return False
    return now - RECENT_AUTH_MAX_AGE <= last_auth_at <= now + _SKEW


def recent_auth_session_value(now: dt.datetime) -> float:
    """What to store under RECENT_AUTH_SESSION_KEY."""
    return now.timestamp()


def recent_auth_from_session(value: object) -> dt.datetime | None:
    """The stored value back as an aware datetime (None when absent or unreadable)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
