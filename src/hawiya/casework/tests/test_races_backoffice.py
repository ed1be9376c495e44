"""The officer's steps and the courier's updates at the same moment, on PostgreSQL with real
threads and separate connections (SQLite runs one writer at a time: these races need row locks).

Each race must leave the data as one of the two orders would: one new document version, one
check-in, one collection, one delivery; the loser gets a clear ApplicationError (never a database
error), and the audit chain stays unbroken.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from hawiya.appointments import errors as appointment_errors
from hawiya.appointments.models import AppointmentState
from hawiya.audit.actors import Actor
from hawiya.audit.selectors import audit_chain_verify
from hawiya.casework.backoffice import (
    appointment_check_in,
    replacement_approve,
    replacement_hand_over,
    replacement_mark_printed,
    replacement_mark_ready,
)
from hawiya.core.testing import PinnedClock, outcome, race
from hawiya.delivery.models import Shipment, ShipmentEvent, ShipmentState
from hawiya.delivery.services import ShipmentUpdate, shipment_event_apply
from hawiya.registry.models import Document
from hawiya.replacements import errors as replacement_errors
from hawiya.replacements.handover import HANDOVER_CODE_USED
from hawiya.replacements.models import HandoverCode, ReplacementEvent, ReplacementState

from .factories import (
    NOW,
    Case,
    advance,
    collection_case,
    delivery_case,
    handover_code,
    officer,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent writers on separate connections; SQLite serialises all writers",
    ),
]
S = ReplacementState
CONFLICT = replacement_errors.REPLACEMENT_STATE_CONFLICT


def _race(calls: list[Callable[[], object]]) -> list[str]:
    """Run the calls at the same moment, each on its own connection: "ok" (or "replayed" for a
    courier update applied before), the error code, or "error: …" (a deadlock is a bug)."""
    return [
        "replayed" if isinstance(result, ShipmentUpdate) and result.replayed else outcome(result)
        for result in race(calls)
    ]


def _steps(case: Case, action: str) -> int:
    return ReplacementEvent.objects.filter(replacement_id=case.replacement.pk, action=action).count()


def _captured(pinned: PinnedClock) -> Case:
    case = collection_case(pinned)
    advance(case, officer(case.office), to="biometrics_captured")
    return case


def test_two_officers_approving_at_once_issue_exactly_one_new_version(pinned: PinnedClock) -> None:
    case = _captured(pinned)
    first, second = officer(case.office), officer(case.office)
    lost = case.replacement.document

    outcomes = _race(
        [
            lambda: replacement_approve(staff=first, replacement_id=case.replacement.pk),
            lambda: replacement_approve(staff=second, replacement_id=case.replacement.pk),
        ]
    )

    assert sorted(outcomes) == sorted(["ok", CONFLICT]), outcomes
    new = Document.objects.get(replaces=lost)
    assert case.fresh().new_document_id == new.pk
    assert new.version == lost.version + 1
    assert _steps(case, "approved") == 1
    assert audit_chain_verify().ok


def test_checking_in_twice_at_once_checks_in_once(pinned: PinnedClock) -> None:
    case = collection_case(pinned)
    first, second = officer(case.office), officer(case.office)
    appointment = case.appointment
    assert appointment is not None

    outcomes = _race(
        [
            lambda: appointment_check_in(staff=first, appointment_id=appointment.pk),
            lambda: appointment_check_in(staff=second, appointment_id=appointment.pk),
        ]
    )

    assert sorted(outcomes) == sorted(["ok", appointment_errors.APPOINTMENT_ALREADY_CHECKED_IN]), outcomes
    appointment.refresh_from_db()
    assert appointment.state == AppointmentState.CHECKED_IN
    assert case.fresh().state == S.CHECKED_IN
    assert _steps(case, "checked_in") == 1
    assert audit_chain_verify().ok


def test_the_right_handover_code_given_twice_at_once_collects_once(pinned: PinnedClock) -> None:
    case = _captured(pinned)
    staff = officer(case.office)
    replacement_approve(staff=staff, replacement_id=case.replacement.pk)
    replacement_mark_printed(staff=staff, replacement_id=case.replacement.pk)
    replacement_mark_ready(staff=staff, replacement_id=case.replacement.pk)
    code = handover_code(case.replacement)
    counters = officer(case.office), officer(case.office)

    outcomes = _race(
        [
            lambda: replacement_hand_over(staff=counters[0], replacement_id=case.replacement.pk, code=code),
            lambda: replacement_hand_over(staff=counters[1], replacement_id=case.replacement.pk, code=code),
        ]
    )

    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {CONFLICT, HANDOVER_CODE_USED}, outcomes
    assert case.fresh().state == S.COLLECTED
    assert _steps(case, "collected") == 1
    assert HandoverCode.objects.filter(replacement=case.replacement, used_at__isnull=False).count() == 1
    assert audit_chain_verify().ok


def _shipped(pinned: PinnedClock) -> tuple[Case, Shipment]:
    case = delivery_case(pinned)
    staff = officer(case.office)
    replacement_approve(staff=staff, replacement_id=case.replacement.pk)
    replacement_mark_printed(staff=staff, replacement_id=case.replacement.pk)
    shipment = Shipment.objects.get(replacement=case.replacement)
    for kind in ("picked_up", "out_for_delivery"):
        _courier(shipment, kind)()
    return case, shipment


def _courier(shipment: Shipment, kind: str, event_id: str = "", **extra: Any) -> Callable[[], object]:
    event = event_id or uuid.uuid4().hex
    return lambda: shipment_event_apply(
        reference=shipment.reference, event_id=event, kind=kind, at=NOW, actor=Actor.courier("acme"), **extra
    )


def test_the_same_delivery_sent_twice_at_once_delivers_once(pinned: PinnedClock) -> None:
    case, shipment = _shipped(pinned)
    code = handover_code(case.replacement)
    delivered = _courier(shipment, "delivered", event_id="door-1", handover_code=code)

    outcomes = _race([delivered, delivered])

    assert sorted(outcomes) == ["ok", "replayed"], outcomes
    shipment.refresh_from_db()
    assert shipment.state == ShipmentState.DELIVERED
    assert ShipmentEvent.objects.filter(shipment=shipment, kind="delivered").count() == 1
    assert case.fresh().state == S.DELIVERED
    assert _steps(case, "delivered") == 1
    assert audit_chain_verify().ok


def test_mark_ready_while_the_courier_returns_the_card_ends_consistent(pinned: PinnedClock) -> None:
    case, shipment = _shipped(pinned)
    staff = officer(case.office)
    _courier(shipment, "failed_attempt", reason="nobody_home")()
    _courier(shipment, "out_for_delivery")()

    outcomes = _race(
        [
            _courier(shipment, "failed_attempt", reason="nobody_home"),
            lambda: replacement_mark_ready(staff=staff, replacement_id=case.replacement.pk),
        ]
    )

    returned, ready = outcomes
    assert returned == "ok", outcomes
    assert ready in {"ok", CONFLICT}, outcomes
    shipment.refresh_from_db()
    assert shipment.state == ShipmentState.RETURNED
    replacement = case.fresh()
    live = HandoverCode.objects.filter(
        replacement=replacement, used_at__isnull=True, invalidated_at__isnull=True
    )
    if ready == "ok":
        # The card came back first, then the office made it ready: one live collection code.
        assert replacement.state == S.READY_FOR_COLLECTION
        assert list(live.values_list("purpose", flat=True)) == ["collection"]
    else:
        # The office was too early: the card is back, waiting to be made ready; the door code is dead.
        assert replacement.state == S.RETURNED_TO_OFFICE
        assert not live.exists()
    assert _steps(case, "returned_to_office") == 1
    assert audit_chain_verify().ok
