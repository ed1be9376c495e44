"""Writes of the delivery app: make a shipment of a printed document, and apply what the courier
tells us about it (through the courier API, or the demo courier page in demo mode).

The request (`Replacement`) follows its shipment only through `replacement_move`:
- picked up → the request is `dispatched`;
- out for delivery → the request is `out_for_delivery` and a DELIVERY handover code is sent to
  the applicant (the courier asks for it at the door);
- delivered, only with the right handover code → the request is `delivered`;
- failed attempt → a timeline entry and a message with the reason in words; the second failure
  → the shipment is `returned` and the request `returned_to_office` (the office then marks it
  ready for collection, which sends a collection code).

Every courier update carries the courier's event id: the same id with the same content is a
resend and gets the first answer again; the same id with other content is refused.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.idempotency import request_fingerprint
from hawiya.core.references import insert_with_reference
from hawiya.identity.selectors import person_language
from hawiya.notifications.services import notify
from hawiya.notifications.templates import bilingual
from hawiya.registry.models import Office
from hawiya.registry.offices import office_in_notice
from hawiya.replacements import errors as replacement_errors
from hawiya.replacements.handover import (
    HandoverCodeRejected,
    handover_code_issue,
    handover_code_verify,
    handover_codes_invalidate,
)
from hawiya.replacements.models import HandoverPurpose, ReceiveMethod, Replacement, ReplacementState
from hawiya.replacements.services import (
    replacement_event_add,
    replacement_move,
    replacement_notify,
    replacement_subject,
)

from . import errors
from .models import (
    MAX_FAILED_ATTEMPTS,
    AnnounceState,
    FailureReason,
    Shipment,
    ShipmentEvent,
    ShipmentEventKind,
    ShipmentState,
)
from .tasks import OUTBOX, shipment_announce

logger = logging.getLogger(__name__)

REFERENCE_PREFIX = "SH"
OBJECT_TYPE = "delivery.shipment"
AUDIT_SHIPMENT_CREATED = "shipment.created"
AUDIT_SHIPMENT_UPDATED = "shipment.updated"
# The courier's clock may run a little ahead of ours; an update further in the future is refused.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
PAST_TOLERANCE = dt.timedelta(days=1)
MAX_REASON_TEXT = 200

# Which update may follow which state: anything else is out of order (or impossible).
ALLOWED_EVENTS: dict[str, frozenset[str]] = {
    ShipmentState.AWAITING_PICKUP: frozenset({ShipmentEventKind.PICKED_UP}),
    ShipmentState.PICKED_UP: frozenset({ShipmentEventKind.OUT_FOR_DELIVERY}),
    ShipmentState.OUT_FOR_DELIVERY: frozenset(
        {ShipmentEventKind.DELIVERED, ShipmentEventKind.FAILED_ATTEMPT}
    ),
    ShipmentState.FAILED_ATTEMPT: frozenset({ShipmentEventKind.OUT_FOR_DELIVERY}),
    ShipmentState.DELIVERED: frozenset(),
    ShipmentState.RETURNED: frozenset(),
}


@dataclass(frozen=True)
class ShipmentUpdate:
    """What applying a courier update produced (`replayed`: the same update was applied before)."""

    shipment: Shipment
    event: ShipmentEvent
    replayed: bool


def failure_reason_in_notice(reason: str) -> dict[str, str]:
    """The failure reason in words, in both languages: the holder's message and their
    notification centre each show it in the reader's language."""
    return bilingual(FailureReason(reason).label)


# --- Creating a shipment -------------------------------------------------------------------------


