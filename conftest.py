"""Suite-wide test settings."""

from collections.abc import Iterator

import pytest
from django.test import override_settings


@pytest.fixture(autouse=True, scope="session")
def plain_static_files() -> Iterator[None]:
    """Production serves hashed static files from a manifest written by collectstatic; the suite
    serves them straight from the apps, so it does not depend on a collectstatic run."""
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        yield
