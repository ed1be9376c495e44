"""The audit tests sign with a fixed test key (a server configuration, as on PostgreSQL here,
has no derived one)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

TEST_SIGNING_SEED = base64.b64encode(bytes(range(32))).decode("ascii")


@pytest.fixture(autouse=True)
def audit_signing_key(settings: Any) -> str:
    settings.HAWIYA_AUDIT_SIGNING_KEY = TEST_SIGNING_SEED
    settings.HAWIYA_AUDIT_SEAL_SETTLE_SECONDS = 0
    settings.HAWIYA_AUDIT_SEAL_WAIT_SECONDS = 0.3
    return TEST_SIGNING_SEED
