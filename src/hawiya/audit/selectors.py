"""Reading the audit trail: verification of the Merkle log, inclusion proofs, an object's events."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q, QuerySet

from . import merkle
from .models import (
    GENESIS_HASH,
    LEGACY_FORMAT_VERSION,
    VERIFICATION_PK,
    AuditEvent,
    AuditSeal,
    AuditVerification,
    utc_iso,
)
from .signing import (
    LOG_NAME,
    STH_VERSION,
    VerificationKey,
    retired_keys,
    signing_key,
    sth_signature_valid,
    verification_keys,
)

VERIFY_BATCH_SIZE = 2000
PROOF_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class VerifyResult:
    """What `audit_log_verify` found: `ok`, how many events it checked (sealed and pending), and
    the first broken event by id with the reason."""

    ok: bool
    count: int
    broken_id: int | None = None
    reason: str = ""
    sealed: int = 0
    pending: int = 0
    seals: int = 0

    @property
    def message(self) -> str:
        if self.ok:
            return (
                f"audit log intact: {self.count} events, {self.sealed} sealed under {self.seals} "
                f"signed tree heads, {self.pending} pending"
            )
        return f"audit log broken at event id {self.broken_id}: {self.reason}"


class _Broken(Exception):
    def __init__(self, event_id: int | None, reason: str) -> None:
        super().__init__(reason)
        self.event_id, self.reason = event_id, reason


@contextmanager
def _snapshot(using: str) -> Iterator[None]:
    """On PostgreSQL, one read-only REPEATABLE READ transaction: the seals and every event as of
    one instant, however long the walk, while writers carry on. Elsewhere (SQLite, the
    single-machine mode) or inside a caller's transaction, the reads run as they are."""
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _expected_ids(runs: Any) -> Iterator[int]:
    for first, last in runs:
        yield from range(int(first), int(last) + 1)


def _in_order(rows: QuerySet[Any], key: str, batch_size: int) -> Iterator[Any]:
    """The rows in `key` order (a unique column), `batch_size` per statement, each batch read
    after the last key seen. Behind PgBouncer in transaction mode there is no server-side cursor,
    and QuerySet.iterator() would have the driver hold the whole result at once; here each read
    is one bounded statement, and memory one batch, however long the table (inside a REPEATABLE
    READ snapshot, the batches are one consistent read)."""
    last = None
    while True:
        page = rows if last is None else rows.filter(**{f"{key}__gt": last})
        batch = list(page.order_by(key)[:batch_size])
        yield from batch
        if len(batch) < batch_size:
            return
        last = getattr(batch[-1], key)


