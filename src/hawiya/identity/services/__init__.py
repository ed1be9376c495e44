"""Writes of the identity app: activation, sign-in, passwords, second factors, sessions.

Conventions (docs/design.md §3, §5): every service is keyword-only and typed, runs its writes in one
transaction, locks the rows that can race (`select_for_update`), sends text messages through the
notifications outbox (written in the same transaction, sent after commit) and raises
`ApplicationError` with a code from `identity.errors`.

A failed attempt must be remembered even though the service then raises: those services finish
their transaction first (counting the failure) and raise after it has committed.

Journeys are built on challenges (`OneTimeCode` rows): the page keeps only the public
`challenge` token in the session and passes it back.

- Activation: activation_start → [one_time_code_send to resend] → activation_verify →
  activation_complete.
- Sign-in: sign_in_start (password) → sign_in_send_sms_code (if SMS) → sign_in_verify (sms, totp
  or recovery) → the page calls django.contrib.auth.login → user_session_record.
- Forgotten password: password_reset_start → password_reset_verify → password_reset_complete.
- Change password / sensitive changes: reauthentication_start (current password) →
  sign_in_send_sms_code (if SMS) → reauthentication_verify → password_change.
- Change the mobile number (behind a recent reauthentication): mobile_change_start (code to the
  number on record) → mobile_change_verify_current (code to the new number) →
  mobile_change_complete; one_time_code_send resends either code.

Activation and password reset answer alike whatever was wrong (no enumeration): a challenge is
always created and the same shape returned; only a matching request sends a code.

The rules live in one module per sub-area, named for it: `activation`, `sign_in` (and
reauthentication), `one_time_codes` (sending and checking codes), `passwords` (change and reset),
`mobile` (changing the number), `authenticator`, `recovery_codes`, `method_locks`, `sessions`,
`security_reports` ("this wasn't me") and `passkeys` (WebAuthn: imported as a module,
`services.passkeys.passkey_sign_in`, not re-exported); `_common` holds the small pieces they
share. This package re-exports their public names, so `services.activation_start` keeps working.
"""

from ._common import CHALLENGE_LIFETIME, USER_AGENT_MAX, Event
from .activation import (
    USERNAME_MAX,
    USERNAME_MIN,
    ActivationStart,
    ActivationVerified,
    activation_complete,
    activation_start,
    activation_verify,
    normalise_username,
    validate_username,
)
from .authenticator import (
    AuthenticatorEnrolment,
    authenticator_confirm,
    authenticator_enrol,
    authenticator_enrolment_pending,
    authenticator_remove,
)
from .method_locks import sign_in_method_lock, sign_in_method_unlock
from .mobile import (
    MobileChangeStarted,
    MobileChangeStep,
    mobile_change_complete,
    mobile_change_start,
    mobile_change_verify_current,
)
from .one_time_codes import (
    CODE_LIFETIME,
    CODE_MAX_WRONG_ATTEMPTS,
    CodeSent,
    code_send_quotas_prune,
    one_time_code_send,
    one_time_codes_prune,
    sign_in_send_sms_code,
)
from .passwords import (
    REAUTHENTICATION_VALIDITY,
    PasswordResetStart,
    password_change,
    password_reset_complete,
    password_reset_start,
    password_reset_verify,
)
from .recovery_codes import recovery_codes_generate
from .security_reports import security_event_report
from .sessions import (
    LAST_SEEN_RESOLUTION,
    SessionEnd,
    citizen_session_ended,
    session_revoke,
    sessions_prune_expired,
    sessions_revoke_all,
    user_session_end,
    user_session_record,
    user_session_rekey,
    user_session_touch,
)
from .sign_in import (
    SignInChallenge,
    reauthentication_start,
    reauthentication_verify,
    sign_in_start,
    sign_in_verify,
)

__all__ = [
    "CHALLENGE_LIFETIME",
    "CODE_LIFETIME",
    "CODE_MAX_WRONG_ATTEMPTS",
    "LAST_SEEN_RESOLUTION",
    "REAUTHENTICATION_VALIDITY",
    "USERNAME_MAX",
    "USERNAME_MIN",
    "USER_AGENT_MAX",
    "ActivationStart",
    "ActivationVerified",
    "AuthenticatorEnrolment",
    "CodeSent",
    "Event",
    "MobileChangeStarted",
    "MobileChangeStep",
    "PasswordResetStart",
    "SessionEnd",
    "SignInChallenge",
    "activation_complete",
    "activation_start",
    "activation_verify",
    "authenticator_confirm",
    "authenticator_enrol",
    "authenticator_enrolment_pending",
    "authenticator_remove",
    "citizen_session_ended",
    "code_send_quotas_prune",
    "mobile_change_complete",
    "mobile_change_start",
    "mobile_change_verify_current",
    "normalise_username",
    "one_time_code_send",
    "one_time_codes_prune",
    "password_change",
    "password_reset_complete",
    "password_reset_start",
    "password_reset_verify",
    "reauthentication_start",
    "reauthentication_verify",
    "recovery_codes_generate",
    "security_event_report",
    "session_revoke",
    "sessions_prune_expired",
    "sessions_revoke_all",
    "sign_in_method_lock",
    "sign_in_method_unlock",
    "sign_in_send_sms_code",
    "sign_in_start",
    "sign_in_verify",
    "user_session_end",
    "user_session_record",
    "user_session_rekey",
    "user_session_touch",
    "validate_username",
]
