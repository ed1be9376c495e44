"""Factories for the payments tests: a replacement request awaiting payment (a reported-lost ID
card and a Replacement row, without waiting for the request pages), its bill through
`bill_issue`, and callbacks signed as the gateway signs them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from hawiya.audit.actors import Actor
from hawiya.core.references import insert_with_reference
from hawiya.identity.tests.factories import make_citizen
from hawiya.payments.gateways import signature_header
from hawiya.payments.models import Bill
from hawiya.payments.services import bill_issue
from hawiya.registry.models import Person
from hawiya.registry.tests.factories import make_address, make_lost_document
from hawiya.replacements.models import ReceiveMethod, Replacement

SECRET = "test-webhook-secret"
IP = "192.0.2.30"

# A second loss delivered: a 100 SAR fine (refundable) and the 35 SAR delivery fee (never).
FINE_AND_DELIVERY = [
    {"code": "id_card_loss_2", "amount_sar": "100", "refundable": True},
    {"code": "delivery", "amount_sar": "35", "refundable": False},
]
FINE_ONLY = [{"code": "id_card_loss_2", "amount_sar": "100", "refundable": True}]


def make_replacement(
    *,
    applicant: Person | None = None,
    method: str = ReceiveMethod.DELIVERY,
    fee_lines: list[dict[str, Any]] | None = None,
) -> Replacement:
    """A request awaiting payment for a reported-lost ID card (135 SAR delivered by default)."""
    lines = FINE_AND_DELIVERY if fee_lines is None else fee_lines
    if method == ReceiveMethod.COLLECTION and fee_lines is None:
        lines = FINE_ONLY
    document = make_lost_document(holder=applicant or make_citizen())
    return insert_with_reference(
        Replacement(
            applicant=document.holder,
            document=document,
            method=method,
            delivery_address=make_address(document.holder) if method == ReceiveMethod.DELIVERY else None,
            loss_number=2,
            fee_lines=lines,
            total_sar=sum((Decimal(str(line["amount_sar"])) for line in lines), Decimal(0)),
            idempotency_key=uuid.uuid4().hex,
            request_fingerprint="0" * 64,
        ),
        prefix="RP",
    )


def make_bill(*, at: dt.datetime | None = None, **overrides: Any) -> Bill:
    replacement = make_replacement(**overrides)
    return bill_issue(replacement_id=replacement.pk, at=at, actor=Actor.system("tests"))


def callback_body(bill: Bill | None = None, **overrides: Any) -> bytes:
    """The gateway's JSON for `bill`: paid in full unless told otherwise."""
    data: dict[str, Any] = {
        "event_id": f"evt_{uuid.uuid4().hex}",
        "bill_number": bill.bill_number if bill else "000000000000",
        "amount_sar": f"{bill.amount_sar:.2f}" if bill else "135.00",
        "status": "paid",
        "payment_id": f"pay_{uuid.uuid4().hex[:16]}",
    }
    data.update(overrides)
    return json.dumps(data).encode()


def signed(body: bytes, *, secret: str = SECRET, at: dt.datetime | None = None) -> str:
    return signature_header(body, secret, at=at)
