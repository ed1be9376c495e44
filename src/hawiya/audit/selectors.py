"""Reading the audit trail: chain verification and an object's events."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q, QuerySet

from .models import GENESIS_HASH, HEAD_PK, VERIFICATION_PK, AuditChainHead, AuditEvent, AuditVerification

VERIFY_BATCH_SIZE = 2000


@dataclass(frozen=True)
class VerifyResult:
    """What `audit_chain_verify` found: `ok`, how many events it checked, and where it broke."""

    ok: bool
    count: int
    broken_sequence: int | None = None
    broken_id: int | None = None
    reason: str = ""

    @property
    def message(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.count} events"
        event_id = "none" if self.broken_id is None else self.broken_id
        return f"audit chain broken at event #{self.broken_sequence} (id {event_id}): {self.reason}"


@contextmanager
def _snapshot(using: str) -> Iterator[None]:
    """On PostgreSQL, one read-only REPEATABLE READ transaction: the head and every event as of one
    instant, however long the walk, while writers carry on. Elsewhere (SQLite, the single-machine
    mode) or inside a caller's transaction, the reads run as they are."""
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def audit_chain_verify(*, batch_size: int = VERIFY_BATCH_SIZE, using: str = DEFAULT_DB_ALIAS) -> VerifyResult:
    """Walk the chain in sequence order in constant memory and check every link.

    For each event: its sequence number follows the previous one (no gap), its stored hash is the
    hash of its fields (not altered), and its prev_hash is the previous event's hash (not
    reordered or spliced). Then the head row must name the last event (nothing removed from the
    end, nothing appended past the lock). Stops at the first break.
    """
    with _snapshot(using):
        head = AuditChainHead.objects.using(using).filter(pk=HEAD_PK).first()
        events = AuditEvent.objects.using(using).order_by("sequence").iterator(chunk_size=batch_size)
        expected_sequence, previous_hash, count = 1, GENESIS_HASH, 0
        for event in events:
            if event.sequence != expected_sequence:
                if event.sequence < expected_sequence:
                    reason = f"sequence number #{event.sequence} repeats"
                elif event.sequence == expected_sequence + 1:
                    reason = f"event #{expected_sequence} is missing (sequence gap)"
                else:
                    reason = f"events #{expected_sequence}-#{event.sequence - 1} are missing (sequence gap)"
                return VerifyResult(False, count, event.sequence, event.pk, reason)
            if event.compute_hash() != event.hash:
                return VerifyResult(
                    False, count, event.sequence, event.pk, "stored hash does not match its content (altered)"
                )
            if event.prev_hash != previous_hash:
                return VerifyResult(
                    False,
                    count,
                    event.sequence,
                    event.pk,
                    "prev_hash does not match the previous event's hash (chain relinked)",
                )
            previous_hash, expected_sequence, count = event.hash, expected_sequence + 1, count + 1

    last_sequence = expected_sequence - 1
    if head is None:
        if count:
            return VerifyResult(False, count, last_sequence, None, "the chain head row is missing")
        return VerifyResult(True, 0)
    if head.sequence > last_sequence:
        return VerifyResult(
            False,
            count,
            last_sequence + 1,
            None,
            f"the chain head records event #{head.sequence} but the chain ends at #{last_sequence} "
            "(events removed from the end)",
        )
    if head.sequence < last_sequence:
        return VerifyResult(
            False,
            count,
            head.sequence + 1,
            None,
            f"the chain head records event #{head.sequence} but the chain goes on to #{last_sequence} "
            "(events written past the head)",
        )
    if head.hash != previous_hash:
        return VerifyResult(
            False, count, last_sequence, None, "the chain head's hash does not match the last event's hash"
        )
    return VerifyResult(True, count)


def audit_events_for(*, object_type: str, object_id: str | int) -> QuerySet[AuditEvent]:
    """An object's events, newest first."""
    return AuditEvent.objects.filter(object_type=object_type, object_id=str(object_id)).order_by("-sequence")


# The roles whose events about a person the person sees ("who accessed my data").
STAFF_ACCESS_ROLES = ("officer", "supervisor", "administrator", "courier")


def staff_access_for_person(
    *, person_id: int, objects: Mapping[str, Iterable[int]] | None = None
) -> QuerySet[AuditEvent]:
    """Every event a staff member or a courier wrote about a person (services put the person's
    register id in `detail.person_id`), and about the `objects` ({object type: ids}) that are the
    person's own — e.g. the requests they applied for on behalf of a child, whose events name the
    child. Newest first. Never another person's: the filter is on ids the caller resolved for
    this person."""
    about = Q(detail__person_id=person_id)
    for object_type, ids in (objects or {}).items():
        keys = [str(pk) for pk in ids]
        if keys:
            about |= Q(object_type=object_type, object_id__in=keys)
    return AuditEvent.objects.filter(about, actor_role__in=STAFF_ACCESS_ROLES).order_by("-sequence")


def audit_verification_last(*, using: str = DEFAULT_DB_ALIAS) -> AuditVerification | None:
    """The outcome of the last `manage.py audit_verify` run, or None if it never ran."""
    return AuditVerification.objects.using(using).filter(pk=VERIFICATION_PK).first()
