"""How relying parties' client secrets are stored: a keyed fast hash, not the password hasher.

A client secret is random and high-entropy (django-oauth-toolkit generates 128 characters), so a
slow hash adds no protection against guessing and would cap the token endpoint at a few dozen
requests per second (Argon2 on every code exchange). The stored value is
`hawiya_hmac_sha256$<salt>$<hex HMAC-SHA256(key, salt + secret)>`, where the key is derived from
SECRET_KEY: a stolen table alone does not let anyone check a guess. Wired through
django-oauth-toolkit's CLIENT_SECRET_HASHER setting; the hasher is listed last in
PASSWORD_HASHERS, so it never hashes an account's password.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_noop


def _key() -> bytes:
    return hashlib.sha256(f"hawiya-client-secret:{settings.SECRET_KEY}".encode()).digest()


class ClientSecretHasher(BasePasswordHasher):
    algorithm = "hawiya_hmac_sha256"

    def encode(self, password: str, salt: str) -> str:
        if password is None or not salt or "$" in salt:
            raise ValueError("a client secret and a salt without '$' are needed")
        digest = hmac.new(_key(), (salt + password).encode(), hashlib.sha256).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict[str, Any]:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm  # noqa: S101 - Django's hashers do the same
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        decoded = self.decode(encoded)
        return constant_time_compare(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded: str) -> dict[Any, Any]:
        decoded = self.decode(encoded)
        return {
            gettext_noop("algorithm"): decoded["algorithm"],
            gettext_noop("salt"): mask_hash(decoded["salt"], show=2),
            gettext_noop("hash"): mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None
