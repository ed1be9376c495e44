"""Schemathesis hooks for scripts/api-fuzz: sign each generated request as the payment gateway, the
SMS operator and the courier sign theirs (src/hawiya/core/signing.py), and give the document-status
and approvals calls a party's access token (client credentials at /oidc/token/), so generated bodies and
parameters get past the authentication to the validation and the lookups behind it.

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
PARTY_ID = os.environ["HAWIYA_FUZZ_PARTY_ID"]
PARTY_SECRET = os.environ["HAWIYA_FUZZ_PARTY_SECRET"]
# Access tokens live 10 minutes; one is fetched again after 5.
TOKEN_REUSE_SECONDS = 300
_token: dict[str, Any] = {}


def _party_token() -> str:
    if not _token or time.time() - _token["at"] > TOKEN_REUSE_SECONDS:
        answer = requests.post(
            f"{BASE_URL}/oidc/token/",
            data={"grant_type": "client_credentials", "scope": "document_status approvals"},
            auth=(PARTY_ID, PARTY_SECRET),
            timeout=10,
        )
        answer.raise_for_status()
        _token.update(value=answer.json()["access_token"], at=time.time())
    return str(_token["value"])


def _signature(message: bytes, secret: str) -> str:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    path = case.operation.path  # the full path, e.g. /api/v1/courier/shipments
    if "/document-status" in path or "/approvals" in path:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {_party_token()}"}
        return
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
