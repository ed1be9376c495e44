"""System checks of the audit app: a server must not start unable to sign the audit log, or to
check the seals its retired keys signed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error

from .signing import derived_key_allowed, parse_private_key, parse_retired_key, retired_key_texts


def audit_signing_key_configured(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """HAWIYA_AUDIT_SIGNING_KEY is set on a server, and is an Ed25519 key wherever it is set."""
    configured = str(getattr(settings, "HAWIYA_AUDIT_SIGNING_KEY", "") or "")
    if not configured:
        if derived_key_allowed():
            return []
        return [
            Error(
                "HAWIYA_AUDIT_SIGNING_KEY is not set: the audit log's tree heads cannot be signed.",
                hint="Set it to an Ed25519 private key: the 32-byte seed in base64 (python -c "
                '"import base64, os; print(base64.b64encode(os.urandom(32)).decode())") or a PEM. '
                "Keep it out of the repository and out of the database.",
                id="audit.E001",
            )
        ]
    try:
        parse_private_key(configured)
    except ValueError as error:
        return [
            Error(
                f"HAWIYA_AUDIT_SIGNING_KEY is not an Ed25519 private key ({error}).",
                hint="A base64 32-byte seed or a PKCS#8 PEM.",
                id="audit.E002",
            )
        ]
    return []


def audit_retired_keys_valid(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """Each of HAWIYA_AUDIT_RETIRED_KEYS is an Ed25519 public key, with the time it was retired
    if given: a malformed one would leave the seals it signed unverifiable."""
    errors: list[CheckMessage] = []
    for number, text in enumerate(retired_key_texts(), start=1):
        try:
            parse_retired_key(text)
        except ValueError as error:
            errors.append(
                Error(
                    f"HAWIYA_AUDIT_RETIRED_KEYS: key {number} is not an Ed25519 public key with an "
                    f"optional retirement time ({error}).",
                    hint="The public_key that /.well-known/hawiya-audit-key published for it (the "
                    "base64 of 32 bytes), then optionally @ and the time it stopped signing, e.g. "
                    "@2026-12-01T09:00:00Z.",
                    id="audit.E003",
                )
            )
    return errors
