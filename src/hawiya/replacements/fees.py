"""The fee ladder: what a replacement costs, line by line.

An ID card's loss fine climbs with the holder's count of losses of it (1st free, 2nd SAR 100, 3rd
SAR 300, 4th and later SAR 1,000); certificates have their own fee; a loss reported late adds the
late-report fine; delivery adds the courier fee (never refunded). The amounts are FeeRate rows the
administrator edits; DEFAULT_FEES stands in for a missing row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from hawiya.losses.models import LossReportItem
from hawiya.registry.models import Document, DocumentKind, Person

from .models import FeeCode, FeeRate, ReceiveMethod

# What the data migration writes; used only if a row was deleted from the admin.
DEFAULT_FEES: dict[str, Decimal] = {
    FeeCode.ID_CARD_LOSS_1: Decimal(0),
    FeeCode.ID_CARD_LOSS_2: Decimal(100),
    FeeCode.ID_CARD_LOSS_3: Decimal(300),
    FeeCode.ID_CARD_LOSS_4_PLUS: Decimal(1000),
    FeeCode.LATE_REPORT: Decimal(100),
    FeeCode.BIRTH_CERTIFICATE: Decimal(0),
    FeeCode.DEATH_CERTIFICATE: Decimal(0),
    FeeCode.FAMILY_RECORD: Decimal(0),
    FeeCode.DELIVERY: Decimal(35),
}


CERTIFICATE_FEES: dict[str, str] = {
    DocumentKind.BIRTH_CERTIFICATE: FeeCode.BIRTH_CERTIFICATE,
    DocumentKind.DEATH_CERTIFICATE: FeeCode.DEATH_CERTIFICATE,
    DocumentKind.FAMILY_RECORD: FeeCode.FAMILY_RECORD,
}


def format_amount(amount: Decimal) -> str:
    """100 → "100", 1000 → "1,000", 12.5 → "12.50" (Western digits, docs/ui.md §3)."""
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount:,.2f}"


def sar(amount: Decimal) -> str:
    """ "SAR 100" / "100 ريال"."""
    return str(_("SAR %(amount)s") % {"amount": format_amount(amount)})


@dataclass(frozen=True)
class FeeLine:
    code: str
    label: str
    amount: Decimal
    # Fines are refunded if the request is rejected; the delivery fee never is.
    refundable: bool


@dataclass(frozen=True)
class FeeQuote:
    lines: tuple[FeeLine, ...]
    loss_number: int
    reported_late: bool
    total: Decimal = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum((line.amount for line in self.lines), Decimal(0)))

    @property
    def fine(self) -> Decimal:
        """The fine part (ID-card loss fine and late-report fine)."""
        return sum(
            (line.amount for line in self.lines if line.code != FeeCode.DELIVERY and line.refundable),
            Decimal(0),
        )

    @property
    def delivery_fee(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.code == FeeCode.DELIVERY), Decimal(0))

    def as_json(self) -> list[dict[str, object]]:
        """What the request stores: what was explained to the person when they submitted."""
        return [
            {"code": line.code, "amount_sar": str(line.amount), "refundable": line.refundable}
            for line in self.lines
        ]


def fee_rates() -> dict[str, Decimal]:
    """The fee schedule as the admin set it (defaults for any row missing)."""
    rates = dict(DEFAULT_FEES)
    rates.update(dict(FeeRate.objects.values_list("code", "amount_sar")))
    return rates


def loss_number_of(document: Document) -> int:
    """Which loss of this kind this is for the holder: every version ever reported lost counts."""
    return Document.objects.filter(
        holder_id=document.holder_id, kind=document.kind, reported_lost_at__isnull=False
    ).count()


def _reported_late(document: Document) -> bool:
    item = LossReportItem.objects.filter(document=document).select_related("report").first()
    return bool(item and item.report.is_late)


def id_card_loss_fee_code(loss_number: int) -> str:
    return {
        1: FeeCode.ID_CARD_LOSS_1,
        2: FeeCode.ID_CARD_LOSS_2,
        3: FeeCode.ID_CARD_LOSS_3,
    }.get(loss_number, FeeCode.ID_CARD_LOSS_4_PLUS)


def replacement_quote(*, applicant: Person, document: Document, method: str, today: dt.date) -> FeeQuote:
    """The fee, line by line: the ID-card loss fine by the holder's count of losses (1st free,
    2nd, 3rd, 4th and later), the certificate fee, the late-report fine when the loss was
    reported late, and the delivery fee when delivered (never refunded)."""
    rates = fee_rates()
    labels = dict(FeeCode.choices)
    number = loss_number_of(document)
    late = _reported_late(document)
    codes: list[str] = []
    if document.kind == DocumentKind.NATIONAL_ID_CARD:
        codes.append(id_card_loss_fee_code(number))
    else:
        codes.append(CERTIFICATE_FEES[document.kind])
    if late:
        codes.append(FeeCode.LATE_REPORT)
    if method == ReceiveMethod.DELIVERY:
        codes.append(FeeCode.DELIVERY)
    lines = tuple(
        FeeLine(code=code, label=str(labels[code]), amount=rates[code], refundable=code != FeeCode.DELIVERY)
        for code in codes
    )
    return FeeQuote(lines=lines, loss_number=number, reported_late=late)
