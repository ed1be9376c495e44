"""Reads of bills: a request's bill, a person's bill (not found alike for a missing bill and
someone else's), its lines as the person reads them, and the latest word from the gateway."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import NotFound
from hawiya.registry.models import Person
from hawiya.replacements.models import FeeCode, Replacement

from . import errors
from .models import BILL_NUMBER_DIGITS, Bill, PaymentCallback


def bill_for_replacement(*, replacement: Replacement) -> Bill | None:
    """The request's bill, or None (no fee, or not issued yet)."""
    return Bill.objects.filter(replacement=replacement).first()


def bill_get_for_person(*, person: Person, bill_number: str) -> Bill:
    """The bill with this number if `person` applied for its request, else NotFound."""
    number = str(bill_number or "")
    bill = None
    if len(number) == BILL_NUMBER_DIGITS and number.isascii() and number.isdigit():
        bill = (
            Bill.objects.filter(bill_number=number, replacement__applicant=person)
            .select_related("replacement", "replacement__applicant", "replacement__document")
            .first()
        )
    if bill is None:
        raise NotFound(errors.BILL_NOT_FOUND, _("This bill was not found."))
    return bill


@dataclass(frozen=True)
class BillLine:
    code: str
    label: str
    amount: Decimal
    refundable: bool


def bill_lines(*, bill: Bill) -> list[BillLine]:
    """The bill's lines with their labels in the active language."""
    labels = dict(FeeCode.choices)
    return [
        BillLine(
            code=str(line.get("code", "")),
            label=str(labels.get(str(line.get("code", "")), line.get("code", ""))),
            amount=Decimal(str(line.get("amount_sar", "0"))),
            refundable=bool(line.get("refundable", False)),
        )
        for line in bill.lines
        if isinstance(line, dict)
    ]


def bill_last_callback(*, bill: Bill) -> PaymentCallback | None:
    """The gateway's latest verified word on this bill (e.g. a declined card), or None."""
    return PaymentCallback.objects.filter(bill=bill, verified=True).order_by("-received_at", "-id").first()
