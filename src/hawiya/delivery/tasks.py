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
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django_tasks import task

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock

from .couriers import CourierError, courier
from .models import AnnounceState, Shipment

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_BACKOFF = dt.timedelta(seconds=30)
BACKOFF_FACTOR = 3
# How long a claimed announcement is left to its worker before the sweeper may hand it on.
ANNOUNCE_LEASE = dt.timedelta(minutes=2)
# A duplicate task that runs this much before the retry time is ignored (the scheduled one follows).
EARLY_TOLERANCE = dt.timedelta(seconds=2)
# Who acts when the courier's answer to an announcement is recorded: the announcing worker.
ACTOR = Actor.system("delivery.announce")
OBJECT_TYPE = "delivery.shipment"
AUDIT_ANNOUNCED = "shipment.announced"
AUDIT_ANNOUNCE_FAILED = "shipment.announce_failed"


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` tries: 30 s, 90 s, 270 s, 810 s…"""
    return FIRST_BACKOFF * BACKOFF_FACTOR ** max(attempts - 1, 0)


@dataclass(frozen=True)
class _Claim:
    shipment: Shipment
    attempt: int


@task()
def shipment_announce(shipment_id: int) -> str:
    """Announce shipment `shipment_id` to the courier once; returns the outcome.

    Idempotent: a shipment already announced or failed, or that another worker is announcing,
    is left alone.
    """
    claim = _claim(shipment_id)
    if claim is None:
        return "skipped"
    try:
        receipt = courier().announce(claim.shipment)
    except CourierError as exc:
        return _record_failure(shipment_id, claim, str(exc.extra.get("reason") or exc.code), exc.permanent)
    except Exception as exc:
        # A bug in a client must not lose the shipment: retried like an outage, failed at the bound.
        logger.error("Announcing shipment %s: the courier client raised %s", shipment_id, type(exc).__name__)
        return _record_failure(shipment_id, claim, "client_error", False)
    return _record_announced(shipment_id, claim, receipt.tracking_id)


def _locked(shipment_id: int) -> Shipment | None:
    return (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("replacement__applicant", "replacement__document__holder", "office")
        .filter(pk=shipment_id)
        .first()
    )


def _claim(shipment_id: int) -> _Claim | None:
    """Count the attempt and take the lease, in a transaction of its own."""
    with transaction.atomic():
        shipment = _locked(shipment_id)
        if shipment is None:
            logger.warning("Shipment %s does not exist", shipment_id)
            return None
        if shipment.announce_state != AnnounceState.PENDING:
            return None
        now = clock.now()
        due = shipment.announce_next_attempt_at
        if due is not None and due > now + EARLY_TOLERANCE:
            return None  # another worker holds the lease, or a duplicate runs ahead of the backoff
        if shipment.announce_attempts >= MAX_ATTEMPTS:
            # A worker died during the last allowed attempt.
            _give_up(shipment, "attempts_exhausted")
            return None
        shipment.announce_attempts += 1
        shipment.announce_next_attempt_at = now + ANNOUNCE_LEASE
        shipment.save(update_fields=["announce_attempts", "announce_next_attempt_at"])
        return _Claim(shipment=shipment, attempt=shipment.announce_attempts)


def _locked_if_current(shipment_id: int, claim: _Claim) -> Shipment | None:
    shipment = _locked(shipment_id)
    if (
        shipment is None
        or shipment.announce_state != AnnounceState.PENDING
        or shipment.announce_attempts != claim.attempt
    ):
        return None
    return shipment


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


def _record_announced(shipment_id: int, claim: _Claim, tracking_id: str) -> str:
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


def _record_failure(shipment_id: int, claim: _Claim, reason: str, permanent: bool) -> str:
    with transaction.atomic():
        shipment = _locked_if_current(shipment_id, claim)
        if shipment is None:
            return "stale"
        if permanent or shipment.announce_attempts >= MAX_ATTEMPTS:
            _give_up(shipment, reason)
            return str(AnnounceState.FAILED)
        retry_at = clock.now() + backoff(shipment.announce_attempts)
        shipment.announce_error = reason[:64]
        shipment.announce_next_attempt_at = retry_at
        shipment.save(update_fields=["announce_error", "announce_next_attempt_at"])
        # After commit; if the hand-over is lost the sweeper finds the shipment by its retry time.
        transaction.on_commit(
            partial(shipment_announce.using(run_after=retry_at).enqueue, shipment.pk), robust=True
        )
        logger.warning(
            "Shipment %s: %s on attempt %d; next try at %s",
            shipment.reference,
            reason,
            shipment.announce_attempts,
            retry_at.isoformat(timespec="seconds"),
        )
    return str(AnnounceState.PENDING)