class _Walk:
    """The state of one verification walk over the seals, in tree-size order.

    It keeps the tree's frontier (one root per perfect subtree, as the sealer does) and only the
    current seal's batch of leaves: the roots and the consistency proof from the previous tree
    head need nothing else (merkle.FrontierTree), so memory stays the size of a batch however
    long the log grows. The seals are read a batch at a time too."""

    def __init__(self, seals: Iterator[AuditSeal], keys: Callable[[], Mapping[str, VerificationKey]]) -> None:
        self.seals = seals
        self.tree = merkle.FrontierTree([], 0, [])  # the sealed tree so far, then this batch
        self.index = 0  # how many seals the walk has closed
        self.expected: Iterator[int] = iter(())
        self.previous_size, self.previous_root = 0, merkle.EMPTY_ROOT
        self.seal: AuditSeal | None = next(self.seals, None)  # the seal whose batch the walk is in
        # The keys are read only if there is a seal to check (a server may run without a key
        # until its first seal, in tests and on a fresh machine).
        self.keys: Mapping[str, VerificationKey] = keys() if self.seal is not None else {}
        if self.seal is not None:
            self.expected = _expected_ids(self.seal.event_ids)

    def close_seal(self) -> None:
        """The walk has passed the current seal's last event: check its tree head."""
        seal = self.seal
        if seal is None:  # the callers close only the seal the walk is in
            return
        missing = next(self.expected, None)
        if missing is not None:
            raise _Broken(missing, f"event id {missing} is missing (removed after it was sealed)")
        if len(self.tree) != seal.tree_size:
            raise _Broken(
                seal.first_event_id,
                f"the tree head of size {seal.tree_size} covers {len(self.tree)} events (seal altered)",
            )
        root = self.tree.root()
        if root.hex() != seal.root_hash:
            raise _Broken(
                seal.first_event_id,
                f"the batch sealed at size {seal.tree_size} does not hash to its signed root "
                "(events reordered or the seal altered)",
            )
        key = self.keys.get(seal.key_id)
        if key is None:
            raise _Broken(
                seal.first_event_id,
                f"the tree head of size {seal.tree_size} names key {seal.key_id[:16]}…, neither the "
                "log's key nor a retired one (HAWIYA_AUDIT_RETIRED_KEYS)",
            )
        if not sth_signature_valid(
            tree_size=seal.tree_size,
            root_hash=seal.root_hash,
            timestamp=seal.signed_at,
            key_id=seal.key_id,
            signature=seal.signature,
            public_raw=key.public_raw,
        ):
            raise _Broken(
                seal.first_event_id,
                f"the tree head of size {seal.tree_size} is not signed by the key it names",
            )
        if key.retired_at is not None and seal.signed_at > key.retired_at:
            # Signed with a key after it stopped signing: only someone holding the old private
            # key could have, and the platform no longer uses it.
            raise _Broken(
                seal.first_event_id,
                f"the tree head of size {seal.tree_size} is dated {utc_iso(seal.signed_at)}, after "
                f"its key {seal.key_id[:16]}… was retired ({utc_iso(key.retired_at)})",
            )
        if self.previous_size:
            proof = self.tree.consistency_proof(self.previous_size, seal.tree_size)
            try:
                merkle.verify_consistency(self.previous_size, seal.tree_size, self.previous_root, root, proof)
            except merkle.ProofError as error:
                raise _Broken(seal.first_event_id, f"tree head {seal.tree_size}: {error}") from error
        frontier = self.tree.frontier()  # no leaf hashed again: the root above computed them
        if [node.hex() for node in frontier] != list(seal.frontier):
            raise _Broken(
                seal.first_event_id,
                f"the subtree roots kept with the tree head of size {seal.tree_size} are not the tree's "
                "(seal altered)",
            )
        self.tree = merkle.FrontierTree(frontier, seal.tree_size, [])
        self.previous_size, self.previous_root = seal.tree_size, root
        self.index += 1
        self.seal = next(self.seals, None)
        if self.seal is not None:
            self.expected = _expected_ids(self.seal.event_ids)


