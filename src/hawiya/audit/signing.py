"""The audit log's Ed25519 key and the signed tree heads (STH) made with it.

The private key comes from HAWIYA_AUDIT_SIGNING_KEY (the 32-byte seed in base64, or a PKCS#8
PEM). A development machine (demo, debug or embedded mode) without one derives it from
SECRET_KEY; a server refuses to start without it (system check audit.E001, checks.py).

What is signed is `sth_message`: the canonical JSON (sorted keys, no spaces, UTF-8) of
{"log": "hawiya-audit", "v": 1, "tree_size": n, "root_hash": hex, "timestamp": ISO-8601 UTC with
microseconds, "key_id": hex}. The key id is the SHA-256 of the raw 32-byte public key (hex), as
RFC 6962 names a log by the hash of its key. docs/audit-proof.md shows how to check one.

Rotation: the seals keep the key id they were signed with. After a new private key is set, the
old one's public half goes in HAWIYA_AUDIT_RETIRED_KEYS, so `audit_verify` still checks the
seals it signed and /.well-known/hawiya-audit-key still publishes it for the proofs handed out
under it. Only public keys are kept: a retired key signs nothing. With the time it stopped
signing ("<key>@<time>"), a tree head it signed dated later is refused, by `audit_verify` and by
anyone checking a proof against the published document: a leaked old key cannot sign new ones.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .models import canonical_json, utc_iso

LOG_NAME = "hawiya-audit"
STH_VERSION = 1


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    public_raw: bytes

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_raw)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode("ascii")


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A base64 32-byte seed or a PEM (PKCS#8) Ed25519 private key; ValueError otherwise."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM key is not an Ed25519 key")
        return key
    try:
        seed = base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError("not base64") from error
    if len(seed) != 32:
        raise ValueError(f"an Ed25519 seed is 32 bytes, not {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def parse_public_key(text: str) -> bytes:
    """A retired key's raw 32 public bytes from their base64, as /.well-known/hawiya-audit-key
    publishes them; ValueError otherwise."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as error:
        raise ValueError("not base64") from error
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, not {len(raw)}")
    return raw


@dataclass(frozen=True)
class VerificationKey:
    """A key seals may name: its raw public bytes and, for a retired key whose retirement time is
    known, that time. A tree head it signed is trusted only if dated before then."""

    public_raw: bytes
    retired_at: dt.datetime | None = None

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_raw)


def parse_retired_key(text: str) -> VerificationKey:
    """One entry of HAWIYA_AUDIT_RETIRED_KEYS: the public key's base64, optionally followed by
    "@" and the time it stopped signing (ISO 8601 with its offset, e.g. 2026-12-01T09:00:00Z);
    ValueError otherwise."""
    key_text, at, when = text.strip().partition("@")
    retired_at = None
    if at:
        try:
            retired_at = dt.datetime.fromisoformat(when)
        except ValueError as error:
            raise ValueError(f"the time after @ is not ISO 8601 ({when!r})") from error
        if retired_at.utcoffset() is None:
            raise ValueError(f"the time after @ has no offset ({when!r}): end it with Z or +03:00")
    return VerificationKey(parse_public_key(key_text), retired_at)


def retired_key_texts() -> list[str]:
    """HAWIYA_AUDIT_RETIRED_KEYS, a list (settings.py splits the environment's string)."""
    return [str(text) for text in getattr(settings, "HAWIYA_AUDIT_RETIRED_KEYS", None) or []]


@lru_cache(maxsize=4)
def _retired_from(texts: tuple[str, ...]) -> tuple[VerificationKey, ...]:
    return tuple(parse_retired_key(text) for text in texts)


def retired_keys() -> tuple[VerificationKey, ...]:
    """The retired keys (ValueError when one is malformed: system check audit.E003)."""
    return _retired_from(tuple(retired_key_texts()))


def verification_keys() -> dict[str, VerificationKey]:
    """Every key a seal may be signed with, by key id: the current one and the retired ones. The
    current key is never retired, even if listed among the retired ones too."""
    keys = {key.key_id: key for key in retired_keys()}
    current = signing_key()
    keys[current.key_id] = VerificationKey(current.public_raw)
    return keys


def derived_key_allowed() -> bool:
    return bool(getattr(settings, "DEMO", False) or getattr(settings, "DEBUG", False)) or bool(
        getattr(settings, "EMBEDDED", False)
    )


@lru_cache(maxsize=4)
def _key_from(configured: str, secret: str, derive: bool) -> SigningKey:
    if configured:
        private = parse_private_key(configured)
    elif derive:
        # Development only: stable across restarts, different on every machine.
        private = Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(f"hawiya-audit-signing:{secret}".encode()).digest()
        )
    else:
        raise ImproperlyConfigured(
            "HAWIYA_AUDIT_SIGNING_KEY must be set on a server: the audit log's Ed25519 key "
            "(32-byte seed in base64, or PEM)."
        )
    public_raw = private.public_key().public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )
    return SigningKey(private=private, public_raw=public_raw)


def signing_key() -> SigningKey:
    """The configured key (ImproperlyConfigured when a server has none, ValueError when malformed)."""
    return _key_from(
        str(getattr(settings, "HAWIYA_AUDIT_SIGNING_KEY", "") or ""),
        str(settings.SECRET_KEY),
        derived_key_allowed(),
    )


def sth_message(*, tree_size: int, root_hash: str, timestamp: dt.datetime | str, key_id: str) -> bytes:
    """The bytes an STH signature covers."""
    return canonical_json(
        {
            "log": LOG_NAME,
            "v": STH_VERSION,
            "tree_size": tree_size,
            "root_hash": root_hash,
            "timestamp": timestamp if isinstance(timestamp, str) else utc_iso(timestamp),
            "key_id": key_id,
        }
    )


def sth_sign(*, tree_size: int, root_hash: str, timestamp: dt.datetime) -> tuple[str, str]:
    """(key id, base64 signature) of a tree head."""
    key = signing_key()
    message = sth_message(tree_size=tree_size, root_hash=root_hash, timestamp=timestamp, key_id=key.key_id)
    return key.key_id, base64.b64encode(key.private.sign(message)).decode("ascii")


def sth_signature_valid(
    *, tree_size: int, root_hash: str, timestamp: dt.datetime, key_id: str, signature: str, public_raw: bytes
) -> bool:
    if key_id != key_id_of(public_raw):
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            raw, sth_message(tree_size=tree_size, root_hash=root_hash, timestamp=timestamp, key_id=key_id)
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
