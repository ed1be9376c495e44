"""Shipments through the services: made when a delivery request is printed, then moved by the
courier's updates, with the request following through replacement_move."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.delivery import errors
from hawiya.delivery.models import AnnounceState, Shipment, ShipmentEvent, ShipmentState
from hawiya.delivery.services import ShipmentUpdate, shipment_create, shipment_event_apply
from hawiya.notifications.models import InboxNotification, SmsMessage
from hawiya.registry.models import NationalAddress
from hawiya.replacements.handover import HANDOVER_CODE_INVALID, HandoverCodeRejected
from hawiya.replacements.models import HandoverCode, ReplacementState
from hawiya.replacements.services import replacement_move
from hawiya.replacements.tests.factories import applicant_with_address, lost_id_card, submit

from .factories import delivery_code, make_shipment, printed_delivery_request

pytestmark = pytest.mark.django_db

COURIER = "courier:acme-1"
COURIER_ACTOR = Actor.courier("acme-1")


def update(shipment: Shipment, event_id: str, kind: str, **extra: object) -> ShipmentUpdate:
    values: dict[str, object] = {"at": clock.now() - dt.timedelta(minutes=1), "actor": COURIER_ACTOR}
    values.update(extra)
    return shipment_event_apply(
        reference=shipment.reference,
        event_id=event_id,
        kind=kind,
        **values,  # type: ignore[arg-type]
    )


def out_for_delivery(shipment: Shipment) -> str:
    update(shipment, "e-pick", "picked_up")
    update(shipment, "e-out", "out_for_delivery")
    return delivery_code(shipment.replacement_id)


# --- shipment_create -------------------------------------------------------------------------------


def test_a_printed_delivery_request_gets_a_shipment_with_the_address_copied() -> None:
    replacement = printed_delivery_request()

    with transaction.atomic():
        shipment = shipment_create(
            replacement_id=replacement.pk, actor=Actor.staff(7, role="officer", office_code="")
        )

    assert shipment.reference.startswith("SH")
    assert shipment.state == ShipmentState.AWAITING_PICKUP
    assert shipment.announce_state == AnnounceState.PENDING
    assert shipment.office_id == replacement.office_id
    address = replacement.delivery_address
    assert address is not None
    assert (shipment.short_address, shipment.postal_code, shipment.building_number) == (
        address.short_address,
        address.postal_code,
        address.building_number,
    )
    audit = AuditEvent.objects.get(action="shipment.created")
    assert audit.detail["person_id"] == replacement.document.holder_id
    assert audit.actor == "user:7"


def test_a_later_change_of_address_does_not_redirect_the_shipment() -> None:
    shipment = make_shipment()
    before = shipment.street_en

    address_id = shipment.replacement.delivery_address_id
    assert address_id is not None
    NationalAddress.objects.filter(pk=address_id).update(street_en="Elsewhere St")
    shipment.refresh_from_db()

    assert shipment.street_en == before != "Elsewhere St"


def test_shipment_create_twice_returns_the_same_shipment() -> None:
    replacement = printed_delivery_request()

    first = make_shipment(replacement)
    second = make_shipment(replacement)

    assert first.pk == second.pk
    assert Shipment.objects.filter(replacement=replacement).count() == 1


def test_the_database_refuses_a_second_open_shipment() -> None:
    shipment = make_shipment()
    duplicate = Shipment.objects.get(pk=shipment.pk)
    duplicate.pk = None
    duplicate.reference = "SH00000001"

    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save(force_insert=True)


def test_only_a_printed_delivery_request_is_shipped() -> None:
    person = applicant_with_address()
    collection = submit(applicant=person, document=lost_id_card(holder=person))

    with pytest.raises(ApplicationError) as caught:
        shipment_create(replacement_id=collection.pk, actor=Actor.staff(1, role="officer", office_code=""))

    assert caught.value.code == errors.SHIPMENT_NOT_DELIVERABLE
    with pytest.raises(NotFound):
        shipment_create(replacement_id=999_999, actor=Actor.staff(1, role="officer", office_code=""))


def test_the_announcement_is_handed_to_the_worker_after_commit(django_capture_on_commit_callbacks) -> None:
    replacement = printed_delivery_request()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        make_shipment(replacement)

    assert len(callbacks) >= 1


# --- the delivery path -------------------------------------------------------------------------------


def test_the_whole_path_to_delivered() -> None:
    shipment = make_shipment()
    replacement_id = shipment.replacement_id

    update(shipment, "e1", "picked_up")
    shipment.refresh_from_db()
    assert shipment.state == ShipmentState.PICKED_UP
    assert shipment.replacement.__class__.objects.get(pk=replacement_id).state == ReplacementState.DISPATCHED

    update(shipment, "e2", "out_for_delivery")
    code = delivery_code(replacement_id)
    assert HandoverCode.objects.get(replacement_id=replacement_id).purpose == "delivery"

    result = update(shipment, "e3", "delivered", handover_code=code)

    assert result.shipment.state == ShipmentState.DELIVERED
    assert result.shipment.delivered_at is not None
    replacement = shipment.replacement.__class__.objects.get(pk=replacement_id)
    assert replacement.state == ReplacementState.DELIVERED
    actions = list(replacement.events.order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["dispatched", "out_for_delivery", "delivered"]
    templates = set(
        SmsMessage.objects.filter(subject_ref=f"replacement:{replacement_id}").values_list(
            "template", flat=True
        )
    )
    assert {"shipment_dispatched", "handover_code_delivery", "shipment_delivered"} <= templates
    assert InboxNotification.objects.filter(template="shipment_out_for_delivery").exists()
    audits = AuditEvent.objects.filter(action="shipment.updated").order_by("id")
    assert [a.detail["event"] for a in audits] == ["picked_up", "out_for_delivery", "delivered"]
    assert all(a.detail["person_id"] == replacement.document.holder_id for a in audits)
    assert {a.actor for a in audits} == {COURIER}


def test_a_wrong_code_is_refused_counted_and_changes_nothing_else() -> None:
    shipment = make_shipment()
    code = out_for_delivery(shipment)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    with pytest.raises(HandoverCodeRejected) as caught:
        update(shipment, "e3", "delivered", handover_code=wrong)

    assert caught.value.code == HANDOVER_CODE_INVALID
    assert caught.value.status_code == 422
    assert (
        HandoverCode.objects.get(replacement_id=shipment.replacement_id, used_at__isnull=True).attempts == 1
    )
    shipment.refresh_from_db()
    assert shipment.state == ShipmentState.OUT_FOR_DELIVERY
    assert not ShipmentEvent.objects.filter(event_id="e3").exists()
    # The same event id with the right code is then accepted.
    assert update(shipment, "e3", "delivered", handover_code=code).shipment.state == ShipmentState.DELIVERED


def test_two_failed_attempts_return_the_card_to_the_office() -> None:
    shipment = make_shipment()
    out_for_delivery(shipment)

    first = update(shipment, "f1", "failed_attempt", reason="nobody_home")
    assert first.shipment.state == ShipmentState.FAILED_ATTEMPT
    replacement = shipment.replacement.__class__.objects.get(pk=shipment.replacement_id)
    assert replacement.state == ReplacementState.OUT_FOR_DELIVERY
    failed_sms = SmsMessage.objects.get(template="shipment_failed_attempt")
    assert "nobody was at the address" in failed_sms.body or "لم يكن أحد في العنوان" in failed_sms.body

    update(shipment, "o2", "out_for_delivery")
    assert HandoverCode.objects.filter(replacement=replacement).count() == 2
    second = update(shipment, "f2", "failed_attempt", reason="address_not_found", reason_text="Gate locked")

    assert second.shipment.state == ShipmentState.RETURNED
    assert second.shipment.failed_attempts == 2
    replacement.refresh_from_db()
    assert replacement.state == ReplacementState.RETURNED_TO_OFFICE
    actions = list(replacement.events.order_by("id").values_list("action", flat=True))
    assert actions[-4:] == [
        "delivery_failed",
        "out_for_delivery_again",
        "delivery_failed",
        "returned_to_office",
    ]
    assert SmsMessage.objects.filter(template="shipment_returned").count() == 1
    # The delivery code is dead once the card is back at the office.
    assert not HandoverCode.objects.filter(
        replacement=replacement, used_at__isnull=True, invalidated_at__isnull=True
    ).exists()


def test_a_resent_update_gets_the_first_answer_and_changes_nothing() -> None:
    shipment = make_shipment()
    at = clock.now() - dt.timedelta(minutes=5)

    first = update(shipment, "e1", "picked_up", at=at)
    again = update(shipment, "e1", "picked_up", at=at)

    assert not first.replayed
    assert again.replayed
    assert again.event.pk == first.event.pk
    assert ShipmentEvent.objects.filter(shipment=shipment).count() == 1
    assert AuditEvent.objects.filter(action="shipment.updated").count() == 1


def test_the_same_event_id_with_another_body_is_refused() -> None:
    shipment = make_shipment()
    update(shipment, "e1", "picked_up")

    with pytest.raises(errors.ShipmentConflict) as caught:
        update(shipment, "e1", "out_for_delivery")

    assert caught.value.code == errors.SHIPMENT_EVENT_CONFLICT
    assert caught.value.status_code == 409


@pytest.mark.parametrize("kind", ["out_for_delivery", "delivered", "failed_attempt"])
def test_an_update_out_of_order_is_refused(kind: str) -> None:
    shipment = make_shipment()
    extra = {"delivered": {"handover_code": "123456"}, "failed_attempt": {"reason": "other"}}.get(kind, {})

    with pytest.raises(errors.ShipmentConflict) as caught:
        update(shipment, "e1", kind, **extra)

    assert caught.value.code == errors.SHIPMENT_EVENT_OUT_OF_ORDER
    shipment.refresh_from_db()
    assert shipment.state == ShipmentState.AWAITING_PICKUP


def test_nothing_follows_a_delivered_shipment() -> None:
    shipment = make_shipment()
    code = out_for_delivery(shipment)
    update(shipment, "e3", "delivered", handover_code=code)

    with pytest.raises(errors.ShipmentConflict):
        update(shipment, "e4", "failed_attempt", reason="other")


@pytest.mark.parametrize(
    ("kind", "extra", "code"),
    [
        ("failed_attempt", {}, errors.SHIPMENT_REASON_REQUIRED),
        ("failed_attempt", {"reason": "aliens"}, errors.SHIPMENT_REASON_REQUIRED),
        ("failed_attempt", {"reason": "other", "reason_text": "x" * 201}, errors.SHIPMENT_EVENT_INVALID),
        ("delivered", {}, errors.SHIPMENT_HANDOVER_CODE_REQUIRED),
        ("picked_up", {"reason": "other"}, errors.SHIPMENT_EVENT_INVALID),
        ("picked_up", {"handover_code": "123456"}, errors.SHIPMENT_EVENT_INVALID),
        ("teleported", {}, errors.SHIPMENT_EVENT_INVALID),
        ("picked_up", {"at": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)}, errors.SHIPMENT_EVENT_INVALID),
    ],
)
def test_impossible_updates_are_refused_with_a_clear_code(
    kind: str, extra: dict[str, object], code: str
) -> None:
    shipment = make_shipment()

    with pytest.raises(errors.ShipmentEventInvalid) as caught:
        update(shipment, "e1", kind, **extra)

    assert caught.value.code == code
    assert caught.value.status_code == 422


def test_an_unknown_shipment_is_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        shipment_event_apply(
            reference="SH99999999", event_id="e1", kind="picked_up", at=clock.now(), actor=COURIER_ACTOR
        )
    assert caught.value.code == errors.SHIPMENT_NOT_FOUND


def test_a_request_cancelled_meanwhile_is_a_conflict() -> None:
    shipment = make_shipment()
    # The office moves the request on its own (here: straight to dispatched) before the courier.
    replacement_move(
        replacement_id=shipment.replacement_id,
        to=ReplacementState.DISPATCHED,
        action="x",
        actor=Actor.system("tests"),
    )

    with pytest.raises(errors.ShipmentConflict) as caught:
        update(shipment, "e1", "picked_up")

    assert caught.value.code == errors.SHIPMENT_EVENT_OUT_OF_ORDER
    shipment.refresh_from_db()
    assert shipment.state == ShipmentState.AWAITING_PICKUP


def test_an_update_dated_before_the_request_is_refused() -> None:
    """`"at": 12` is read by the API as 1970-01-01: a typo, never a real pickup."""
    shipment = make_shipment()
    day_before = shipment.replacement.submitted_at - dt.timedelta(days=1, minutes=1)
    for moment in (dt.datetime(1970, 1, 1, 0, 0, 12, tzinfo=dt.UTC), day_before):
        with pytest.raises(errors.ShipmentEventInvalid) as caught:
            update(shipment, "e-old", "picked_up", at=moment)
        assert caught.value.code == errors.SHIPMENT_EVENT_INVALID
        assert caught.value.field == "at"
    assert update(shipment, "e-ok", "picked_up", at=clock.now() - dt.timedelta(hours=2)).shipment.state == (
        "picked_up"
    )