def audit_log_verify(*, batch_size: int = VERIFY_BATCH_SIZE, using: str = DEFAULT_DB_ALIAS) -> VerifyResult:
    """Walk every event in id order and every seal, and stop at the first break.

    For each event: its stored hash is recomputed from its fields (altered?); a format-1 event
    also follows the previous one in its chain. A sealed event must be the next id its seal
    lists (removed? inserted after sealing?); when a seal's batch is complete, the tree over all
    events so far must have its signed root, its signature must verify with the log's key, and
    an RFC 9162 consistency proof from the previous tree head must verify. Events after the last
    seal are pending, not broken. Memory is one seal's batch of hashes, and the events and seals
    are read `batch_size` at a time (`_in_order`), whatever the log's length.
    """
    with _snapshot(using):
        walk = _Walk(_in_order(AuditSeal.objects.using(using), "tree_size", batch_size), verification_keys)
        count = pending = 0
        previous_v1, expected_sequence, legacy_over = GENESIS_HASH, 1, False
        events = _in_order(AuditEvent.objects.using(using), "id", batch_size)
        try:
            for event in events:
                leaf = event.checked_leaf_hash()
                if leaf is None:
                    raise _Broken(event.pk, "stored hash does not match its content (altered)")
                if event.format_version == LEGACY_FORMAT_VERSION:
                    if legacy_over:
                        raise _Broken(event.pk, "a format-1 event after the Merkle log began (inserted)")
                    if event.sequence != expected_sequence:
                        raise _Broken(
                            event.pk, f"format-1 event #{expected_sequence} is missing (sequence gap)"
                        )
                    if event.prev_hash != previous_v1:
                        raise _Broken(
                            event.pk, "prev_hash does not match the previous event's hash (relinked)"
                        )
                    previous_v1, expected_sequence = event.hash, expected_sequence + 1
                else:
                    legacy_over = True
                while walk.seal is not None and event.pk > walk.seal.last_event_id:
                    walk.close_seal()
                if walk.seal is None:
                    pending += 1
                else:
                    expected = next(walk.expected, None)
                    if expected is None or event.pk < expected:
                        raise _Broken(event.pk, "not in the seal that covers its id (written after sealing)")
                    if event.pk > expected:
                        raise _Broken(
                            expected, f"event id {expected} is missing (removed after it was sealed)"
                        )
                    walk.tree.append(leaf)
                count += 1
            while walk.seal is not None:
                walk.close_seal()
        except _Broken as broken:
            return VerifyResult(
                False, count, broken.event_id, broken.reason, len(walk.tree), pending, walk.index
            )
    return VerifyResult(True, count, sealed=len(walk.tree), pending=pending, seals=walk.index)


# The name the rest of the platform (and its tests) knows.
audit_chain_verify = audit_log_verify


def audit_public_keys() -> list[dict[str, str]]:
    """The log's public keys as published at /.well-known/hawiya-audit-key: the current one
    first, then the retired ones, which signed older tree heads and sign nothing now."""
    current = signing_key()
    keys = [
        {
            "algorithm": "Ed25519",
            "key_id": current.key_id,
            "public_key": current.public_b64,
            "status": "current",
        }
    ]
    for retired in retired_keys():
        if retired.key_id not in {key["key_id"] for key in keys}:  # listed twice, or the current key
            entry = {
                "algorithm": "Ed25519",
                "key_id": retired.key_id,
                "public_key": base64.b64encode(retired.public_raw).decode("ascii"),
                "status": "retired",
            }
            if retired.retired_at is not None:
                entry["retired_at"] = utc_iso(retired.retired_at)
            keys.append(entry)
    return keys


def signed_tree_head(seal: AuditSeal) -> dict[str, Any]:
    """A seal as a signed tree head document (no personal data: sizes, hashes, a time)."""
    return {
        "log": LOG_NAME,
        "v": STH_VERSION,
        "tree_size": seal.tree_size,
        "root_hash": seal.root_hash,
        "timestamp": utc_iso(seal.signed_at),
        "key_id": seal.key_id,
        "signature": seal.signature,
    }


def audit_latest_seal(*, using: str = DEFAULT_DB_ALIAS) -> AuditSeal | None:
    return AuditSeal.objects.using(using).order_by("-tree_size").first()


def audit_inclusion_proof(event: AuditEvent, *, using: str = DEFAULT_DB_ALIAS) -> dict[str, Any] | None:
    """The JSON inclusion proof of a sealed event (docs/audit-proof.md) under the signed tree head
    of the seal that took it in, or None while the event waits for its seal.

    It reads only that seal's batch (at most HAWIYA_AUDIT_SEAL_BATCH events): the leaves before
    it are summed up by the previous seal's frontier (`merkle.FrontierTree`). That the head it
    names is a prefix of every later one is what `audit_verify` checks (consistency proofs)."""
    key = f"hawiya.audit.proof.{using}.{event.pk}.{event.hash}"
    cached = cache.get(key)
    if cached is not None:
        return cast(dict[str, Any], cached)
    proof = _inclusion_proof(event, using)
    if proof is not None:
        # A proof never changes once its seal exists: repeated downloads cost one read of the cache.
        cache.set(key, proof, PROOF_CACHE_SECONDS)
    return proof


