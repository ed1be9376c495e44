"""Test data built through the services, as real callers build it."""

from __future__ import annotations

from typing import Any

from hawiya.notifications.models import SmsMessage
from hawiya.notifications.services import sms_send

MOBILE = "+966512345678"


def queue_sms(**overrides: Any) -> SmsMessage:
    """A queued message: a one-time code to MOBILE in Arabic unless told otherwise."""
    arguments: dict[str, Any] = {
        "to": MOBILE,
        "template": "one_time_code",
        "context": {"code": "482913", "purpose": "sign_in"},
        "language": "ar",
    }
    arguments.update(overrides)
    return sms_send(**arguments)


def queue_notice(**overrides: Any) -> SmsMessage:
    """A queued message without a secret: the password-changed notice in English."""
    return queue_sms(**{"template": "password_changed", "context": {}, "language": "en", **overrides})
