"""The back-office tests' clock: pinned at factories.NOW, with the demo SMS outbox and gateway."""

from __future__ import annotations

from typing import Any

import pytest

from hawiya.core.testing import PinnedClock

from .factories import pin_back_office_clock


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch, settings: Any) -> PinnedClock:
    return pin_back_office_clock(monkeypatch, settings)
