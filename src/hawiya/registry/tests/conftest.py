"""Fixtures shared by the register's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture
def english() -> Iterator[None]:
    """Messages in English (the site's default is Arabic), for tests that compare their text."""
    with translation.override("en"):
        yield
