"""The citizen follows the courier on their request's timeline, in their language: every update,
and why an attempt failed in words (never the courier's code)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.delivery.services import shipment_event_apply
from hawiya.identity.tests.factories import activate

from .factories import make_shipment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Handed to the courier", "Delivery attempt failed", "nobody was at the address"]),
        ("ar", ["لم يكن أحد في العنوان"]),
    ],
)
def test_the_timeline_shows_the_courier_updates_and_the_reason_in_words(
    language: str, words: list[str]
) -> None:
    shipment = make_shipment()
    at = clock.now() - dt.timedelta(minutes=1)
    for event_id, kind, extra in (
        ("e1", "picked_up", {}),
        ("e2", "out_for_delivery", {}),
        ("e3", "failed_attempt", {"reason": "nobody_home"}),
    ):
        shipment_event_apply(
            reference=shipment.reference,
            event_id=event_id,
            kind=kind,
            at=at,
            actor=Actor.courier("acme"),
            **extra,
        )
    client = Client()
    client.force_login(activate(shipment.replacement.applicant))

    page = client.get(f"/{language}/requests/{shipment.replacement.reference}/")

    assert page.status_code == 200
    text = page.content.decode()
    for word in words:
        assert word in text
    assert "nobody_home" not in text
