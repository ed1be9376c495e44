from typing import Any

import pytest

from .factories import SECRET


@pytest.fixture(autouse=True)
def _payment_settings(settings: Any) -> None:
    """The demo gateway, callbacks signed with a known secret, text messages kept in the outbox."""
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = SECRET
    settings.HAWIYA_SMS_CLIENT = "demo"
