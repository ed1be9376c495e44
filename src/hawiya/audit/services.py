"""Writing to the audit trail: `audit_record`, called by every domain service that changes state.

Call it inside the transaction that makes the change (the event commits or rolls back with it)
and as late in that transaction as possible: it locks the chain head, so every audited write on
the platform queues behind it until the caller commits. Domain rows are locked first and the head
last, in every service, so two services can never wait on each other in a cycle.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.transaction import TransactionManagementError

from hawiya.core import clock

from .actors import Actor
from .models import (
    GENESIS_HASH,
    HEAD_PK,
    VERIFICATION_PK,
    AuditChainHead,
    AuditEvent,
    AuditVerification,
    canonical_json,
)

ACTION_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
OBJECT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
MAX_DETAIL_BYTES = 2048
MAX_DETAIL_STRING = 120
# Keys that would carry personal data. A guard against slips, not a substitute for review:
# a detail value is an id, a status, a version or a code, never something about a person.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "name",
        "first_name",
        "family_name",
        "full_name",
        "name_ar",
        "name_en",
        "id_number",
        "national_id",
        "mobile",
        "phone",
        "email",
        "password",
        "code",
        "otp",
        "address",
        "date_of_birth",
    }
)


def _check_detail(value: Any, path: str = "detail") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: keys must be strings")
            if key.lower() in FORBIDDEN_DETAIL_KEYS:
                raise ValueError(f"{path}.{key}: personal data does not belong in the audit trail")
            _check_detail(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_detail(item, f"{path}[{index}]")
    elif isinstance(value, str):
        if len(value) > MAX_DETAIL_STRING or "\x00" in value:
            raise ValueError(f"{path}: strings are short codes (at most {MAX_DETAIL_STRING} characters)")
    elif value is not None and not isinstance(value, (bool, int)):
        # Floats are left out: their text form may not survive a round trip through jsonb.
        raise ValueError(f"{path}: only strings, integers, booleans, null, lists and objects")


def _locked_head(using: str) -> AuditChainHead:
    head = AuditChainHead.objects.using(using).select_for_update().filter(pk=HEAD_PK).first()
    if head is None:
        # Migration 0002 creates the row; a flushed test database has lost it. Recreating it
        # cannot fork a non-empty chain: event #1 already exists and `sequence` is unique.
        AuditChainHead.objects.using(using).bulk_create(
            [AuditChainHead(pk=HEAD_PK, sequence=0, hash=GENESIS_HASH)], ignore_conflicts=True
        )
        head = AuditChainHead.objects.using(using).select_for_update().get(pk=HEAD_PK)
    return head


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    detail: dict[str, Any] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> AuditEvent:
    """Append one event to the chain and return it.

    `actor` says who acts (its columns: `audit.actors`), `action` a stable dotted code
    ("document.reported_lost"), `object_type` a dotted model label ("registry.document") and
    `object_id` its primary key. `detail` is a small JSON object of ids, statuses and versions:
    NEVER personal data (names, ID numbers, mobile numbers, e-mail addresses, codes).
    Raises TransactionManagementError outside `transaction.atomic`, ValueError for a malformed
    argument, TypeError when `actor` is not an `Actor`.
    """
    if not transaction.get_connection(using).in_atomic_block:
        raise TransactionManagementError(
            "audit_record() must run inside the transaction that makes the change it records"
        )
    if not isinstance(actor, Actor):
        # The columns are made in one place only (`Actor.columns`), never from loose strings.
        raise TypeError(f"actor must be an audit.actors.Actor, not {type(actor).__name__}")
    object_id = str(object_id)
    if not ACTION_CODE.fullmatch(action) or len(action) > 64:
        raise ValueError(f"action must be a dotted code like 'document.reported_lost', not {action!r}")
    if not OBJECT_TYPE.fullmatch(object_type) or len(object_type) > 64:
        raise ValueError(f"object_type must be a model label like 'registry.document', not {object_type!r}")
    if not object_id or len(object_id) > 64:
        raise ValueError("object_id must be 1-64 characters")
    detail = {} if detail is None else detail
    if not isinstance(detail, dict):
        raise ValueError("detail must be a JSON object")
    _check_detail(detail)
    if len(canonical_json(detail)) > MAX_DETAIL_BYTES:
        raise ValueError(f"detail is limited to {MAX_DETAIL_BYTES} bytes")

    columns = actor.columns()
    head = _locked_head(using)
    event = AuditEvent(
        sequence=head.sequence + 1,
        occurred_at=clock.now(),
        actor=columns.actor,
        actor_role=columns.actor_role,
        actor_office=columns.actor_office,
        action=action,
        object_type=object_type,
        object_id=object_id,
        ip=columns.ip,
        detail=detail,
        prev_hash=head.hash,
    )
    event.hash = event.compute_hash()
    event.save(using=using)
    head.sequence = event.sequence
    head.hash = event.hash
    head.save(using=using, update_fields=["sequence", "hash"])
    return event


def audit_verification_record(
    *, ok: bool, events_checked: int, using: str = DEFAULT_DB_ALIAS
) -> AuditVerification:
    """Keep the outcome of an `audit_verify` run (the single row, overwritten), for /metrics."""
    verification, _created = AuditVerification.objects.using(using).update_or_create(
        pk=VERIFICATION_PK,
        defaults={"ok": ok, "events_checked": events_checked, "ran_at": clock.now()},
    )
    return verification
