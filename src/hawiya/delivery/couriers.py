"""The courier company: one interface, a demo courier and the real courier's HTTP client.

`courier()` returns whichever the settings choose (HAWIYA_COURIER = "demo" | "http"; docs/design.md
§4b: the demo sits behind the same interface as the real client). We tell the courier about a new
shipment (`announce`); the courier then pulls what to pick up and pushes status updates through
the courier API (api/courier.py), signed with the key described in `courier_secrets()`.

Errors are short stable codes; nothing here puts the courier's response body, the API token or
the signing secret into an exception or a log line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ApplicationError
from hawiya.core.outbound import CREDENTIAL_STATUSES, OutboundFailure, Partner, classify, post_json
from hawiya.core.signing import SignatureInvalid, request_message, verify

from . import errors
from .models import Shipment

logger = logging.getLogger(__name__)

COURIERS = ("demo", "http")
DEMO_KEY_ID = "demo-courier"
MAX_TRACKING_ID = 64


@dataclass(frozen=True)
class CourierReceipt:
    """The courier's answer to an announced shipment: its own tracking number."""

    tracking_id: str


class CourierError(ApplicationError):
    """The courier did not take the shipment; `extra["reason"]` is a short stable code.
    `permanent` (a refusal of this shipment) is not worth retrying; anything else is."""

    status_code = 502

    @property
    def permanent(self) -> bool:
        return self.code == errors.COURIER_REFUSED


def _unavailable(reason: str) -> CourierError:
    return CourierError(
        errors.COURIER_UNAVAILABLE, _("The courier's system is not answering at the moment."), reason=reason
    )


def _refused(reason: str) -> CourierError:
    return CourierError(
        errors.COURIER_REFUSED, _("The courier's system refused this shipment."), reason=reason
    )


class Courier(Protocol):
    """What the delivery app needs from a courier company."""

    def announce(self, shipment: Shipment) -> CourierReceipt:
        """Tell the courier a shipment awaits pickup; returns its tracking number. Safe to repeat:
        the shipment's reference is the idempotency key, so a retry never makes a second one."""
        ...


def shipment_payload(shipment: Shipment) -> dict[str, object]:
    """What the courier is told about a shipment: the reference, whom to hand it to (the name as
    on the card and the applicant's mobile, to call them), the address snapshot and the office.
    Nothing else personal: no ID number, no date of birth."""
    replacement = shipment.replacement
    holder = replacement.document.holder
    office = shipment.office
    return {
        "reference": shipment.reference,
        "recipient": {
            "name_ar": holder.full_name_ar,
            "name_en": holder.full_name_en,
            "mobile": replacement.applicant.mobile,
        },
        "address": shipment_address(shipment),
        "office": (
            {"code": office.code, "name_ar": office.name_ar, "name_en": office.name_en}
            if office is not None
            else None
        ),
    }


def shipment_address(shipment: Shipment) -> dict[str, str]:
    """The address snapshot, in the national address's own fields."""
    return {
        "building_number": shipment.building_number,
        "street_ar": shipment.street_ar,
        "street_en": shipment.street_en,
        "district_ar": shipment.district_ar,
        "district_en": shipment.district_en,
        "city_ar": shipment.city_ar,
        "city_en": shipment.city_en,
        "region": shipment.region,
        "postal_code": shipment.postal_code,
        "additional_number": shipment.additional_number,
        "unit_number": shipment.unit_number,
        "short_address": shipment.short_address,
    }


class DemoCourier:
    """Demo mode: accepts every shipment at once; the demo courier page plays the courier."""

    def announce(self, shipment: Shipment) -> CourierReceipt:
        return CourierReceipt(tracking_id=f"DEMO-{shipment.reference}")


