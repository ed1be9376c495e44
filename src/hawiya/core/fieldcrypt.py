"""Secrets at rest: values encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under the field keys.

`settings.HAWIYA_FIELD_KEYS` lists Fernet keys (from the environment variable of the same name,
comma-separated; generated once into var/ in embedded mode). The first key encrypts; every key
decrypts (`MultiFernet`), so a new key is put first, `manage.py rotate_field_keys` re-encrypts the
stored values with it, and only then is the old key dropped.

Nothing here logs or puts a value in an exception message.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Every Fernet token starts with version byte 0x80 and a 64-bit timestamp, which in URL-safe
# base64 is "gAAAAA" for any time before the year 4000-odd.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (a format marker, not a secret)


class FieldKeysInvalid(ImproperlyConfigured):
    """HAWIYA_FIELD_KEYS is missing or one of its keys is not a Fernet key."""


class FieldValueUndecryptable(ImproperlyConfigured):
    """A stored value was encrypted under none of HAWIYA_FIELD_KEYS (or was altered)."""


def configured_keys() -> tuple[str, ...]:
    raw = getattr(settings, "HAWIYA_FIELD_KEYS", ())
    if isinstance(raw, str):
        raw = raw.split(",")
    return tuple(key.strip() for key in raw if key and key.strip())


def key_problems(keys: Sequence[str]) -> list[str]:
    """What is wrong with the keys, one sentence each (never the key itself); empty when usable."""
    if not keys:
        return ["HAWIYA_FIELD_KEYS is empty: at least one Fernet key is needed."]
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(
                f"Key {position} of HAWIYA_FIELD_KEYS is not a Fernet key "
                "(32 bytes in URL-safe base64, 44 characters)."
            )
    return problems


@functools.lru_cache(maxsize=4)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    problems = key_problems(keys)
    if problems:
        raise FieldKeysInvalid(" ".join(problems))
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    return _multifernet(configured_keys())


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def encrypt(value: str) -> str:
    """The value encrypted under the first key, as URL-safe base64 text."""
    return _fernet().encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The value of a token encrypted under any of the keys. Raises FieldValueUndecryptable."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise FieldValueUndecryptable(
            "A stored secret cannot be decrypted with HAWIYA_FIELD_KEYS: the key that encrypted it "
            "is not among them (or the value was altered). Put the missing key back in the list."
        ) from None


def rotate(token: str) -> str:
    """The token re-encrypted under the first key (its original timestamp kept)."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise FieldValueUndecryptable(
            "A stored secret cannot be decrypted with HAWIYA_FIELD_KEYS, so it cannot be re-encrypted."
        ) from None


def new_key() -> str:
    """A new random Fernet key (for the runbook and the tests)."""
    return Fernet.generate_key().decode("ascii")
