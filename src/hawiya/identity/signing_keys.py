"""The keys that sign ID tokens, kept in the database (identity.SigningKey).

Rotation (`manage.py oidc_rotate_key`): a new RS256 key is made and signs from then on; the
previous keys are marked retired but stay in the JWKS, so tokens they signed still verify. Once
every such token has expired (ID_TOKEN_EXPIRE_SECONDS after the retirement, plus a margin for
parties' JWKS caches: OIDC_JWKS_MAX_AGE_SECONDS), `--prune` deletes them. With no key at all, the
first signature makes one (a fresh install signs without a manual step).
"""

from __future__ import annotations

import datetime as dt
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from jwcrypto import jwk
from oauth2_provider.settings import oauth2_settings

from hawiya.core import clock

from .models import SigningKey

RSA_BITS = 2048


def _new_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


# Reading a PEM costs about 0.1 s of CPU (cryptography checks the RSA key), and jwcrypto checks it
# again at its first signature, then keeps the checked key on the JWK: parsed once per process,
# a key signs in about 2 ms instead of 0.3 s. Exact, not a cache to invalidate: a kid is the
# key's thumbprint, so one kid is always the same key (rotation makes a new one), and a deleted
# key is not found in the database before this is consulted.
_parsed: dict[str, jwk.JWK] = {}


def _jwk(key: SigningKey) -> jwk.JWK:
    parsed = _parsed.get(key.kid)
    if parsed is None:
        parsed = _parsed[key.kid] = jwk.JWK.from_pem(key.private_key_pem.encode())
    return parsed


def signing_key_create() -> SigningKey:
    """A new key that signs from now on; the keys before it are retired (still published)."""
    pem = _new_pem()
    kid = jwk.JWK.from_pem(pem.encode()).thumbprint()
    now = clock.now()
    global _active
    with transaction.atomic():
        SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=now)
        key = SigningKey.objects.create(kid=kid, private_key_pem=pem, created_at=now)
    _active = None  # this process signs with the new key at once
    return key


# Which key signs, as this process last read it: every token exchange signs, and the read is a
# query. After a rotation another process goes on signing with the previous key for at most
# ACTIVE_KEY_SECONDS; that key is still published (and is kept far longer: see the docstring).
ACTIVE_KEY_SECONDS = 30.0
_active: tuple[float, str, jwk.JWK] | None = None


def active_signing_key() -> tuple[str, jwk.JWK]:
    """(kid, private JWK) of the key that signs now; made on first use when there is none."""
    global _active
    if _active is not None and time.monotonic() - _active[0] < ACTIVE_KEY_SECONDS:
        return _active[1], _active[2]
    key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-id").first()
    if key is None:
        key = signing_key_create()
    _active = (time.monotonic(), key.kid, _jwk(key))
    return key.kid, _active[2]


def signing_key_by_kid(kid: str) -> jwk.JWK | None:
    key = SigningKey.objects.filter(kid=kid).first()
    return _jwk(key) if key is not None else None


def published_keys() -> list[dict[str, str]]:
    """The public half of every key still published (active and retired), for the JWKS."""
    keys = []
    for key in SigningKey.objects.order_by("-created_at", "-id"):
        public = _jwk(key).export_public(as_dict=True)
        keys.append({**public, "kid": key.kid, "alg": key.algorithm, "use": "sig"})
    return keys


def retired_keys_expiring_before(now: dt.datetime) -> dt.datetime:
    """Keys retired before this moment signed no token still valid at `now`."""
    margin = int(oauth2_settings.ID_TOKEN_EXPIRE_SECONDS) + int(oauth2_settings.OIDC_JWKS_MAX_AGE_SECONDS)
    return now - dt.timedelta(seconds=margin)


def signing_keys_prune() -> int:
    """Delete retired keys whose tokens have all expired; how many were deleted."""
    cutoff = retired_keys_expiring_before(clock.now())
    deleted, _ = SigningKey.objects.filter(retired_at__isnull=False, retired_at__lt=cutoff).delete()
    return deleted