def shipment_create(
    *,
    replacement_id: int,
    actor: str,
    actor_role: str = "",
    actor_office: str = "",
    ip: str | None = None,
) -> Shipment:
    """Make the shipment of a delivery request whose new document was just printed.

    Called inside the caller's transaction right after the request moved to `printed` (or opens
    its own). The shipment is `awaiting_pickup`, with a copy of the request's delivery address
    (a later change of address does not redirect it) and the request's office (where it returns
    after two failed attempts). The courier's system is told after commit (tasks.shipment_announce).
    Idempotent: a request that already has an open shipment gets that one back. Raises
    ApplicationError `shipment_not_deliverable` for a collection request, one that is not
    printed, or one without a delivery address; NotFound for an unknown request.
    """
    with transaction.atomic():
        replacement = (
            Replacement.objects.select_for_update(of=("self",))
            .select_related("delivery_address", "office", "document")
            .filter(pk=replacement_id)
            .first()
        )
        if replacement is None:
            raise NotFound(replacement_errors.REPLACEMENT_NOT_FOUND, _("This request was not found."))
        existing = Shipment.objects.filter(replacement=replacement).exclude(
            state__in=[ShipmentState.DELIVERED, ShipmentState.RETURNED]
        )
        found = existing.first()
        if found is not None:
            return found
        address = replacement.delivery_address
        if (
            replacement.method != ReceiveMethod.DELIVERY
            or replacement.state != ReplacementState.PRINTED
            or address is None
        ):
            raise ApplicationError(
                errors.SHIPMENT_NOT_DELIVERABLE,
                _("Only a printed document of a delivery request can be shipped."),
            )
        now = clock.now()
        shipment = Shipment(
            replacement=replacement,
            office=replacement.office,
            state=ShipmentState.AWAITING_PICKUP,
            building_number=address.building_number,
            street_ar=address.street_ar,
            street_en=address.street_en,
            district_ar=address.district_ar,
            district_en=address.district_en,
            city_ar=address.city_ar,
            city_en=address.city_en,
            region=address.region,
            postal_code=address.postal_code,
            additional_number=address.additional_number,
            unit_number=address.unit_number,
            short_address=address.short_address,
            # Due at once: if the after-commit hand-over is lost, the sweeper finds it by this time.
            announce_next_attempt_at=now,
        )
        insert_with_reference(shipment, prefix=REFERENCE_PREFIX)
        audit_record(
            actor=actor,
            actor_role=actor_role,
            actor_office=actor_office,
            ip=ip,
            action=AUDIT_SHIPMENT_CREATED,
            object_type=OBJECT_TYPE,
            object_id=shipment.pk,
            detail={
                "person_id": replacement.document.holder_id,
                "replacement_id": replacement.pk,
                "shipment": shipment.reference,
            },
        )
        transaction.on_commit(partial(_announce_after_commit, shipment.pk), robust=True)
    return shipment


def _announce_after_commit(shipment_id: int) -> None:
    shipment_announce.enqueue(shipment_id)


