"""The keys that sign ID tokens and Logout Tokens, kept in the database (identity.SigningKey).

There is one active key per algorithm: RS256 (RSA 2048) and ES256 (elliptic curve P-256); each
relying party chooses which signs its tokens (`RelyingParty.id_token_signed_response_alg`).

Rotation (`manage.py oidc_rotate_key [--algorithm ES256]`): a new key of each algorithm (or of the
one named) is made and signs from then on; the previous keys of that algorithm are marked retired
but stay in the JWKS, so tokens they signed still verify. Once every such token has expired
(ID_TOKEN_EXPIRE_SECONDS after the retirement, plus a margin for parties' JWKS caches:
OIDC_JWKS_MAX_AGE_SECONDS), `--prune` deletes them. An algorithm with no key gets one at its first
signature or when the JWKS is first served (a fresh install signs without a manual step, and
publishes every algorithm's key before a party needs it).
"""

from __future__ import annotations

import datetime as dt
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db import transaction
from jwcrypto import jwk
from oauth2_provider.settings import oauth2_settings

from hawiya.core import clock

from .models import SigningAlgorithm, SigningKey

RSA_BITS = 2048
ALGORITHMS: tuple[str, ...] = tuple(SigningAlgorithm.values)  # RS256, ES256
DEFAULT_ALGORITHM = SigningAlgorithm.RS256.value


def _new_pem(algorithm: str) -> str:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if algorithm == SigningAlgorithm.ES256:
        key = ec.generate_private_key(ec.SECP256R1())
    else:
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


def _algorithm(algorithm: str) -> str:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown signing algorithm {algorithm!r} (one of {', '.join(ALGORITHMS)})")
    return algorithm


def signing_key_create(algorithm: str = DEFAULT_ALGORITHM) -> SigningKey:
    """A new key of `algorithm` that signs from now on; the keys of that algorithm before it are
    retired (still published). The other algorithm's keys are left as they are."""
    algorithm = _algorithm(algorithm)
    pem = _new_pem(algorithm)
    kid = jwk.JWK.from_pem(pem.encode()).thumbprint()
    now = clock.now()
    with transaction.atomic():
        SigningKey.objects.filter(algorithm=algorithm, retired_at__isnull=True).update(retired_at=now)
        key = SigningKey.objects.create(kid=kid, algorithm=algorithm, private_key_pem=pem, created_at=now)
    _active.pop(algorithm, None)  # this process signs with the new key at once
    return key


def signing_keys_rotate(algorithm: str | None = None) -> list[SigningKey]:
    """Rotation: a new key of `algorithm`, or of every algorithm when None (RS256 first)."""
    return [signing_key_create(one) for one in ([_algorithm(algorithm)] if algorithm else ALGORITHMS)]


# Which key signs, per algorithm, as this process last read it: every token exchange signs, and
# the read is a query. After a rotation another process goes on signing with the previous key for
# at most ACTIVE_KEY_SECONDS; that key is still published (and is kept far longer: see the
# docstring). Emptied by signing_key_create (and by the tests, whose databases do not last).
ACTIVE_KEY_SECONDS = 30.0
_active: dict[str, tuple[float, str, jwk.JWK]] = {}


def active_signing_key(algorithm: str = DEFAULT_ALGORITHM) -> tuple[str, jwk.JWK]:
    """(kid, private JWK) of the `algorithm` key that signs now; made on first use when there is
    none. Raises ValueError for an algorithm Hawiya does not sign with."""
    remembered = _active.get(algorithm)
    if remembered is not None and time.monotonic() - remembered[0] < ACTIVE_KEY_SECONDS:
        return remembered[1], remembered[2]
    algorithm = _algorithm(algorithm)
    key = (
        SigningKey.objects.filter(algorithm=algorithm, retired_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if key is None:
        key = signing_key_create(algorithm)
    parsed = _jwk(key)
    _active[algorithm] = (time.monotonic(), key.kid, parsed)
    return key.kid, parsed


def signing_key_by_kid(kid: str) -> jwk.JWK | None:
    key = SigningKey.objects.filter(kid=kid).first()
    return _jwk(key) if key is not None else None


def published_keys() -> list[dict[str, str]]:
    """The public half of every key still published (active and retired, of every algorithm), for
    the JWKS. An algorithm without an active key gets one first, so that a party reads the key
    before the first token it signs (a fresh install, or a new algorithm)."""
    stored = list(SigningKey.objects.order_by("-created_at", "-id"))
    active = {key.algorithm for key in stored if key.retired_at is None}
    missing = [algorithm for algorithm in ALGORITHMS if algorithm not in active]
    if missing:
        for algorithm in missing:
            active_signing_key(algorithm)
        stored = list(SigningKey.objects.order_by("-created_at", "-id"))
    keys = []
    for key in stored:
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
