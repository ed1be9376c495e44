"""Stable error codes of the identity app, each with the message the person reads.

Pages and APIs show `ApplicationError.message` (translated lazily, in the active language) and
switch on `ApplicationError.code`. Extra values a page may need travel in `ApplicationError.extra`:
`seconds` (resend_too_soon, too_many_codes), `locked_until` (account_locked), `errors`
(password_invalid: every message).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from hawiya.core.clock import RIYADH
from hawiya.core.errors import ApplicationError, NotFound, ServiceBusy

# Codes and limits
RESEND_TOO_SOON = "resend_too_soon"
TOO_MANY_CODES = "too_many_codes"
CODE_SEND_BUSY = "code_send_busy"
# A send that lost its quota row to the prune: the prune's batch is over within a second or two.
CODE_SEND_RETRY_AFTER_SECONDS = 2
CODE_INVALID = "code_invalid"
CODE_REQUIRED = "code_required"
CODE_ATTEMPTS_EXCEEDED = "code_attempts_exceeded"
CHALLENGE_EXPIRED = "challenge_expired"
IP_THROTTLED = "ip_throttled"
# Accounts and sign-in
INVALID_CREDENTIALS = "invalid_credentials"
ACCOUNT_LOCKED = "account_locked"
ACCOUNT_BLOCKED = "account_blocked"
NO_SIGN_IN_METHOD = "no_sign_in_method"
METHOD_LOCKED = "method_locked"
METHOD_NOT_AVAILABLE = "method_not_available"
NO_MOBILE = "no_mobile"
TOTP_INVALID = "totp_invalid"
RECOVERY_CODE_INVALID = "recovery_code_invalid"
CURRENT_PASSWORD_WRONG = "current_password_wrong"  # noqa: S105 (an error code)
REAUTHENTICATION_REQUIRED = "reauthentication_required"
# Activation
ID_NUMBER_INVALID = "id_number_invalid"
MOBILE_INVALID = "mobile_invalid"
TERMS_NOT_ACCEPTED = "terms_not_accepted"
USERNAME_INVALID = "username_invalid"
USERNAME_TAKEN = "username_taken"
ALREADY_ACTIVATED = "already_activated"
PASSWORD_INVALID = "password_invalid"  # noqa: S105 (an error code)
# Mobile number changes
MOBILE_UNCHANGED = "mobile_unchanged"
MOBILE_CHANGE_IN_PERSON = "mobile_change_in_person"
# Factors, sessions, history
AUTHENTICATOR_ALREADY_ACTIVE = "authenticator_already_active"
AUTHENTICATOR_NOT_FOUND = "authenticator_not_found"
SESSION_NOT_FOUND = "session_not_found"
SECURITY_EVENT_NOT_FOUND = "security_event_not_found"
# Passkeys (services/passkeys.py)
PASSKEY_INVALID = "passkey_invalid"
PASSKEY_NOT_RECOGNISED = "passkey_not_recognised"
PASSKEY_COUNTER = "passkey_counter"
PASSKEY_ALREADY_ADDED = "passkey_already_added"
PASSKEY_NAME_INVALID = "passkey_name_invalid"
PASSKEY_LAST_FACTOR = "passkey_last_factor"
PASSKEY_NOT_FOUND = "passkey_not_found"
# Relying parties (identity/services/relying_parties.py) and citizens' connections to them
PARTY_NAME_MISSING = "party_name_missing"
PARTY_REDIRECT_URI_INVALID = "party_redirect_uri_invalid"
PARTY_SCOPES_INVALID = "party_scopes_invalid"
PARTY_AUTH_METHOD_INVALID = "party_auth_method_invalid"
PARTY_JWKS_INVALID = "party_jwks_invalid"
PARTY_LOGO_INVALID = "party_logo_invalid"
PARTY_CLIENT_ID_INVALID = "party_client_id_invalid"
PARTY_CLIENT_ID_TAKEN = "party_client_id_taken"
PARTY_BACKCHANNEL_URI_INVALID = "party_backchannel_uri_invalid"
PARTY_ID_TOKEN_ALG_INVALID = "party_id_token_alg_invalid"  # noqa: S105 (an error code)
PARTY_ALREADY_SUSPENDED = "party_already_suspended"
PARTY_NOT_SUSPENDED = "party_not_suspended"
PARTY_NO_SECRET = "party_no_secret"  # noqa: S105 (an error code)
PARTY_NOT_FOUND = "party_not_found"
PARTY_SIGNALS_ENDPOINT_INVALID = "party_signals_endpoint_invalid"
PARTY_SIGNALS_EVENTS_INVALID = "party_signals_events_invalid"
CONNECTION_NOT_FOUND = "connection_not_found"
# Staff sign-in policy (identity/services/staff_policy.py)
PASSKEY_REQUIRED_FOR_ROLE = "passkey_required_for_role"
STAFF_ROLE_INVALID = "staff_role_invalid"
STAFF_POLICY_SELF_LOCKOUT = "staff_policy_self_lockout"

MESSAGES: dict[str, Promise] = {
    PASSKEY_REQUIRED_FOR_ROLE: _(
        "Your role signs in with a passkey, not with a code. Sign in with your passkey instead."
    ),
    STAFF_ROLE_INVALID: _("Choose one of the staff roles."),
    STAFF_POLICY_SELF_LOCKOUT: _(
        "You are a member of this role and have no passkey yet, so you could not follow this rule. "
        "Add a passkey to your own account first."
    ),
    CODE_INVALID: _("The code is wrong or has expired. Check the latest message or ask for a new code."),
    CODE_REQUIRED: _("Enter the 6-digit code."),
    CODE_ATTEMPTS_EXCEEDED: _(
        "This code was entered wrongly too many times and can no longer be used. Ask for a new code."
    ),
    CHALLENGE_EXPIRED: _("This step has expired or was already completed. Please start again."),
    IP_THROTTLED: _(
        "There have been too many unsuccessful attempts from this connection. Please wait 10 minutes "
        "and try again."
    ),
    INVALID_CREDENTIALS: _(
        "The username or ID number and password do not match our records. Check them and try again."
    ),
    ACCOUNT_BLOCKED: _(
        "Sign-in to this account is paused because activity on it was reported as not the holder's. "
        "Reset your password to continue."
    ),
    NO_SIGN_IN_METHOD: _(
        "No sign-in method is available for this account. Please visit a civil-affairs office for help."
    ),
    METHOD_LOCKED: _("This sign-in method is locked on this account. Choose another method."),
    METHOD_NOT_AVAILABLE: _("This sign-in method is not set up on this account. Choose another method."),
    NO_MOBILE: _(
        "There is no mobile number on record to send a code to. Please visit a civil-affairs office "
        "to add one."
    ),
    TOTP_INVALID: _("The code is wrong. Enter the code your authenticator app shows now."),
    RECOVERY_CODE_INVALID: _("This recovery code is wrong or has already been used."),
    CURRENT_PASSWORD_WRONG: _("Your current password is not right. Check it and try again."),
    REAUTHENTICATION_REQUIRED: _("For your security, confirm it is you before making this change."),
    ID_NUMBER_INVALID: _("Enter a valid national ID or Iqama number."),
    MOBILE_INVALID: _("Enter a Saudi mobile number, like 05X XXX XXXX."),
    TERMS_NOT_ACCEPTED: _("To activate your account, accept the terms of use."),
    USERNAME_INVALID: _(
        "Choose a username of 4 to 30 characters using English letters, digits, dots, hyphens or "
        "underscores, with at least one letter."
    ),
    USERNAME_TAKEN: _("This username is already taken. Choose another one."),
    ALREADY_ACTIVATED: _("An account is already active for this ID number. Sign in instead."),
    PASSWORD_INVALID: _("Choose a different password."),
    MOBILE_UNCHANGED: _("This is already your mobile number on record. Enter the new number."),
    MOBILE_CHANGE_IN_PERSON: _(
        "Text messages to your mobile number on record are locked, so the change cannot be confirmed "
        "online. If you no longer have that phone, visit a civil-affairs office with your ID card to "
        "change the number."
    ),
    AUTHENTICATOR_ALREADY_ACTIVE: _(
        "An authenticator app is already set up. Remove it first to set up another one."
    ),
    AUTHENTICATOR_NOT_FOUND: _("There is no authenticator app set up on this account."),
    SESSION_NOT_FOUND: _("This session no longer exists."),
    SECURITY_EVENT_NOT_FOUND: _("This activity could not be found."),
    PARTY_NAME_MISSING: _("Enter the service's name in Arabic and in English, each at most 120 characters."),
    PARTY_REDIRECT_URI_INVALID: _(
        "Enter each redirect URI in full on its own line, starting https:// (http:// only for "
        "localhost), without a fragment, at most 10 of them."
    ),
    PARTY_SCOPES_INVALID: _("Choose the scopes the service may ask for; openid is always needed."),
    PARTY_AUTH_METHOD_INVALID: _("Choose how the service proves itself at the token endpoint."),
    PARTY_JWKS_INVALID: _(
        "Paste the service's public keys as a JWK Set: JSON with at least one RSA or EC public key "
        "and no private key."
    ),
    PARTY_LOGO_INVALID: _("The logo must be a PNG or JPEG image of at most 512 KB and 1024 × 1024 pixels."),
    PARTY_CLIENT_ID_INVALID: _(
        "A client ID has 3 to 56 characters: English letters, digits, dots, hyphens or underscores."
    ),
    PARTY_CLIENT_ID_TAKEN: _("This client ID is already used by another service."),
    PARTY_BACKCHANNEL_URI_INVALID: _(
        "Enter the back-channel logout URI in full, starting https:// (http:// only for localhost)."
    ),
    PARTY_SIGNALS_ENDPOINT_INVALID: _(
        "Enter the security signals endpoint in full, starting https:// (http:// only for localhost), "
        "and choose at least one event for it."
    ),
    PARTY_SIGNALS_EVENTS_INVALID: _("Choose security events from the list, and an endpoint to send them to."),
    PARTY_ID_TOKEN_ALG_INVALID: _(
        "Choose how Hawiya signs the service's ID tokens: RS256 (the default) or ES256."
    ),
    PARTY_ALREADY_SUSPENDED: _("This service is already suspended."),
    PARTY_NOT_SUSPENDED: _("This service is not suspended."),
    PARTY_NO_SECRET: _("This service signs its requests with its own key and has no client secret."),
    PARTY_NOT_FOUND: _("This service was not found."),
    CONNECTION_NOT_FOUND: _("This connected service was not found."),
    PASSKEY_INVALID: _(
        "Your passkey could not be checked. Try again, and unlock it with your fingerprint, face or "
        "screen lock when your device asks."
    ),
    PASSKEY_NOT_RECOGNISED: _(
        "This passkey is not recognised. It may have been removed. Sign in with your password instead."
    ),
    PASSKEY_COUNTER: _(
        "This passkey was refused because it may have been copied. Sign in another way, then check "
        "your sign-in methods."
    ),
    PASSKEY_ALREADY_ADDED: _("This passkey is already added to an account."),
    PASSKEY_NAME_INVALID: _('Enter a name for the passkey, up to 60 characters, like "my phone".'),
    PASSKEY_LAST_FACTOR: _(
        "You cannot remove your only way to sign in. Set up another method first, such as an "
        "authenticator app or recovery codes."
    ),
    PASSKEY_NOT_FOUND: _("This passkey was not found."),
}

_RESEND_TOO_SOON = ngettext_lazy(
    "You can ask for a new code in %(seconds)d second.",
    "You can ask for a new code in %(seconds)d seconds.",
    "seconds",
)
_TOO_MANY_CODES = ngettext_lazy(
    "You have asked for the maximum number of codes for now. You can ask again in %(minutes)d minute.",
    "You have asked for the maximum number of codes for now. You can ask again in %(minutes)d minutes.",
    "minutes",
)
_ACCOUNT_LOCKED = _(
    "For your safety, sign-in to this account is paused until %(time)s (Riyadh time) after too many "
    "unsuccessful attempts. You can reset your password meanwhile."
)

ALL_CODES = frozenset(
    {*MESSAGES, RESEND_TOO_SOON, TOO_MANY_CODES, ACCOUNT_LOCKED},
)


def _lazy_format(message: Promise, values: dict[str, Any]) -> Promise:
    # `lazy % values` would translate at once; this keeps the message in the language active
    # when it is shown, like the other messages.
    return cast(Promise, lazy(lambda: str(message % values), str)())


def error(code: str, *, field: str | None = None, **extra: Any) -> ApplicationError:
    """The ApplicationError for `code`, with its message."""
    if code in (
        SESSION_NOT_FOUND,
        SECURITY_EVENT_NOT_FOUND,
        PARTY_NOT_FOUND,
        CONNECTION_NOT_FOUND,
        PASSKEY_NOT_FOUND,
    ):
        return NotFound(code, MESSAGES[code], field=field, **extra)
    return ApplicationError(code, MESSAGES[code], field=field, **extra)


def resend_too_soon(seconds: int) -> ApplicationError:
    seconds = max(1, seconds)
    return ApplicationError(
        RESEND_TOO_SOON, _lazy_format(_RESEND_TOO_SOON, {"seconds": seconds}), seconds=seconds
    )


def too_many_codes(seconds: int) -> ApplicationError:
    seconds = max(1, seconds)
    minutes = max(1, -(-seconds // 60))
    return ApplicationError(
        TOO_MANY_CODES, _lazy_format(_TOO_MANY_CODES, {"minutes": minutes}), seconds=seconds
    )


def code_send_busy() -> ServiceBusy:
    """The send's quota row kept vanishing under the retention prune: Hawiya busy, not a fault (503)."""
    return ServiceBusy(
        CODE_SEND_BUSY,
        _("We could not send a code just now. Wait a moment and try again."),
        retry_after=CODE_SEND_RETRY_AFTER_SECONDS,
    )


def account_locked(locked_until: dt.datetime) -> ApplicationError:
    time = locked_until.astimezone(RIYADH).strftime("%H:%M")
    return ApplicationError(
        ACCOUNT_LOCKED, _lazy_format(_ACCOUNT_LOCKED, {"time": time}), locked_until=locked_until
    )
