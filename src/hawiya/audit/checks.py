"""System checks of the audit app: a server must not start unable to sign the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error

from .signing import derived_key_allowed, parse_private_key


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
