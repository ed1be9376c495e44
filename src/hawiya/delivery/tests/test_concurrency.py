"""Concurrent courier updates on PostgreSQL (row locks are real there; SQLite runs one writer at
a time anyway): the courier resends an update, or guesses codes, at the same moment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.core.testing import race
from hawiya.delivery.models import ShipmentEvent, ShipmentState
from hawiya.delivery.services import ShipmentUpdate, shipment_event_apply
from hawiya.replacements.handover import HandoverCodeRejected
from hawiya.replacements.models import HandoverCode, ReplacementEvent

from .factories import delivery_code, make_shipment

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def _update(
    reference: str, event_id: str, kind: str, at: dt.datetime, code: str = ""
) -> Callable[[], object]:
    return lambda: shipment_event_apply(
        reference=reference,
        event_id=event_id,
        kind=kind,
        at=at,
        handover_code=code,
        actor=Actor.courier("acme"),
    )


def test_the_same_update_sent_four_times_at_once_is_applied_once() -> None:
    shipment = make_shipment()
    at = clock.now() - dt.timedelta(minutes=1)

    results = race([_update(shipment.reference, "e1", "picked_up", at)] * 4)

    assert all(isinstance(result, ShipmentUpdate) for result in results), results
    assert sum(1 for result in results if isinstance(result, ShipmentUpdate) and not result.replayed) == 1
    assert ShipmentEvent.objects.filter(shipment=shipment).count() == 1
    assert (
        ReplacementEvent.objects.filter(replacement_id=shipment.replacement_id, action="dispatched").count()
        == 1
    )


def test_wrong_codes_at_once_are_all_counted_and_the_right_one_after_still_works() -> None:
    shipment = make_shipment()
    at = clock.now() - dt.timedelta(minutes=1)
    shipment_event_apply(
        reference=shipment.reference, event_id="p", kind="picked_up", at=at, actor=Actor.courier("a")
    )
    shipment_event_apply(
        reference=shipment.reference, event_id="o", kind="out_for_delivery", at=at, actor=Actor.courier("a")
    )
    code = delivery_code(shipment.replacement_id)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    results = race([_update(shipment.reference, f"d{n}", "delivered", at, wrong) for n in range(3)])

    assert all(isinstance(result, HandoverCodeRejected) for result in results), results
    assert HandoverCode.objects.get(replacement_id=shipment.replacement_id).attempts == 3
    done = shipment_event_apply(
        reference=shipment.reference,
        event_id="d9",
        kind="delivered",
        at=at,
        handover_code=code,
        actor=Actor.courier("a"),
    )
    assert done.shipment.state == ShipmentState.DELIVERED