def _inclusion_proof(event: AuditEvent, using: str) -> dict[str, Any] | None:
    seal = AuditSeal.objects.using(using).filter(last_event_id__gte=event.pk).order_by("tree_size").first()
    if seal is None or event.pk < seal.first_event_id:
        return None
    previous = (
        AuditSeal.objects.using(using).filter(tree_size__lt=seal.tree_size).order_by("-tree_size").first()
    )
    prior_size = previous.tree_size if previous else 0
    batch = (
        AuditEvent.objects.using(using)
        .filter(id__gte=seal.first_event_id, id__lte=seal.last_event_id)
        .order_by("id")
    )
    leaves: list[bytes] = []
    index = None
    for other in batch.iterator(chunk_size=VERIFY_BATCH_SIZE):
        if other.pk == event.pk:
            index = prior_size + len(leaves)
        # Format-1 events store their chain hash; their leaf is recomputed.
        is_legacy = other.format_version == LEGACY_FORMAT_VERSION
        leaves.append(other.leaf_hash() if is_legacy else bytes.fromhex(other.hash))
    frontier = [bytes.fromhex(node) for node in (previous.frontier if previous else [])]
    try:
        tree = merkle.FrontierTree(frontier, prior_size, leaves)
        intact = index is not None and len(tree) == seal.tree_size and tree.root().hex() == seal.root_hash
    except ValueError:
        intact = False
    if not intact or index is None:
        # The batch does not match its seal: `audit_verify` will say where; no proof is given.
        return None
    leaf = event.leaf_data()
    return {
        "format": "hawiya-audit-inclusion-proof/1",
        "leaf": leaf.decode("utf-8"),
        "leaf_hash": merkle.leaf_hash(leaf).hex(),
        "leaf_index": index,
        "tree_size": seal.tree_size,
        "audit_path": [node.hex() for node in tree.inclusion_path(index)],
        "signed_tree_head": signed_tree_head(seal),
    }


def audit_events_for(*, object_type: str, object_id: str | int) -> QuerySet[AuditEvent]:
    """An object's events, newest first."""
    return AuditEvent.objects.filter(object_type=object_type, object_id=str(object_id)).order_by("-id")


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
    return AuditEvent.objects.filter(about, actor_role__in=STAFF_ACCESS_ROLES).order_by("-id")


def audit_oldest_unsealed_at(*, using: str = DEFAULT_DB_ALIAS) -> dt.datetime | None:
    """When the oldest event not yet sealed was written (None when every event is sealed): the
    sealing lag /metrics shows. Ids grow with time, so the first id past the last seal is it."""
    latest = audit_latest_seal(using=using)
    after = latest.last_event_id if latest else 0
    first = AuditEvent.objects.using(using).filter(id__gt=after).order_by("id").values_list("occurred_at")[:1]
    return next(iter(first), (None,))[0]


def audit_verification_last(*, using: str = DEFAULT_DB_ALIAS) -> AuditVerification | None:
    """The outcome of the last `manage.py audit_verify` run, or None if it never ran."""
    return AuditVerification.objects.using(using).filter(pk=VERIFICATION_PK).first()


def staff_access_event_for_person(*, event_id: int, person_id: int) -> AuditEvent | None:
    """One staff or courier event about this person (`detail.person_id`), or None: the only
    events whose inclusion proof a citizen may download."""
    return (
        AuditEvent.objects.filter(pk=event_id, detail__person_id=person_id, actor_role__in=STAFF_ACCESS_ROLES)
        .order_by()
        .first()
    )


def audit_sealed_through(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """The highest event id the latest signed tree head covers (0 before the first seal)."""
    latest = audit_latest_seal(using=using)
    return latest.last_event_id if latest else 0
