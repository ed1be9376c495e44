"""Badly signed calls to a signed endpoint (the gateway's callback, the courier API), counted per
client address in 10-minute windows. They write nothing and are logged with the address; past the
limit the address is answered 429 until its window ends. Validly signed calls are never held back.
The counting is a fixed-window `RateLimit` (core/ratelimit.py), one per endpoint.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.functional import Promise

from hawiya.core.errors import ApplicationError
from hawiya.core.ratelimit import RateLimit
from hawiya.identity.throttles import ip_bucket

WINDOW_SECONDS = 600


class SignatureThrottled(ApplicationError):
    status_code = 429


class SignatureFailures:
    """One endpoint's counter: `name` keys the cache, `limit_setting` names the setting with the
    limit (default 20), `label` starts the log lines, `code`/`message` make the 429 answer."""

    def __init__(
        self,
        *,
        name: str,
        limit_setting: str,
        label: str,
        code: str,
        message: Promise,
        logger: logging.Logger,
    ) -> None:
        self.name, self.limit_setting, self.label = name, limit_setting, label
        self.code, self.message, self.logger = code, message, logger

    def limit(self) -> int:
        return int(getattr(settings, self.limit_setting, 20))

    def rate_limit(self) -> RateLimit:
        """Built per call, so a changed setting applies at once."""
        return RateLimit(f"api:{self.name}:failures", self.limit(), WINDOW_SECONDS)

    def record(self, ip: str, reason: str) -> None:
        """Count and log one badly signed call from `ip`; raise SignatureThrottled past the limit."""
        decision = self.rate_limit().hit(ip_bucket(ip))
        count = decision.count
        if decision.allowed:
            self.logger.warning(
                "%s refused from %s: %s (%d in this window)", self.label, ip or "-", reason, count
            )
            return
        if decision.just_exceeded:
            self.logger.warning(
                "%s from %s throttled: %d badly signed in 10 minutes", self.label, ip or "-", count
            )
        raise SignatureThrottled(self.code, self.message)
