"""Moves between states depend on how the document is received: a collection request goes through
its appointment and biometrics, a delivery request through the courier; neither takes the other's
steps."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from hawiya.audit.actors import Actor
from hawiya.core.errors import ApplicationError
from hawiya.registry.tests.factories import make_office
from hawiya.replacements import errors
from hawiya.replacements.models import (
    COLLECTION_MOVES,
    DELIVERY_MOVES,
    ReceiveMethod,
    Replacement,
    ReplacementState,
    allowed_moves,
)
from hawiya.replacements.services import replacement_move, replacement_move_locked

from .factories import applicant_with_address, lost_id_card, photo_upload, submit

pytestmark = pytest.mark.django_db

S = ReplacementState
C, D = ReceiveMethod.COLLECTION.value, ReceiveMethod.DELIVERY.value

# How each state is reached from awaiting_payment, through the services.
COLLECTION_ROUTE: list[ReplacementState] = [
    S.PAID,
    S.APPOINTMENT_BOOKED,
    S.CHECKED_IN,
    S.BIOMETRICS_CAPTURED,
    S.APPROVED,
    S.PRINTED,
    S.READY_FOR_COLLECTION,
    S.COLLECTED,
]
DELIVERY_ROUTE: list[ReplacementState] = [
    S.PAID,
    S.APPROVED,
    S.PRINTED,
    S.DISPATCHED,
    S.OUT_FOR_DELIVERY,
    S.DELIVERED,
]
RETURNED_ROUTE: list[ReplacementState] = [
    S.PAID,
    S.APPROVED,
    S.PRINTED,
    S.DISPATCHED,
    S.RETURNED_TO_OFFICE,
    S.READY_FOR_COLLECTION,
]

EXPECTED: dict[str, dict[ReplacementState, set[ReplacementState]]] = {
    C: {
        S.AWAITING_PAYMENT: {S.PAID, S.CANCELLED, S.EXPIRED},
        S.PAID: {S.APPOINTMENT_BOOKED, S.CANCELLED, S.REJECTED},
        S.APPOINTMENT_BOOKED: {S.CHECKED_IN, S.PAID, S.CANCELLED, S.REJECTED},
        S.CHECKED_IN: {S.BIOMETRICS_CAPTURED, S.REJECTED},
        S.BIOMETRICS_CAPTURED: {S.APPROVED, S.REJECTED},
        S.APPROVED: {S.PRINTED, S.REJECTED},
        S.PRINTED: {S.READY_FOR_COLLECTION},
        S.READY_FOR_COLLECTION: {S.COLLECTED},
    },
    D: {
        S.AWAITING_PAYMENT: {S.PAID, S.CANCELLED, S.EXPIRED},
        S.PAID: {S.APPROVED, S.CANCELLED, S.REJECTED},
        S.APPROVED: {S.PRINTED, S.REJECTED},
        S.PRINTED: {S.DISPATCHED},
        S.DISPATCHED: {S.OUT_FOR_DELIVERY, S.RETURNED_TO_OFFICE},
        S.OUT_FOR_DELIVERY: {S.DELIVERED, S.RETURNED_TO_OFFICE},
        S.RETURNED_TO_OFFICE: {S.READY_FOR_COLLECTION},
        S.READY_FOR_COLLECTION: {S.COLLECTED},
    },
}

ALLOWED = [
    (method, start, to)
    for method, moves in EXPECTED.items()
    for start, targets in moves.items()
    for to in sorted(targets)
]
REFUSED = [
    # Collection never skips the appointment and biometrics, never meets the courier.
    (C, S.PAID, S.APPROVED),
    (C, S.APPOINTMENT_BOOKED, S.APPROVED),
    (C, S.CHECKED_IN, S.PAID),
    (C, S.CHECKED_IN, S.CANCELLED),
    (C, S.PRINTED, S.DISPATCHED),
    (C, S.PRINTED, S.REJECTED),
    (C, S.AWAITING_PAYMENT, S.APPOINTMENT_BOOKED),
    (C, S.PAID, S.EXPIRED),
    (C, S.COLLECTED, S.READY_FOR_COLLECTION),
    # Delivery never books an appointment, never skips the courier.
    (D, S.PAID, S.APPOINTMENT_BOOKED),
    (D, S.APPROVED, S.CANCELLED),
    (D, S.PRINTED, S.READY_FOR_COLLECTION),
    (D, S.PRINTED, S.DELIVERED),
    (D, S.DISPATCHED, S.DELIVERED),
    (D, S.DISPATCHED, S.REJECTED),
    (D, S.RETURNED_TO_OFFICE, S.OUT_FOR_DELIVERY),
    (D, S.DELIVERED, S.RETURNED_TO_OFFICE),
]


def _route(method: str, state: ReplacementState) -> list[ReplacementState]:
    if state == S.AWAITING_PAYMENT:
        return []
    for route in (COLLECTION_ROUTE,) if method == C else (DELIVERY_ROUTE, RETURNED_ROUTE):
        if state in route:
            return route[: route.index(state) + 1]
    raise AssertionError(f"{method} never reaches {state}")


def request_in(method: str, state: ReplacementState) -> Replacement:
    """A request received by `method`, moved through the services to `state`."""
    person = applicant_with_address()
    document = lost_id_card(holder=person)
    replacement = submit(
        applicant=person, document=document, method=method, photo=photo_upload() if method == D else None
    )
    for step in _route(method, state):
        replacement_move(replacement_id=replacement.pk, to=step, action=step, actor=Actor.system("tests"))
    replacement.refresh_from_db()
    assert replacement.state == state
    return replacement


def test_the_table_is_the_vocabulary_of_each_method():
    assert {state: set(targets) for state, targets in COLLECTION_MOVES.items()} == EXPECTED[C]
    assert {state: set(targets) for state, targets in DELIVERY_MOVES.items()} == EXPECTED[D]
    for ended in (S.COLLECTED, S.DELIVERED, S.REJECTED, S.CANCELLED, S.EXPIRED):
        assert allowed_moves(C, ended) == allowed_moves(D, ended) == frozenset()
    assert allowed_moves("carrier_pigeon", S.PAID) == frozenset()


@pytest.mark.parametrize(("method", "start", "to"), ALLOWED)
def test_every_allowed_move_succeeds(method: str, start: ReplacementState, to: ReplacementState):
    replacement = request_in(method, start)

    moved = replacement_move(
        replacement_id=replacement.pk, to=to, action=to, actor=Actor.system("tests"), reason="x"
    )

    assert moved.state == to
    last = moved.events.order_by("-id").first()
    assert last is not None
    assert last.state == to


@pytest.mark.parametrize(("method", "start", "to"), REFUSED)
def test_a_move_of_the_other_method_or_out_of_order_is_refused(
    method: str, start: ReplacementState, to: ReplacementState
):
    replacement = request_in(method, start)

    with pytest.raises(ApplicationError) as caught:
        replacement_move(replacement_id=replacement.pk, to=to, action=to, actor=Actor.system("tests"))

    assert caught.value.code == errors.REPLACEMENT_STATE_CONFLICT
    replacement.refresh_from_db()
    assert replacement.state == start


@pytest.mark.django_db(transaction=True)
def test_a_move_of_a_held_row_needs_the_transaction_that_holds_it():
    replacement = request_in(C, S.PAID)
    with pytest.raises(TransactionManagementError):
        replacement_move_locked(
            replacement=replacement, to=S.CANCELLED, action="cancelled", actor=Actor.system("tests")
        )
    replacement.refresh_from_db()
    assert replacement.state == S.PAID


def test_a_move_of_a_held_row_saves_the_callers_fields_with_it():
    replacement = request_in(C, S.PAID)
    office = make_office()
    with transaction.atomic():
        held = Replacement.objects.select_for_update().get(pk=replacement.pk)
        held.office = office
        replacement_move_locked(
            replacement=held,
            to=S.APPOINTMENT_BOOKED,
            action="appointment_booked",
            actor=Actor.system("tests"),
            also_save=("office",),
        )
    replacement.refresh_from_db()
    assert (replacement.state, replacement.office_id) == (S.APPOINTMENT_BOOKED, office.pk)
    assert replacement.events.order_by("-id").values_list("action", flat=True).first() == "appointment_booked"