class HttpCourier:
    """The courier's JSON API, with a bearer token.

    POST {base}/shipments {reference, recipient, address, office} → {"tracking_id"}, with the
    shipment's reference as Idempotency-Key. Redirects are refused (core.outbound).
    """

    def __init__(self, *, base_url: str, api_token: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_token = api_token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"HttpCourier(base_url={self.base_url!r}, timeout={self.timeout})"  # never the token

    def announce(self, shipment: Shipment) -> CourierReceipt:
        try:
            raw = post_json(
                Partner.COURIER,
                self.base_url + "/shipments",
                json.dumps(shipment_payload(shipment), ensure_ascii=False).encode(),
                token=self.api_token,
                idempotency_key=shipment.reference,
                timeout=self.timeout,
            )
        except OutboundFailure as exc:
            if exc.status is not None:
                raise _classify(exc.status) from None
            raise _unavailable(f"courier_{exc.reason}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise _unavailable("courier_bad_response") from None
        tracking_id = data.get("tracking_id") if isinstance(data, dict) else None
        if isinstance(tracking_id, int) and not isinstance(tracking_id, bool):
            tracking_id = str(tracking_id)
        if (
            not isinstance(tracking_id, str)
            or not tracking_id
            or len(tracking_id) > MAX_TRACKING_ID
            or not tracking_id.isprintable()
        ):
            raise _unavailable("courier_bad_response")
        return CourierReceipt(tracking_id=tracking_id)


def _classify(status: int) -> CourierError:
    """Only an answer about the shipment itself (400, 404, 422…) is a refusal; our token refused
    (a misconfiguration someone will fix), 409 (the same key in flight), 408/425/429 and 5xx are
    retried. A redirect (3xx) is never followed: a refusal, as for the payment gateway."""
    if status in CREDENTIAL_STATUSES:
        logger.error("The courier refused our credentials (HTTP %s)", status)
    verdict = classify(Partner.COURIER, status)  # core.outbound.STATUS_RULES
    code = verdict.code("courier", status)
    return _refused(code) if verdict.permanent else _unavailable(code)


def courier_name() -> str:
    """HAWIYA_COURIER: "demo" or "http" (demo by default only in demo mode)."""
    default = "demo" if getattr(settings, "DEMO", False) else "http"
    return str(getattr(settings, "HAWIYA_COURIER", "") or default)


def courier() -> Courier:
    """The courier the settings choose, built per call (overridden settings apply at once)."""
    name = courier_name()
    if name == "demo":
        return DemoCourier()
    if name == "http":
        return HttpCourier(
            base_url=str(getattr(settings, "HAWIYA_COURIER_URL", "")),
            api_token=str(getattr(settings, "HAWIYA_COURIER_API_TOKEN", "")),
            timeout=float(getattr(settings, "HAWIYA_COURIER_TIMEOUT", 10.0)),
        )
    raise ValueError(f"HAWIYA_COURIER must be 'demo' or 'http', not {name!r}")


# --- The courier's signing key (inbound: the courier API) ------------------------------------------


def courier_key_id() -> str:
    """The key id the courier sends in X-Hawiya-Key-Id (the demo's is fixed)."""
    configured = str(getattr(settings, "HAWIYA_COURIER_KEY_ID", "") or "")
    if configured or courier_name() != "demo":
        return configured
    return DEMO_KEY_ID


def courier_secrets() -> tuple[str, ...]:
    """The secrets a signature may be made with: the current one, then the previous one while a
    rotation is under way. The demo courier falls back to a key derived from SECRET_KEY (like the
    demo payment gateway); the real one has no fallback (no secret: nothing verifies)."""
    current = str(getattr(settings, "HAWIYA_COURIER_SECRET", "") or "")
    previous = str(getattr(settings, "HAWIYA_COURIER_SECRET_PREVIOUS", "") or "")
    if not current and courier_name() == "demo":
        current = salted_hmac("hawiya.delivery.demo-courier", "api", algorithm="sha256").hexdigest()
    return tuple(secret for secret in (current, previous) if secret)


KEY_ID_HEADER = "X-Hawiya-Key-Id"


class CourierUnauthorized(ApplicationError):
    """A courier API call without a valid signature by a known key; `extra["reason"]` says why
    (missing, malformed, stale, mismatch, unknown_key, no_secret) for the log, never the caller."""

    status_code = 401


def courier_call_verify(
    *, key_id: str, signature: str, method: str, path: str, body: bytes, now: dt.datetime | None = None
) -> str:
    """The courier's key id, if the call is signed by it: `X-Hawiya-Signature: t=<unix>,v1=<hex
    HMAC-SHA256(secret, "<t>.<METHOD>.<path>.<body>")>` within five minutes, with the current or
    the previous secret. Raises CourierUnauthorized (the same answer whatever the reason)."""
    expected_key = courier_key_id()
    reason = ""
    if not key_id or not expected_key or not constant_time_compare(key_id, expected_key):
        reason = "unknown_key"
    try:
        verify(request_message(method, path, body), signature, courier_secrets(), now=now)
    except SignatureInvalid as exc:
        reason = reason or exc.reason
    if reason:
        raise CourierUnauthorized(
            errors.COURIER_SIGNATURE_INVALID,
            _("The request is not signed by a known courier key, or the signature has expired."),
            reason=reason,
        )
    return expected_key
