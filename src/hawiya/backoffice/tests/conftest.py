"""What the back-office tests share: quick password hashing (they sign staff in many times), a
clean cache for every test (the sign-in throttles count per IP in it), and an administrator's
signed-in client."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.casework.tests.factories import signed_in, staff_user
from hawiya.identity.models import StaffRole


@pytest.fixture(autouse=True)
def _fast_hashing_and_a_clean_cache(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    cache.clear()


@pytest.fixture
def admin() -> Client:
    return signed_in(staff_user(role=StaffRole.ADMINISTRATOR, office=None))
