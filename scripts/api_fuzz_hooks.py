"""Schemathesis hooks for scripts/api-fuzz: sign each generated request as the payment gateway, the
SMS operator and the courier sign theirs (src/hawiya/core/signing.py), so generated bodies and
parameters get past the signature check to the validation and the lookups behind it.

The request is prepared exactly as schemathesis will send it (same serialisation, same URL
encoding), and its path, query and body are signed. The secrets come from the environment that
scripts/api-fuzz gives the server too.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from typing import Any

import requests
import schemathesis

GATEWAY_SECRET = os.environ["HAWIYA_PAYMENT_WEBHOOK_SECRET"]
SMS_OPERATOR_SECRET = os.environ["SMS_OPERATOR_WEBHOOK_SECRET"]
COURIER_KEY_ID = os.environ["HAWIYA_COURIER_KEY_ID"]
COURIER_SECRET = os.environ["HAWIYA_COURIER_SECRET"]
BASE_URL = os.environ["HAWIYA_FUZZ_BASE_URL"]


def _signature(message: bytes, secret: str) -> str:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    path = case.operation.path  # the full path, e.g. /api/v1/courier/shipments
    if not any(part in path for part in ("/payments/", "/sms/", "/courier/")):
        return
    prepared = requests.Request(**case.as_transport_kwargs(base_url=BASE_URL)).prepare()
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = dict(case.headers or {})
    if "/payments/" in path:
        headers["X-Hawiya-Signature"] = _signature(body, GATEWAY_SECRET)
    elif "/sms/" in path:
        # The operator's delivery reports are signed like the gateway's callbacks: over the body.
        headers["X-Hawiya-Signature"] = _signature(body, SMS_OPERATOR_SECRET)
    else:
        message = f"{(prepared.method or '').upper()}.{prepared.path_url}.".encode() + body
        headers["X-Hawiya-Signature"] = _signature(message, COURIER_SECRET)
        headers["X-Hawiya-Key-Id"] = COURIER_KEY_ID
    case.headers = headers
