"""The audit trail: one append-only, hash-chained row per change to the register.

Every event carries the SHA-256 of a canonical JSON of its own fields and of the previous
event's hash (`prev_hash`), so changing, removing or reordering any stored event breaks the
chain from that event on; `manage.py audit_verify` finds where. `AuditChainHead` is a one-row
table holding the last sequence number and hash: writers lock it (`audit_record`), so the chain
never forks, and it also shows events removed from the end.

Rows are never changed or deleted: `save()` of a stored row, `delete()`, `QuerySet.update()` and
`QuerySet.delete()` raise `AuditTrailImmutable`, the admin is read-only, and database triggers
(migration 0003) refuse UPDATE and DELETE on the table itself.

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

# The prev_hash of event #1.
GENESIS_HASH = "0" * 64
# Bump when the canonical form changes; it is part of every hashed document.
HASH_FORMAT_VERSION = 1
HEAD_PK = 1


class AuditTrailImmutable(RuntimeError):
    """Something tried to change or delete a stored audit event."""


def canonical_json(fields: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same values on any database."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _utc_iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditTrailImmutable("audit events are append-only: update() refused")

    def delete(self) -> NoReturn:
        raise AuditTrailImmutable("audit events are append-only: delete() refused")


class AuditEvent(models.Model):
    """One thing that happened, who did it, to what. Write it with `services.audit_record`."""

    sequence = models.PositiveBigIntegerField(_("sequence number"), unique=True, editable=False)
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
    prev_hash = models.CharField(_("previous hash"), max_length=64, editable=False)
    hash = models.CharField(_("hash"), max_length=64, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ("-sequence",)
        indexes = (
            models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx"),
            models.Index(fields=["actor", "occurred_at"], name="audit_event_actor_idx"),
            models.Index(fields=["action", "occurred_at"], name="audit_event_action_idx"),
            # "Who accessed my data": staff and courier events about one person (detail.person_id),
            # newest first, without reading the whole trail.
            models.Index(
                KeyTransform("person_id", "detail"),
                F("sequence").desc(),
                name="audit_event_person_idx",
                condition=~models.Q(actor_role=""),
            ),
        )
        constraints = (
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="audit_event_sequence_positive"),
        )

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailImmutable(f"audit event #{self.sequence} is stored and cannot be changed")
        kwargs["force_insert"] = True
        kwargs.pop("force_update", None)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditTrailImmutable(f"audit event #{self.sequence} cannot be deleted")

    def hashed_fields(self) -> dict[str, Any]:
        """Every field the hash covers, as JSON values."""
        return {
            "v": HASH_FORMAT_VERSION,
            "sequence": self.sequence,
            "occurred_at": _utc_iso(self.occurred_at),
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

    def compute_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of `hashed_fields()`."""
        return hashlib.sha256(canonical_json(self.hashed_fields())).hexdigest()


class AuditChainHead(models.Model):
    """The single row (pk 1) holding the last event's sequence number and hash.

    `audit_record` locks it (`SELECT ... FOR UPDATE`), so concurrent writers queue and each
    appends after the previous one; verification compares it with the last event.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=HEAD_PK, editable=False)
    sequence = models.PositiveBigIntegerField(_("last sequence number"), default=0)
    hash = models.CharField(_("last hash"), max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")
        constraints = (
            models.CheckConstraint(condition=models.Q(id=HEAD_PK), name="audit_chain_head_single_row"),
        )

    def __str__(self) -> str:
        return f"#{self.sequence} {self.hash[:12]}"


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
