"""What the portal keeps in the session besides identity.sessions' keys (see signin_views.py)."""

from __future__ import annotations

from typing import Any

# When sign-in is paused after failures (a POSIX timestamp), for the "locked" page.
LOCKED_UNTIL = "hawiya_portal_locked_until"
# The reauthentication challenge verified last: a page may pass it to services.password_change
# (valid 5 minutes after verification, used once).
REAUTH_CHALLENGE = "hawiya_portal_reauth_challenge"
# When this session was first seen signed in (POSIX timestamp): sessions end 12 hours later
# whatever the activity (the session cookie's own expiry slides with every save).
SIGNED_IN_AT = "hawiya_portal_signed_in_at"
# The last request of a signed-in person (POSIX timestamp, written at most once a minute).
LAST_ACTIVITY = "hawiya_portal_last_activity"
# The forgotten-password journey has just finished (shows its "done" page once per session).
PASSWORD_RESET_DONE = "hawiya_portal_password_reset_done"  # noqa: S105 (a session key)
# The mobile number change under way (account_views.mobile_*): the current challenge, its step
# ("current" or "new") and the last two digits of both numbers; never the full numbers.
MOBILE_CHANGE = "hawiya_portal_mobile_change"
# The WebAuthn challenges handed to this browser (base64url), one per ceremony: adding a passkey,
# signing in with one, confirming it is you with one. Each is used once (services/passkeys.py).
PASSKEY_REGISTRATION = "hawiya_portal_passkey_registration"
PASSKEY_SIGN_IN = "hawiya_portal_passkey_sign_in"
PASSKEY_REAUTH = "hawiya_portal_passkey_reauth"


def pop_text(session: Any, key: str) -> str:
    """Take `key` out of the session: its value if it is text (a challenge), else ""."""
    value = session.pop(key, "")
    return value if isinstance(value, str) else ""
