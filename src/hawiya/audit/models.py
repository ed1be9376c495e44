"""The audit trail: one append-only row per change to the register, sealed into a Merkle log.

Each event's `hash` is its RFC 9162 leaf hash, SHA-256(0x00 || canonical JSON of its own fields),
the database id included, who acted (actor, IP) as a salted commitment. Writing one takes no
lock shared with other writers (`services.audit_record`). A minute job (`services.audit_seal`)
appends each new batch of events, in id order, to one growing Merkle tree over the whole log and
keeps a signed tree head (`AuditSeal`); `manage.py audit_verify` recomputes everything and names
the first broken event.

Events written before the Merkle log (format 1) keep their `sequence` and `prev_hash` chain and
their plain SHA-256 `hash`; they are verified as they were and become the log's first leaves.

Rows are never changed or deleted: `save()` of a stored row, `delete()`, `QuerySet.update()` and
`QuerySet.delete()` raise `AuditTrailImmutable`, the admin is read-only, and database triggers
(migrations 0003 and 0007) refuse UPDATE and DELETE on the event and seal tables themselves.

On PostgreSQL the event table is partitioned by month of `occurred_at` (migration 0008, and
`services.audit_ensure_partitions` ahead of time); there its primary key is (id, occurred_at), the
partition key being part of every unique index, while Django knows `id` as the key: ids come from
the identity sequence only. PostgreSQL cannot build an index CONCURRENTLY on a partitioned table:
a later index that must not block writes is `CREATE INDEX … ON ONLY` the parent, then one built
CONCURRENTLY on each partition and attached (`ALTER INDEX … ATTACH PARTITION`).

`detail` holds a few small values that help an investigator: ids, statuses, versions, codes.
It NEVER holds personal data: no names, no full ID numbers, mobile numbers or e-mail addresses,
no codes or passwords. The trail outlives corrections to the register and cannot be edited, so
anything personal written here could never be rectified or erased.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, NoReturn

from django.db import models
from django.db.models import F
from django.db.models.fields.json import KeyTransform
from django.utils.translation import gettext_lazy as _

# The prev_hash of format-1 event #1.
GENESIS_HASH = "0" * 64
# Bump when the canonical form changes; it is part of every hashed document. Format 1: the
# hash chain (sequence, prev_hash); format 2: Merkle leaves.
HASH_FORMAT_VERSION = 2
LEGACY_FORMAT_VERSION = 1


class AuditTrailImmutable(RuntimeError):
    """Something tried to change or delete a stored audit event."""


def canonical_json(fields: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same values on any database."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def utc_iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditTrailImmutable("audit events are append-only: update() refused")

    def delete(self) -> NoReturn:
        raise AuditTrailImmutable("audit events are append-only: delete() refused")


class AuditEvent(models.Model):
    """One thing that happened, who did it, to what. Write it with `services.audit_record`."""

    # Format 1 only: the chain position and link of events written before the Merkle log.
    sequence = models.PositiveBigIntegerField(_("sequence number"), null=True, blank=True, editable=False)
    occurred_at = models.DateTimeField(_("occurred at"), editable=False)
    actor = models.CharField(
        _("actor"),
        max_length=64,
        editable=False,
        help_text=_(
            'An opaque id ("user:42", "courier:<key>", "system:<reason>", see audit/actors.py); '
            "never a name or an ID number."
        ),
    )
    actor_role = models.CharField(_("actor's role"), max_length=32, blank=True, default="", editable=False)
    actor_office = models.CharField(
        _("actor's office"), max_length=32, blank=True, default="", editable=False
    )
    action = models.CharField(
        _("action"),
        max_length=64,
        editable=False,
        help_text=_('A stable code, e.g. "document.reported_lost".'),
    )
    object_type = models.CharField(_("object type"), max_length=64, editable=False)
    object_id = models.CharField(_("object id"), max_length=64, editable=False)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, editable=False)
    detail = models.JSONField(
        _("detail"),
        default=dict,
        blank=True,
        editable=False,
        help_text=_("Ids, statuses and versions only; never personal data."),
    )
    # None marks a format-2 event (no chain), "" would be a format-1 event with an empty link.
    prev_hash = models.CharField(  # noqa: DJ001
        _("previous hash"), max_length=64, null=True, blank=True, editable=False
    )
    # Format 2: 128 random bits in the actor commitment (`actor_commitment`), so that neither the
    # staff member behind a citizen's proof nor the neighbouring leaves it shows can be guessed.
    salt = models.CharField(_("salt"), max_length=32, blank=True, default="", editable=False)
    # Not unique: the id is in the leaf, so two events never share a hash, and a unique index on
    # random 64-character keys would cost every audited write a random B-tree insertion.
    hash = models.CharField(_("hash"), max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ("-id",)
        indexes = (
            # The case page, an object's events, "who accessed my data" by object, the counter's
            # failed checks of one person.
            models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx"),
            # The admin's filter by action (and its list of actions). No index on `actor`: the
            # only query on it, the admin's exact search, compares UPPER(actor) and could not use
            # one (migration 0009 dropped it; every audited write paid for it).
            models.Index(fields=["action", "occurred_at"], name="audit_event_action_idx"),
            # "Who accessed my data": staff and courier events about one person (detail.person_id),
            # newest first, without reading the whole trail.
            models.Index(
                KeyTransform("person_id", "detail"),
                F("id").desc(),
                name="audit_event_person_id_idx",
                condition=~models.Q(actor_role=""),
            ),
        )
        constraints = (
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="audit_event_sequence_positive"),
            # Format 1 only; format-2 rows leave it empty and stay out of the index.
            models.UniqueConstraint(
                fields=["sequence"],
                condition=models.Q(sequence__isnull=False),
                name="audit_event_legacy_sequence_unique",
            ),
        )

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailImmutable(f"audit event #{self.pk} is stored and cannot be changed")
        kwargs["force_insert"] = True
        kwargs.pop("force_update", None)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditTrailImmutable(f"audit event #{self.pk} cannot be deleted")

    @property
    def format_version(self) -> int:
        return LEGACY_FORMAT_VERSION if self.prev_hash is not None else HASH_FORMAT_VERSION

    def actor_commitment(self) -> str:
        """Who acted and from where, as a salted SHA-256: a citizen's inclusion proof carries the
        leaf without showing the staff member's id or address, and no one can test guesses of
        them (or of a neighbouring leaf) without the salt."""
        private = {"actor": self.actor, "ip": None if self.ip is None else str(self.ip), "salt": self.salt}
        return hashlib.sha256(canonical_json(private)).hexdigest()

    def hashed_fields(self) -> dict[str, Any]:
        """Every field the hash covers, as JSON values."""
        if self.format_version == LEGACY_FORMAT_VERSION:
            return {
                "v": LEGACY_FORMAT_VERSION,
                "sequence": self.sequence,
                "occurred_at": utc_iso(self.occurred_at),
                "actor": self.actor,
                "actor_role": self.actor_role,
                "actor_office": self.actor_office,
                "action": self.action,
                "object_type": self.object_type,
                "object_id": self.object_id,
                "ip": None if self.ip is None else str(self.ip),
                "detail": self.detail,
                "prev_hash": self.prev_hash,
            }
        return {
            "v": HASH_FORMAT_VERSION,
            "id": self.pk,
            "occurred_at": utc_iso(self.occurred_at),
            "actor_commitment": self.actor_commitment(),
            "actor_role": self.actor_role,
            "actor_office": self.actor_office,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "detail": self.detail,
        }

    def leaf_data(self) -> bytes:
        """The bytes of this event's Merkle leaf: the canonical JSON of `hashed_fields()`."""
        return canonical_json(self.hashed_fields())

    def leaf_data_around_id(self) -> tuple[bytes, bytes]:
        """The leaf data of a format-2 event as the bytes before and after its id's digits:
        `leaf_data() == before + str(id).encode() + after`, whatever the id. The database can
        then hash an id it hands out in the same statement (`services.audit_record`)."""
        fields = self.hashed_fields()
        fields["id"] = 0
        data = canonical_json(fields)
        # Sorted keys: "action", ..., "detail", "id", "object_id", "object_type", "occurred_at",
        # "v". After the top-level id come only strings (a quote in them is escaped) and "v":2,
        # so the last `,"id":0,` is the top-level one, whatever `detail` holds.
        cut = data.rindex(b',"id":0,')
        return data[: cut + 6], data[cut + 7 :]

    def leaf_hash(self) -> bytes:
        """RFC 9162 leaf hash, SHA-256(0x00 || leaf data), recomputed from the fields."""
        return hashlib.sha256(b"\x00" + self.leaf_data()).digest()

    def compute_hash(self) -> str:
        """What `hash` must hold: the leaf hash (format 2), or the format-1 chain hash."""
        if self.format_version == LEGACY_FORMAT_VERSION:
            return hashlib.sha256(self.leaf_data()).hexdigest()
        return self.leaf_hash().hex()

    def checked_leaf_hash(self) -> bytes | None:
        """The leaf hash recomputed from the fields, or None when the stored `hash` does not
        match them (the event was altered): the fields are serialised and hashed once."""
        data = self.leaf_data()
        leaf = hashlib.sha256(b"\x00" + data).digest()
        if self.format_version == LEGACY_FORMAT_VERSION:
            stored_ok = hashlib.sha256(data).hexdigest() == self.hash
        else:
            stored_ok = leaf.hex() == self.hash
        return leaf if stored_ok else None


