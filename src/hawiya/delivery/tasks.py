"""The worker's side of shipments: telling the courier's system about a new shipment.

`shipment_announce` takes a shipment id, claims the announcement, calls the courier outside any
database transaction (a slow courier must not hold the shipment's lock or the audit chain head),
then records the answer. Retries are bounded (MAX_ATTEMPTS) with exponential backoff; a shipment
that cannot be announced is marked `failed` (with the reason) for the office to follow up, never
dropped. A worker that dies mid-call leaves the claim's lease to run out; the sweeper
(`services.shipments_announce_due`, run by `run_periodic`) hands it to a worker again, and the
courier recognises the repeat by its idempotency key (the shipment's reference).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django_tasks import task

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.outbox import Claim, Outbox, RetryPolicy

from .couriers import CourierError, courier
from .models import AnnounceState, Shipment

logger = logging.getLogger(__name__)

POLICY = RetryPolicy(
    max_attempts=5,
    first_backoff=dt.timedelta(seconds=30),
    backoff_factor=3,
    lease=dt.timedelta(minutes=2),
)
MAX_ATTEMPTS = POLICY.max_attempts
ANNOUNCE_LEASE = POLICY.lease
# Who acts when the courier's answer to an announcement is recorded: the announcing worker.
ACTOR = Actor.system("delivery.announce")
OBJECT_TYPE = "delivery.shipment"
AUDIT_ANNOUNCED = "shipment.announced"
AUDIT_ANNOUNCE_FAILED = "shipment.announce_failed"


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` tries: 30 s, 90 s, 270 s, 810 s…"""
    return POLICY.backoff(attempts)


@task()
def shipment_announce(shipment_id: int) -> str:
    """Announce shipment `shipment_id` to the courier once; returns the outcome.

    Idempotent: a shipment already announced or failed, or that another worker is announcing,
    is left alone.
    """
    claim = OUTBOX.claim(shipment_id)
    if claim is None:
        return "skipped"
    try:
        receipt = courier().announce(claim.row)
    except CourierError as exc:
        return OUTBOX.record_failure(
            shipment_id, claim, str(exc.extra.get("reason") or exc.code), permanent=exc.permanent
        )
    except Exception as exc:
        # A bug in a client must not lose the shipment: retried like an outage, failed at the bound.
        logger.error("Announcing shipment %s: the courier client raised %s", shipment_id, type(exc).__name__)
        return OUTBOX.record_failure(shipment_id, claim, "client_error", permanent=False)
    return _record_announced(shipment_id, claim, receipt.tracking_id)


def _locked(shipment_id: int) -> Shipment | None:
    return (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("replacement__applicant", "replacement__document__holder", "office")
        .filter(pk=shipment_id)
        .first()
    )


def _give_up(shipment: Shipment, reason: str) -> None:
    shipment.announce_state = AnnounceState.FAILED
    shipment.announce_error = reason[:64]
    shipment.announce_next_attempt_at = None
    shipment.save(update_fields=["announce_state", "announce_error", "announce_next_attempt_at"])
    audit_record(
        actor=ACTOR,
        action=AUDIT_ANNOUNCE_FAILED,
        object_type=OBJECT_TYPE,
        object_id=shipment.pk,
        detail={"reason": reason[:64], "attempts": shipment.announce_attempts},
    )
    logger.error(
        "Shipment %s could not be announced to the courier: %s after %d attempts",
        shipment.reference,
        reason,
        shipment.announce_attempts,
    )


def _record_announced(shipment_id: int, claim: Claim[Shipment], tracking_id: str) -> str:
    with transaction.atomic():
        shipment = _locked(shipment_id)
        # The courier took it: a fact whoever claimed it, recorded unless already done.
        if shipment is None or shipment.announce_state == AnnounceState.ANNOUNCED:
            return "skipped"
        shipment.announce_state = AnnounceState.ANNOUNCED
        shipment.announced_at = clock.now()
        shipment.courier_reference = tracking_id
        shipment.announce_next_attempt_at = None
        shipment.announce_error = ""
        shipment.save(
            update_fields=[
                "announce_state",
                "announced_at",
                "courier_reference",
                "announce_next_attempt_at",
                "announce_error",
            ]
        )
        audit_record(
            actor=ACTOR,
            action=AUDIT_ANNOUNCED,
            object_type=OBJECT_TYPE,
            object_id=shipment.pk,
            # The courier now holds the recipient's name, mobile and address.
            detail={
                "person_id": shipment.replacement.document.holder_id,
                "attempts": shipment.announce_attempts,
            },
        )
    logger.info("Shipment %s announced to the courier (attempt %d)", shipment.reference, claim.attempt)
    return str(AnnounceState.ANNOUNCED)


def _give_up_any(shipment: Shipment, reason: str, permanent: bool) -> None:
    _give_up(shipment, reason)  # refused or out of attempts: the office follows up either way


def _failed_once(shipment: Shipment, reason: str) -> list[str]:
    shipment.announce_error = reason[:64]
    return ["announce_error"]


def _retry_later(shipment_id: int, run_after: dt.datetime) -> None:
    shipment_announce.using(run_after=run_after).enqueue(shipment_id)


OUTBOX: Outbox[Shipment] = Outbox(
    policy=POLICY,
    noun="Shipment",
    lock=_locked,
    attempts_field="announce_attempts",
    due_field="announce_next_attempt_at",
    state_field="announce_state",
    is_open=lambda shipment: shipment.announce_state == AnnounceState.PENDING,
    on_retry=_failed_once,
    retry_later=_retry_later,
    label=lambda shipment: f"Shipment {shipment.reference}",
    give_up=_give_up_any,
)
