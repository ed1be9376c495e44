"""Reads of the delivery app: what the courier (API or demo page) sees of shipments.

The courier sees, per shipment, only what it needs to hand the card over: the reference, the
name as on the card (Arabic and Latin), the applicant's mobile (to call them), the address
snapshot and the office it returns to. Never an ID number or a date of birth.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import NotFound

from . import errors
from .couriers import shipment_address
from .models import SHIPMENT_ENDED_STATE_VALUES, Shipment, ShipmentState

# What a courier may list: the states in which it still has something to do.
OPEN_STATES: tuple[str, ...] = tuple(s for s in ShipmentState.values if s not in SHIPMENT_ENDED_STATE_VALUES)
MAX_LIST = 200


@dataclass(frozen=True)
class CourierOffice:
    code: str
    name_ar: str
    name_en: str
    address_ar: str
    address_en: str
    city_ar: str
    city_en: str


@dataclass(frozen=True)
class CourierShipment:
    """One shipment as the courier sees it."""

    reference: str
    state: str
    state_label: str
    failed_attempts: int
    courier_reference: str
    created_at: dt.datetime
    recipient_name_ar: str
    recipient_name_en: str
    recipient_mobile: str
    address: dict[str, str]
    office: CourierOffice | None
    replacement_reference: str


def _for_courier(queryset: QuerySet[Shipment]) -> QuerySet[Shipment]:
    return queryset.select_related("office", "replacement__applicant", "replacement__document__holder")


def _view(shipment: Shipment) -> CourierShipment:
    replacement = shipment.replacement
    holder = replacement.document.holder
    office = shipment.office
    return CourierShipment(
        reference=shipment.reference,
        state=shipment.state,
        state_label=str(shipment.get_state_display()),
        failed_attempts=shipment.failed_attempts,
        courier_reference=shipment.courier_reference,
        created_at=shipment.created_at,
        recipient_name_ar=holder.full_name_ar,
        recipient_name_en=holder.full_name_en,
        recipient_mobile=replacement.applicant.mobile,
        address=shipment_address(shipment),
        office=(
            CourierOffice(
                code=office.code,
                name_ar=office.name_ar,
                name_en=office.name_en,
                address_ar=office.address_ar,
                address_en=office.address_en,
                city_ar=office.city_ar,
                city_en=office.city_en,
            )
            if office is not None
            else None
        ),
        replacement_reference=replacement.reference,
    )


def shipments_for_courier(
    *, states: tuple[str, ...] = OPEN_STATES, limit: int = MAX_LIST
) -> list[CourierShipment]:
    """Open shipments in `states` (oldest first: first made, first picked up), at most `limit`
    (bounded by MAX_LIST). A state that is not open lists nothing."""
    wanted = [state for state in states if state in OPEN_STATES]
    rows = _for_courier(Shipment.objects.filter(state__in=wanted)).order_by("created_at", "id")
    return [_view(shipment) for shipment in rows[: max(0, min(limit, MAX_LIST))]]


def shipment_for_courier(*, reference: str) -> CourierShipment:
    """One shipment by reference (open or not), or NotFound."""
    if not (reference.isascii() and reference.isalnum()):  # e.g. a NUL, which PostgreSQL refuses
        raise NotFound(errors.SHIPMENT_NOT_FOUND, _("This shipment was not found."))
    shipment = _for_courier(Shipment.objects.filter(reference=reference)).first()
    if shipment is None:
        raise NotFound(errors.SHIPMENT_NOT_FOUND, _("This shipment was not found."))
    return _view(shipment)