class AuditSealQuerySet(models.QuerySet["AuditSeal"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditTrailImmutable("audit seals are append-only: update() refused")

    def delete(self) -> NoReturn:
        raise AuditTrailImmutable("audit seals are append-only: delete() refused")


class AuditSeal(models.Model):
    """A signed tree head: the Merkle tree over the first `tree_size` events (id order) has
    `root_hash`, said the log's key `key_id` at `signed_at`. Each seal adds one batch, the events
    with ids in (previous seal's `last_event_id`, `last_event_id`]; `event_ids` lists them as
    [first, last] runs (ids skip where a transaction rolled back), so that verification can name
    a removed event. `frontier` holds the roots of the tree's perfect subtrees, so the next seal
    hashes only its own batch; verification recomputes everything and trusts neither."""

    tree_size = models.PositiveBigIntegerField(_("tree size"), unique=True, editable=False)
    root_hash = models.CharField(_("root hash"), max_length=64, editable=False)
    first_event_id = models.PositiveBigIntegerField(_("first event id"), editable=False)
    last_event_id = models.PositiveBigIntegerField(_("last event id"), unique=True, editable=False)
    event_ids = models.JSONField(_("event id runs"), default=list, editable=False)
    frontier = models.JSONField(_("subtree roots"), default=list, editable=False)
    signed_at = models.DateTimeField(_("signed at"), editable=False)
    key_id = models.CharField(_("key id"), max_length=64, editable=False)
    signature = models.CharField(_("signature"), max_length=128, editable=False)

    objects = AuditSealQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")
        ordering = ("-tree_size",)
        constraints = (
            models.CheckConstraint(condition=models.Q(tree_size__gte=1), name="audit_seal_size_positive"),
            models.CheckConstraint(
                condition=models.Q(first_event_id__lte=F("last_event_id")), name="audit_seal_batch_ordered"
            ),
        )

    def __str__(self) -> str:
        return f"tree of {self.tree_size} {self.root_hash[:12]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailImmutable(f"audit seal of {self.tree_size} is stored and cannot be changed")
        kwargs["force_insert"] = True
        kwargs.pop("force_update", None)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditTrailImmutable(f"audit seal of {self.tree_size} cannot be deleted")


VERIFICATION_PK = 1


class AuditVerification(models.Model):
    """The single row (pk 1) holding the outcome of the last `manage.py audit_verify` run.

    Written by the command, read by /metrics (hawiya_audit_verify_ok and its time), so every
    process, on any machine, sees the same last outcome, and a restart forgets nothing. Not part
    of the chain: it says what the chain looked like, and is overwritten at each run.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=VERIFICATION_PK, editable=False)
    ok = models.BooleanField(_("intact"))
    events_checked = models.PositiveBigIntegerField(_("events checked"), default=0)
    ran_at = models.DateTimeField(_("ran at"))

    class Meta:
        verbose_name = _("audit chain verification")
        verbose_name_plural = _("audit chain verification")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(id=VERIFICATION_PK), name="audit_verification_single_row"
            ),
        )

    def __str__(self) -> str:
        return f"{'intact' if self.ok else 'broken'} at {self.ran_at.isoformat()}"
