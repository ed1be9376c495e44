"""Secrets of the second factor: one-time codes, authenticator apps (RFC 6238), recovery codes.

Everything random comes from `secrets`. One-time and recovery codes are stored only as keyed
hashes (HMAC-SHA256 under SECRET_KEY with a fixed salt per kind), compared in constant time.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pyotp
from django.utils.crypto import constant_time_compare, salted_hmac

from hawiya.core.digits import normalise_number

CODE_DIGITS = 6
_CODE_SALT = "hawiya.identity.one_time_code"
_RECOVERY_SALT = "hawiya.identity.recovery_code"
_QUOTA_SALT = "hawiya.identity.code_quota"
_SIX_DIGITS = re.compile(r"[0-9]{6}")

TOTP_ISSUER = "Hawiya"
TOTP_INTERVAL = 30
# Codes of the previous and next 30-second step are accepted too (clock drift on phones).
TOTP_DRIFT_STEPS = 1

RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are read off paper. 31 symbols ^ 12 ≈ 2^59.
_RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_RECOVERY_LENGTH = 12
_RECOVERY_GROUP = 4


def new_challenge() -> str:
    """The public token of a challenge (256 bits): what the page keeps in the session."""
    return secrets.token_urlsafe(32)


def new_code() -> str:
    """Six digits, uniformly random."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(challenge: str, code: str) -> str:
    """The stored form of `code` sent for `challenge`: bound to it, useless for any other."""
    return salted_hmac(_CODE_SALT, f"{challenge}:{code}", algorithm="sha256").hexdigest()


def unmatchable_hash() -> str:
    """A value shaped like a code hash that no code produces (decoy challenges)."""
    return secrets.token_hex(32)


def normalise_code(value: str) -> str:
    """A code as typed (Eastern digits, spaces, hyphens) → its digits."""
    return normalise_number(value or "")


def code_matches(challenge: str, code: str, stored_hash: str) -> bool:
    """Constant-time check of a typed code against the stored hash."""
    if not stored_hash:
        return False
    candidate = code if _SIX_DIGITS.fullmatch(code) else "-"
    return constant_time_compare(code_hash(challenge, candidate), stored_hash)


def quota_key_for_id_number(id_number: str) -> str:
    """The send-quota key of unauthenticated journeys for one ID number (never the number itself)."""
    return "public:" + salted_hmac(_QUOTA_SALT, id_number, algorithm="sha256").hexdigest()[:64]


def quota_key_for_account(user_id: int) -> str:
    return f"account:{user_id}"


# --- Authenticator apps ------------------------------------------------------------------------


def totp_new_secret() -> str:
    """160 bits, base32, as RFC 4226 recommends."""
    return pyotp.random_base32(32)


def totp_provisioning_uri(secret: str, account_name: str) -> str:
    """The otpauth:// URI the QR code carries."""
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(
        name=account_name, issuer_name=TOTP_ISSUER
    )


def totp_step(now: dt.datetime) -> int:
    return int(now.timestamp()) // TOTP_INTERVAL


def totp_matching_step(secret: str, code: str, now: dt.datetime, *, after_step: int | None) -> int | None:
    """The time step whose code `code` is (within the allowed drift), if later than `after_step`.

    A step at or before `after_step` (the last one used) is refused: a code cannot be replayed.
    Every candidate step is compared, so the answer takes the same time whichever matches.
    """
    if not _SIX_DIGITS.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = totp_step(now)
    found: int | None = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if constant_time_compare(totp.generate_otp(step), code) and (after_step is None or step > after_step):
            found = step if found is None else found
    return found


def totp_code_at(secret: str, when: dt.datetime) -> str:
    """The code an app shows at `when` (for tests and the admin's demo)."""
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).generate_otp(totp_step(when))


# --- Recovery codes ----------------------------------------------------------------------------


def recovery_codes_new(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """`count` new recovery codes, formatted in groups of four (xxxx-xxxx-xxxx)."""
    codes = []
    for _index in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _char in range(_RECOVERY_LENGTH))
        codes.append(
            "-".join(raw[i : i + _RECOVERY_GROUP] for i in range(0, _RECOVERY_LENGTH, _RECOVERY_GROUP))
        )
    return codes


def recovery_code_normalise(value: str) -> str:
    """As typed (any case, spaces, hyphens) → the 12 characters."""
    return normalise_number(value or "").lower()


def recovery_code_hash(value: str) -> str:
    return salted_hmac(_RECOVERY_SALT, recovery_code_normalise(value), algorithm="sha256").hexdigest()
