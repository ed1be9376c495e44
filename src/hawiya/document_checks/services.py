"""Answering a relying party's document-status checks, and recording every answer.

The rules:
- a party says whose document (ID number), which kind, and its serial number or its version (or
  both, and then both must match); the answer is the document's status — `valid`,
  `reported_lost`, `replaced`, `expired`, `cancelled` — or `not_found`, and the time it was
  given. Nothing else about the person leaves Hawiya: `not_found` is the same for an unknown ID
  number, a serial of somebody else and a kind the person does not hold;
- a valid document past its expiry date is answered `expired` even before the nightly
  `document_expire_due` marks it;
- the answer is read from the primary database (where writes go), in the transaction that records
  it: a loss reported a moment ago is already there, so such a card is never answered `valid`;
- every answer is recorded (`DocumentCheck`: party, document, answer, time), for the holder's
  "who checked my documents" page. The record is the trail: checks are not also written to the
  audit chain, whose single head would queue every check on the platform behind it;
- a party may check HAWIYA_DOCUMENT_STATUS_RATE_LIMIT documents a minute (limits.py), at most
  MAX_BATCH in one call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import router, transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor, ActorKind
from hawiya.core import clock
from hawiya.core.errors import ApplicationError
from hawiya.identity.models import RelyingParty
from hawiya.identity.oidc_claims import DOCUMENT_STATUS_SCOPE
from hawiya.registry.models import Document, DocumentStatus

from . import errors
from .limits import checks_count
from .models import CheckAnswer, DocumentCheck

MAX_BATCH = 100


@dataclass(frozen=True)
class StatusQuery:
    """One document a party asks about: the holder's ID number, the kind, and the serial number
    or the version (at least one)."""

    id_number: str
    kind: str
    serial_number: str = ""
    version: int | None = None


@dataclass(frozen=True)
class StatusAnswer:
    status: str
    checked_at: dt.datetime


def _matches(document: Document, query: StatusQuery) -> bool:
    if query.serial_number and document.serial_number != query.serial_number.upper():
        return False
    if query.version is not None and document.version != query.version:
        return False
    return bool(query.serial_number) or query.version is not None


def _answer(document: Document | None, today: dt.date) -> str:
    if document is None:
        return CheckAnswer.NOT_FOUND
    if (
        document.status == DocumentStatus.VALID
        and document.expiry_date is not None
        and document.expiry_date < today
    ):
        return CheckAnswer.EXPIRED
    return str(document.status)


def document_status_check(
    *, actor: Actor, party: RelyingParty, queries: Sequence[StatusQuery]
) -> list[StatusAnswer]:
    """The status of each queried document, in the order asked, each answer recorded.

    `party` is the relying party behind the access token (allowed `document_status`, not
    suspended: identity.selectors.party_token_for_bearer), `actor` that party.
    Raises BatchTooLarge (more than MAX_BATCH), ChecksThrottled (the party's minute is used up),
    ApplicationError `document_checks_forbidden` for any other actor.
    """
    if actor.kind != ActorKind.RELYING_PARTY or DOCUMENT_STATUS_SCOPE not in party.allowed_scopes:
        raise ApplicationError("document_checks_forbidden", _("Only a relying party may check documents."))
    if len(queries) > MAX_BATCH:
        raise errors.batch_too_large(MAX_BATCH)
    if not queries:
        return []
    checks_count(party_id=party.pk, documents=len(queries))
    # The primary: where writes go. A replica could lag behind a loss reported a moment ago.
    database = router.db_for_write(DocumentCheck)
    with transaction.atomic(using=database):
        checked_at = clock.now()
        today = checked_at.astimezone(clock.RIYADH).date()
        candidates: dict[tuple[str, str], list[Document]] = {}
        # One query for the whole batch: every document of these holders and kinds (a person
        # holds a handful), matched below.
        for document in (
            Document.objects.using(database)
            .filter(
                holder__id_number__in={query.id_number for query in queries},
                kind__in={query.kind for query in queries},
            )
            .select_related("holder")
            .only("id", "kind", "serial_number", "version", "status", "expiry_date", "holder__id_number")
            .order_by()  # matched in Python: the model's default ordering would only add a sort
        ):
            candidates.setdefault((document.holder.id_number, document.kind), []).append(document)
        found: Document | None
        answers: list[StatusAnswer] = []
        records: list[DocumentCheck] = []
        for query in queries:
            found = next(
                (item for item in candidates.get((query.id_number, query.kind), []) if _matches(item, query)),
                None,
            )
            answer = _answer(found, today)
            answers.append(StatusAnswer(status=answer, checked_at=checked_at))
            records.append(
                DocumentCheck(
                    party=party, document=found, kind=query.kind, answer=answer, checked_at=checked_at
                )
            )
        DocumentCheck.objects.using(database).bulk_create(records)
    return answers
