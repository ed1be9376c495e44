"""SMS clients: one interface, a demo client and the operator's HTTP client.

The worker talks to whichever client `sms_client()` returns, so the demo and the real operator
sit behind the same interface (docs/design.md §4b). A client says one of three things: accepted (with
the operator's message id), rejected for good (`SmsRejected`: the message is marked failed at
once), or not now (`SmsTemporaryFailure`: the worker retries with backoff). Error codes are short
and stable; a client never puts the operator's response body, the recipient or the message text
into an exception or a log line.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import ClassVar, Protocol

from django.conf import settings
from django.utils.crypto import salted_hmac

from hawiya.core.outbound import CREDENTIAL_STATUSES, OutboundFailure, Partner, classify, post_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    """The operator accepted the message."""

    operator_message_id: str


class SmsSendError(Exception):
    """A send that did not succeed; `code` is short, stable and free of personal data."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SmsRejected(SmsSendError):
    """Permanent failure: retrying the same message cannot succeed (bad number, bad request)."""


class SmsTemporaryFailure(SmsSendError):
    """Temporary failure: the operator is down, slow or throttling; the same message may succeed later."""


class SmsClient(Protocol):
    """What the worker needs from an SMS channel."""

    # True when the outbox row is where the message is read (the demo inbox), so secret bodies
    # must be kept; a real operator has the text once it accepted it, and we blank our copy.
    keeps_secret_bodies: ClassVar[bool]

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        """Hand one message to the operator; `reference` is our idempotency key there."""
        ...


class DemoSmsClient:
    """Accepts everything. The outbox row is the demo inbox that /dev/sms shows."""

    keeps_secret_bodies: ClassVar[bool] = True

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        return SendResult(operator_message_id=f"demo-{reference}")


class HttpSmsClient:
    """The operator's JSON API: POST {base_url}/messages with a bearer token.

    Request: {"to": "+9665…", "body": "…", "reference": "<uuid>", "sender": "<sender id>"}.
    Answer: 2xx with {"id": "<operator message id>"}. The operator de-duplicates on `reference`,
    which makes every retry (after a timeout, a 5xx or a worker crash) safe.
    """

    keeps_secret_bodies: ClassVar[bool] = False

    def __init__(self, *, base_url: str, token: str, sender: str = "Hawiya", timeout: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/messages"
        self.token = token
        self.sender = sender
        self.timeout = timeout

    def __repr__(self) -> str:
        # Never the token.
        return f"HttpSmsClient(url={self.url!r}, sender={self.sender!r}, timeout={self.timeout})"

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        payload = json.dumps({"to": to, "body": body, "reference": reference, "sender": self.sender})
        try:
            raw = post_json(
                Partner.SMS_OPERATOR,
                self.url,
                payload.encode(),
                token=self.token,
                idempotency_key=reference,
                timeout=self.timeout,
            )
        except OutboundFailure as exc:
            if exc.status is not None:
                raise _classify_status(exc.status) from None
            raise SmsTemporaryFailure(f"operator_{exc.reason}") from None
        return SendResult(operator_message_id=_operator_id(raw))


def _classify_status(status: int) -> SmsSendError:
    # Which statuses are final for the operator: core.outbound.STATUS_RULES (its SMS row).
    if status in CREDENTIAL_STATUSES:
        # Our token, not the message: every message will fail until someone fixes it.
        logger.error("SMS operator refused our credentials (HTTP %s)", status)
    verdict = classify(Partner.SMS_OPERATOR, status)
    code = verdict.code("operator", status)
    return SmsRejected(code) if verdict.permanent else SmsTemporaryFailure(code)


def _operator_id(raw: bytes) -> str:
    # A 2xx we cannot read may still mean "accepted"; retrying with the same reference is safe
    # because the operator de-duplicates on it, so this is a temporary failure, not a success.
    try:
        data = json.loads(raw)
    except ValueError:
        raise SmsTemporaryFailure("operator_bad_response") from None
    message_id = data.get("id") if isinstance(data, dict) else None
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        message_id = str(message_id)
    if not isinstance(message_id, str) or not message_id or len(message_id) > 100:
        raise SmsTemporaryFailure("operator_bad_response")
    return message_id


def sms_client_name() -> str:
    """HAWIYA_SMS_CLIENT: "demo" or "http"; by default "demo" in demo mode, else "http"."""
    default = "demo" if getattr(settings, "DEMO", False) else "http"
    return str(getattr(settings, "HAWIYA_SMS_CLIENT", "") or default)


def operator_webhook_secret() -> str:
    """The secret the operator signs delivery reports with. The demo client, whose reports come
    from the demo /dev/sms page, falls back to a key derived from SECRET_KEY; the real operator has
    no fallback (an empty secret verifies nothing)."""
    configured = str(getattr(settings, "SMS_OPERATOR_WEBHOOK_SECRET", "") or "")
    if configured or sms_client_name() != "demo":
        return configured
    derived = salted_hmac("hawiya.notifications.demo-sms-operator", "delivery-report", algorithm="sha256")
    return derived.hexdigest()


def sms_client() -> SmsClient:
    """The client the settings choose. Built per call, so overridden settings take effect at once."""
    name = sms_client_name()
    if name == "demo":
        return DemoSmsClient()
    if name == "http":
        return HttpSmsClient(
            base_url=str(getattr(settings, "SMS_OPERATOR_URL", "")),
            token=str(getattr(settings, "SMS_OPERATOR_TOKEN", "")),
            sender=str(getattr(settings, "SMS_SENDER_ID", "Hawiya")),
            timeout=float(getattr(settings, "SMS_OPERATOR_TIMEOUT", 10.0)),
        )
    # The system check reports this at start-up; reaching it means checks were skipped.
    raise ValueError(f"HAWIYA_SMS_CLIENT must be 'demo' or 'http', not {name!r}")