def shipments_announce_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Hand to the worker every shipment still to be announced whose time has come (the sweeper:
    a hand-over lost between commit and enqueue, a worker that died mid-call). Returns how many."""
    due = OUTBOX.sweep(
        Shipment.objects.filter(announce_state=AnnounceState.PENDING),
        enqueue=shipment_announce.enqueue,
        now=now or clock.now(),
        limit=limit,
    )
    if due:
        logger.info("Re-queued %d shipments to announce to the courier", len(due))
    return len(due)


# --- Courier updates -----------------------------------------------------------------------------


def shipment_event_fingerprint(
    *, event_id: str, kind: str, at: dt.datetime, reason: str = "", reason_text: str = ""
) -> str:
    """The SHA-256 that tells a resend (same content) from an event id reused for something else.

    The handover code is left out on purpose: a hash of six digits would give the code away.
    """
    return request_fingerprint(
        {
            "event_id": event_id,
            "type": kind,
            "at": at.astimezone(dt.UTC).isoformat(),
            "reason": reason,
            "reason_text": reason_text,
        }
    )


def _locked_shipment(reference: str) -> Shipment:
    if not (reference.isascii() and reference.isalnum()):  # e.g. a NUL, which PostgreSQL refuses
        raise NotFound(errors.SHIPMENT_NOT_FOUND, _("This shipment was not found."))
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("office", "replacement__document")
        .filter(reference=reference)
        .first()
    )
    if shipment is None:
        raise NotFound(errors.SHIPMENT_NOT_FOUND, _("This shipment was not found."))
    return shipment


def _checked(
    *, kind: str, at: dt.datetime, reason: str, reason_text: str, handover_code: str
) -> ShipmentEventKind:
    if kind not in ShipmentEventKind.values:
        raise errors.ShipmentEventInvalid(
            errors.SHIPMENT_EVENT_INVALID, _("This type of update is not known.")
        )
    if at.tzinfo is None or at > clock.now() + FUTURE_TOLERANCE:
        raise errors.ShipmentEventInvalid(
            errors.SHIPMENT_EVENT_INVALID,
            _("The time of the update must include its time zone and must not be in the future."),
            field="at",
        )
    chosen = ShipmentEventKind(kind)
    if chosen == ShipmentEventKind.FAILED_ATTEMPT:
        if reason not in FailureReason.values:
            raise errors.ShipmentEventInvalid(
                errors.SHIPMENT_REASON_REQUIRED,
                _("Give the reason the delivery failed, from the list."),
                field="reason",
            )
        if len(reason_text) > MAX_REASON_TEXT:
            raise errors.ShipmentEventInvalid(
                errors.SHIPMENT_EVENT_INVALID,
                _("The reason may be at most 200 characters."),
                field="reason_text",
            )
    elif reason or reason_text:
        raise errors.ShipmentEventInvalid(
            errors.SHIPMENT_EVENT_INVALID, _("Only a failed attempt has a reason."), field="reason"
        )
    if chosen == ShipmentEventKind.DELIVERED and not handover_code.strip():
        raise errors.ShipmentEventInvalid(
            errors.SHIPMENT_HANDOVER_CODE_REQUIRED,
            _("Enter the handover code the holder reads to you."),
            field="handover_code",
        )
    if chosen != ShipmentEventKind.DELIVERED and handover_code:
        raise errors.ShipmentEventInvalid(
            errors.SHIPMENT_EVENT_INVALID,
            _("Only a delivery carries a handover code."),
            field="handover_code",
        )
    return chosen


def shipment_event_apply(
    *,
    reference: str,
    event_id: str,
    kind: str,
    at: dt.datetime,
    handover_code: str = "",
    reason: str = "",
    reason_text: str = "",
    actor: str,
    actor_role: str = "courier",
    actor_office: str = "",
    ip: str | None = None,
) -> ShipmentUpdate:
    """Apply one courier update (`kind`: picked_up, out_for_delivery, delivered, failed_attempt)
    to shipment `reference`, and move its request accordingly (see the module docstring).

    One transaction, the shipment's row locked. The same `event_id` with the same content returns
    the first result (`replayed=True`); with other content → ShipmentConflict
    `shipment_event_conflict` (409). An update that does not follow from the shipment's state →
    ShipmentConflict `shipment_event_out_of_order` (409). A missing reason, code or a time in the
    future → ShipmentEventInvalid (422). A wrong handover code → HandoverCodeRejected (422): the
    try is counted and committed, nothing else changes, and the courier may send the same event
    id again with the right code. NotFound for an unknown shipment.
    """
    event_id = (event_id or "").strip()
    if not event_id or len(event_id) > 64:
        raise errors.ShipmentEventInvalid(
            errors.SHIPMENT_EVENT_INVALID,
            _("Every update needs an event id of 1 to 64 characters."),
            field="event_id",
        )
    reason_text = (reason_text or "").strip()
    try:
        at.astimezone(dt.UTC)  # at the ends of the calendar (year 1, 9999) a time zone overflows
    except OverflowError:
        raise errors.ShipmentEventInvalid(
            errors.SHIPMENT_EVENT_INVALID, _("The time of the update is not a real time."), field="at"
        ) from None
    fingerprint = (
        shipment_event_fingerprint(
            event_id=event_id, kind=kind, at=at, reason=reason, reason_text=reason_text
        )
        if at.tzinfo is not None
        else ""
    )
    failure: HandoverCodeRejected | None = None
    with transaction.atomic():
        shipment = _locked_shipment(reference)
        earlier = ShipmentEvent.objects.filter(shipment=shipment, event_id=event_id).first()
        if earlier is not None:
            if earlier.body_sha256 != fingerprint:
                raise errors.ShipmentConflict(
                    errors.SHIPMENT_EVENT_CONFLICT,
                    _("This event id was already used for a different update."),
                    field="event_id",
                )
            return ShipmentUpdate(shipment=shipment, event=earlier, replayed=True)
        chosen = _checked(
            kind=kind, at=at, reason=reason, reason_text=reason_text, handover_code=handover_code
        )
        if at < shipment.replacement.submitted_at - PAST_TOLERANCE:
            # Nothing happens to a card before it was even requested (e.g. `"at": 12`, read as 1970);
            # a day's leeway for couriers' clocks and late-entered paper logs.
            raise errors.ShipmentEventInvalid(
                errors.SHIPMENT_EVENT_INVALID,
                _("The time of the update is before the request was made."),
                field="at",
            )
        if chosen not in ALLOWED_EVENTS[shipment.state]:
            raise errors.ShipmentConflict(
                errors.SHIPMENT_EVENT_OUT_OF_ORDER,
                _("The shipment is “%(state)s”, so “%(update)s” cannot happen now.")
                % {"state": shipment.get_state_display(), "update": chosen.label},
            )
        previous = shipment.state
        if chosen == ShipmentEventKind.DELIVERED:
            try:
                handover_code_verify(
                    replacement_id=shipment.replacement_id,
                    code=handover_code,
                    purpose=HandoverPurpose.DELIVERY,
                    actor=actor,
                    actor_role=actor_role,
                    actor_office=actor_office,
                    ip=ip,
                )
            except HandoverCodeRejected as exc:
                # Caught inside the block so the counted try commits (see replacements.handover).
                failure = exc
        if failure is None:
            _apply(
                shipment=shipment,
                kind=chosen,
                at=at,
                reason=reason,
                actor=actor,
                actor_role=actor_role,
                actor_office=actor_office,
                ip=ip,
            )
            event = ShipmentEvent.objects.create(
                shipment=shipment,
                event_id=event_id,
                kind=chosen,
                at=at,
                reason=reason,
                reason_text=reason_text,
                body_sha256=fingerprint,
                state_after=shipment.state,
            )
            audit_record(
                actor=actor,
                actor_role=actor_role,
                actor_office=actor_office,
                ip=ip,
                action=AUDIT_SHIPMENT_UPDATED,
                object_type=OBJECT_TYPE,
                object_id=shipment.pk,
                detail={
                    "person_id": shipment.replacement.document.holder_id,
                    "replacement_id": shipment.replacement_id,
                    "event": chosen.value,
                    "from": previous,
                    "to": shipment.state,
                    **({"reason": reason} if reason else {}),
                },
            )
    if failure is not None:
        raise failure
    return ShipmentUpdate(shipment=shipment, event=event, replayed=False)


@dataclass(frozen=True)
class _Who:
    actor: str
    actor_role: str
    actor_office: str
    ip: str | None
    person_id: int


def _move(
    who: _Who,
    *,
    replacement_id: int,
    to: ReplacementState,
    action: str,
    at: dt.datetime,
    detail: Mapping[str, object],
    office: Office | None = None,
    notify_template: str | None = None,
    notify_context: Mapping[str, object] | None = None,
) -> Replacement:
    """`replacement_move`, with a request that is no longer where the courier thinks (cancelled,
    moved by the office) answered as a conflict of the update."""
    try:
        return replacement_move(
            replacement_id=replacement_id,
            to=to,
            action=action,
            at=at,
            actor=who.actor,
            actor_role=who.actor_role,
            actor_office=who.actor_office,
            ip=who.ip,
            office=office,
            detail=detail,
            audit_detail={"person_id": who.person_id, "shipment": str(detail["shipment"])},
            notify_template=notify_template,
            notify_context=notify_context,
        )
    except ApplicationError as exc:
        if exc.code == replacement_errors.REPLACEMENT_STATE_CONFLICT:
            raise errors.ShipmentConflict(errors.SHIPMENT_EVENT_OUT_OF_ORDER, exc.message) from None
        raise


def _apply(
    *,
    shipment: Shipment,
    kind: ShipmentEventKind,
    at: dt.datetime,
    reason: str,
    actor: str,
    actor_role: str,
    actor_office: str,
    ip: str | None,
) -> None:
    """Move the shipment and its request for one accepted update (in the caller's transaction)."""
    replacement_id = shipment.replacement_id
    detail: dict[str, object] = {"shipment": shipment.reference}
    who = _Who(
        actor=actor,
        actor_role=actor_role,
        actor_office=actor_office,
        ip=ip,
        person_id=shipment.replacement.document.holder_id,
    )
    fields = ["state", "updated_at"]
    if kind == ShipmentEventKind.PICKED_UP:
        shipment.state = ShipmentState.PICKED_UP
        shipment.picked_up_at = at
        fields.append("picked_up_at")
        _move(
            who,
            replacement_id=replacement_id,
            to=ReplacementState.DISPATCHED,
            action="dispatched",
            at=at,
            detail=detail,
            notify_template="shipment_dispatched",
        )
    elif kind == ShipmentEventKind.OUT_FOR_DELIVERY:
        first_round = shipment.state == ShipmentState.PICKED_UP
        shipment.state = ShipmentState.OUT_FOR_DELIVERY
        shipment.out_for_delivery_at = at
        fields.append("out_for_delivery_at")
        if first_round:
            replacement = _move(
                who,
                replacement_id=replacement_id,
                to=ReplacementState.OUT_FOR_DELIVERY,
                action="out_for_delivery",
                at=at,
                detail=detail,
            )
        else:
            replacement = _locked_replacement(replacement_id)
            replacement_event_add(
                replacement=replacement,
                action="out_for_delivery_again",
                at=at,
                detail={**detail, "attempt": shipment.failed_attempts + 1},
            )
        # The code goes by SMS; the notification centre says the card is on its way, without it.
        applicant = replacement.applicant
        notify(
            person_id=applicant.pk,
            mobile="",
            language=person_language(person=applicant),
            template="shipment_out_for_delivery",
            context={"reference": replacement.reference},
            subject=replacement_subject(replacement),
            subject_ref=f"replacement:{replacement.pk}",
        )
        handover_code_issue(
            replacement_id=replacement_id,
            purpose=HandoverPurpose.DELIVERY,
            actor=actor,
            actor_role=actor_role,
            actor_office=actor_office,
            ip=ip,
        )
    elif kind == ShipmentEventKind.DELIVERED:
        shipment.state = ShipmentState.DELIVERED
        shipment.delivered_at = at
        fields.append("delivered_at")
        _move(
            who,
            replacement_id=replacement_id,
            to=ReplacementState.DELIVERED,
            action="delivered",
            at=at,
            detail=detail,
            notify_template="shipment_delivered",
        )
    else:
        shipment.failed_attempts += 1
        fields.append("failed_attempts")
        replacement = _locked_replacement(replacement_id)
        failed = {**detail, "reason": reason, "attempt": shipment.failed_attempts}
        replacement_event_add(replacement=replacement, action="delivery_failed", at=at, detail=failed)
        if shipment.failed_attempts >= MAX_FAILED_ATTEMPTS:
            shipment.state = ShipmentState.RETURNED
            shipment.returned_at = at
            fields.append("returned_at")
            # The card is going back to the office: the door code must not work any more.
            handover_codes_invalidate(replacement_id=replacement_id)
            _move(
                who,
                replacement_id=replacement_id,
                to=ReplacementState.RETURNED_TO_OFFICE,
                action="returned_to_office",
                at=at,
                office=shipment.office,
                detail=failed,
                notify_template="shipment_returned",
                notify_context={"office": office_in_notice(shipment.office)},
            )
        else:
            shipment.state = ShipmentState.FAILED_ATTEMPT
            replacement_notify(
                replacement,
                template="shipment_failed_attempt",
                context={"reason": failure_reason_in_notice(reason)},
            )
    shipment.save(update_fields=fields)


def _locked_replacement(replacement_id: int) -> Replacement:
    return (
        Replacement.objects.select_for_update(of=("self",)).select_related("applicant").get(pk=replacement_id)
    )
