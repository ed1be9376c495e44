"""Security review (issue #5) of the courier API: a signature covers the query string too; the
handover code cannot be guessed (five tries per code, two rounds per shipment); a card that went
back to the office can no longer be "delivered" with the code the holder was sent for the door."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from hawiya.delivery.models import Shipment, ShipmentState
from hawiya.delivery.tests.factories import delivery_code, make_shipment
from hawiya.replacements.models import Replacement, ReplacementState

from .test_courier_api import IP, LIST_URL, _headers, _settings, courier, event, post_event

__all__ = ["_settings", "courier"]  # fixtures shared with test_courier_api

pytestmark = pytest.mark.django_db


def _other(code: str, step: int = 1) -> str:
    return f"{(int(code) + step) % 10**6:06d}"


def _state(shipment: Shipment) -> tuple[str, str]:
    shipment.refresh_from_db()
    return shipment.state, Replacement.objects.get(pk=shipment.replacement_id).state


def test_a_signature_covers_the_query_string(courier: Client) -> None:
    make_shipment()
    signed = _headers("GET", f"{LIST_URL}?state=awaiting_pickup", b"")

    other_query = courier.get(f"{LIST_URL}?state=picked_up", REMOTE_ADDR=IP, headers=signed)
    same_query = courier.get(f"{LIST_URL}?state=awaiting_pickup", REMOTE_ADDR=IP, headers=signed)

    assert other_query.status_code == 401
    assert same_query.status_code == 200
    assert same_query.json()["count"] == 1


def test_five_wrong_codes_lock_the_door_code_even_for_the_right_one(courier: Client) -> None:
    shipment = make_shipment()
    post_event(courier, shipment.reference, event("p", "picked_up"))
    post_event(courier, shipment.reference, event("o", "out_for_delivery"))
    code = delivery_code(shipment.replacement_id)

    answers = [
        post_event(
            courier, shipment.reference, event(f"d{n}", "delivered", handover_code=_other(code, n))
        ).json()["code"]
        for n in range(1, 6)
    ]
    right = post_event(courier, shipment.reference, event("d6", "delivered", handover_code=code))

    assert answers == ["handover_code_invalid"] * 4 + ["handover_code_locked"]
    assert right.status_code == 422
    assert right.json()["code"] == "handover_code_locked"
    assert _state(shipment) == (ShipmentState.OUT_FOR_DELIVERY, ReplacementState.OUT_FOR_DELIVERY)
    # A new round needs a failed attempt first: the courier cannot ask for fresh codes at will.
    again = post_event(courier, shipment.reference, event("o2", "out_for_delivery"))
    assert again.status_code == 409


def test_a_returned_card_cannot_be_delivered_with_a_door_code(courier: Client) -> None:
    shipment = make_shipment()
    post_event(courier, shipment.reference, event("p", "picked_up"))
    codes: list[str] = []
    for round_ in (1, 2):
        post_event(courier, shipment.reference, event(f"o{round_}", "out_for_delivery"))
        codes.append(delivery_code(shipment.replacement_id))
        post_event(courier, shipment.reference, event(f"f{round_}", "failed_attempt", reason="nobody_home"))
    assert _state(shipment) == (ShipmentState.RETURNED, ReplacementState.RETURNED_TO_OFFICE)

    answers: list[Any] = [
        post_event(courier, shipment.reference, event(f"late{n}", "delivered", handover_code=code))
        for n, code in enumerate(codes)
    ]
    answers.append(post_event(courier, shipment.reference, event("late-o", "out_for_delivery")))

    assert [answer.status_code for answer in answers] == [409, 409, 409]
    assert _state(shipment) == (ShipmentState.RETURNED, ReplacementState.RETURNED_TO_OFFICE)
