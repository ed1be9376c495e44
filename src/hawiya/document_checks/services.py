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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from django.db import router, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor, ActorKind
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.references import insert_with_reference
from hawiya.identity.models import RelyingParty
from hawiya.identity.oidc_claims import DOCUMENT_STATUS_SCOPE
from hawiya.identity.selectors import person_language
from hawiya.identity.staff import PERM_WORK_CASES, StaffActor
from hawiya.notifications.services import notify
from hawiya.notifications.subjects import DOCUMENT_CHECK, Subject
from hawiya.notifications.templates import bilingual
from hawiya.registry.models import Document, DocumentKind, DocumentStatus, Person

from . import errors
from .limits import checks_count
from .models import CheckAnswer, DocumentCheck, LostDocumentAlarm, MisuseReport, MisuseStatus
from .selectors import check_get_for_holder

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
    Raises BatchTooLarge (more than MAX_BATCH), Throttled (the party's minute is used up),
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
        alarm_after_commit(records=records, using=database)
    return answers


# --- The lost-document alarm ----------------------------------------------------------------------
#
# A check answered `reported_lost` alerts the document's holder: an entry in their notification
# centre and a text message (which party, when). The check's transaction only asks, once it has
# committed, for the worker to send the alarm (tasks.lost_document_alarm): the party's answer is
# never slowed by it, and a check that rolls back alerts nobody. The worker writes the alarm and
# the notice in one transaction per check, under a lock on the document, at most one an hour for
# a document and a party (a bank's batch job checking the same card again must not flood the
# holder); every check is still listed on "who checked my documents".

ALARM_TEMPLATE = "lost_document_checked"
ALARM_QUIET_PERIOD = dt.timedelta(hours=1)
ALARM_ACTOR_REASON = "lost_document_alarm"
# A party's name is cut to this length in the alarm, which must stay within three SMS segments.
ALARM_PARTY_NAME_MAX = 40


def _party_name(party: RelyingParty) -> Callable[[str], str]:
    def name(language: str) -> str:
        text = party.display_name(language)
        return text if len(text) <= ALARM_PARTY_NAME_MAX else text[: ALARM_PARTY_NAME_MAX - 1] + "…"

    return name


def document_check_subject(check: DocumentCheck) -> Subject:
    """What a check's notice is about (the portal links it to the check's page)."""
    return Subject(DOCUMENT_CHECK, check.reference)


def _alarm_enqueue(check_ids: list[int]) -> None:
    from .tasks import lost_document_alarm

    lost_document_alarm.enqueue(check_ids)


def alarm_after_commit(*, records: Sequence[DocumentCheck], using: str) -> None:
    """Ask for the alarm of every `reported_lost` record once the caller's transaction commits
    (robust: the answers have committed then, a failed hand-over must not fail the answer)."""
    ids = [record.pk for record in records if record.answer == CheckAnswer.REPORTED_LOST and record.pk]
    if ids:
        transaction.on_commit(partial(_alarm_enqueue, ids), using=using, robust=True)


def document_check_alarm(*, actor: Actor, check_id: int) -> LostDocumentAlarm | None:
    """Alert the holder about check `check_id` of their lost document; returns the alarm, or None
    when there is nothing to send: not a `reported_lost` answer, already alerted (the worker ran
    twice), a holder who died, or the same party alerted about the same document within the hour.
    """
    if actor.kind != ActorKind.SYSTEM:
        raise ApplicationError("document_checks_forbidden", _("Only the system sends alarms."))
    with transaction.atomic():
        check = (
            DocumentCheck.objects.select_related("party", "document", "document__holder")
            .filter(pk=check_id, answer=CheckAnswer.REPORTED_LOST, document__isnull=False)
            .first()
        )
        if check is None or check.document is None:
            return None
        document = check.document
        # One worker at a time for this document: the hourly look-up and the insert below must not
        # interleave with another worker's for a second check of the same card.
        Document.objects.select_for_update().filter(pk=document.pk).values_list("pk").first()
        if LostDocumentAlarm.objects.filter(document_check=check).exists():
            return None
        if LostDocumentAlarm.objects.filter(
            document=document,
            party=check.party,
            alerted_at__gt=check.checked_at - ALARM_QUIET_PERIOD,
            alerted_at__lte=check.checked_at + ALARM_QUIET_PERIOD,
        ).exists():
            return None
        holder = document.holder
        if not holder.is_alive:
            return None
        alarm = LostDocumentAlarm.objects.create(
            document_check=check, document=document, party=check.party, alerted_at=check.checked_at
        )
        party = check.party
        notify(
            person_id=holder.pk,
            mobile=holder.mobile,
            language=person_language(person=holder),
            template=ALARM_TEMPLATE,
            context={
                "party": bilingual(_party_name(party)),
                "document": bilingual(DocumentKind(document.kind).label),
                "last_digits": document.serial_number[-4:],
                "time": check.checked_at,
            },
            subject=document_check_subject(check),
            subject_ref=f"document_check:{check.pk}",
        )
    return alarm


# A hand-over lost between the check's commit and the enqueue (the process died), or a worker that
# was down: the periodic sweep sends those alarms itself, for checks this old and no older.
ALARM_SWEEP_GRACE = dt.timedelta(minutes=2)
ALARM_SWEEP_HORIZON = dt.timedelta(days=1)
ALARM_SWEEP_LIMIT = 200


def lost_document_alarms_sweep(*, now: dt.datetime) -> int:
    """Send the alarms of `reported_lost` checks from ALARM_SWEEP_GRACE to ALARM_SWEEP_HORIZON ago
    that have none, where no alarm about the same document and party is near enough in time to
    stand for them (document_check_alarm's hourly rule, so a check it left silent on purpose is
    not looked at again every minute). Returns how many alarms were sent. Idempotent: an alarm is
    one per check, and the rule is the worker's."""
    actor = Actor.system(ALARM_ACTOR_REASON)
    covered = LostDocumentAlarm.objects.filter(
        document_id=OuterRef("document_id"),
        party_id=OuterRef("party_id"),
        alerted_at__gt=OuterRef("checked_at") - ALARM_QUIET_PERIOD,
        alerted_at__lte=OuterRef("checked_at") + ALARM_QUIET_PERIOD,
    )
    pending = list(
        DocumentCheck.objects.filter(
            answer=CheckAnswer.REPORTED_LOST,
            document__isnull=False,
            checked_at__lte=now - ALARM_SWEEP_GRACE,
            checked_at__gt=now - ALARM_SWEEP_HORIZON,
        )
        .exclude(Exists(covered))
        .order_by("checked_at")
        .values_list("pk", flat=True)[:ALARM_SWEEP_LIMIT]
    )
    return sum(document_check_alarm(actor=actor, check_id=pk) is not None for pk in pending)


# --- Misuse reports ("this was not me") ---------------------------------------------------------

AUDIT_MISUSE_REPORTED = "document_check.misuse_reported"
AUDIT_MISUSE_CLOSED = "document_check.misuse_closed"
MISUSE_NOTE_MAX = 2000


def misuse_report_open(*, actor: Actor, person: Person, check_reference: str) -> tuple[MisuseReport, bool]:
    """The holder says a check of their document was not theirs: open a case for the office.

    Returns the case and whether it was opened now. Reporting the same check again returns the
    same case (also when two requests race: one row per check). A check of somebody else's
    document, or none, raises NotFound `document_check_not_found`.
    """
    if actor.kind != ActorKind.CITIZEN:
        raise ApplicationError("document_checks_forbidden", _("Only the holder may report misuse."))
    with transaction.atomic():
        check = check_get_for_holder(person=person, reference=check_reference)
        # The check's row is the lock: a second report of the same check waits here, then finds
        # the first one's case.
        DocumentCheck.objects.select_for_update().filter(pk=check.pk).values_list("pk").first()
        existing = MisuseReport.objects.filter(document_check=check).first()
        if existing is not None:
            return existing, False
        report = insert_with_reference(
            MisuseReport(document_check=check, holder=person, reported_at=clock.now()), prefix="MR"
        )
        audit_record(
            actor=actor,
            action=AUDIT_MISUSE_REPORTED,
            object_type="document_checks.misusereport",
            object_id=report.pk,
            detail={"reference": report.reference, "check_id": check.pk, "party_id": check.party_id},
        )
    return report, True


def misuse_report_close(*, actor: Actor, staff: StaffActor, reference: str, note: str) -> MisuseReport:
    """An officer closes an open misuse case with a note (audited). Needs `work_cases`; an
    unknown or already closed case raises NotFound / ApplicationError `misuse_report_closed`."""
    staff.require(PERM_WORK_CASES)
    note = note.strip()
    if not note or len(note) > MISUSE_NOTE_MAX:
        raise ApplicationError(
            "misuse_note_invalid", _("Write a note of at most 2000 characters."), field="note"
        )
    with transaction.atomic():
        report = MisuseReport.objects.select_for_update().filter(reference=reference).first()
        if report is None:
            raise NotFound("misuse_report_not_found", _("No such misuse report."))
        if report.status != MisuseStatus.OPEN:
            raise ApplicationError("misuse_report_closed", _("This misuse report is already closed."))
        report.status = MisuseStatus.CLOSED
        report.closed_at = clock.now()
        report.closed_by_id = staff.user_id
        report.officer_notes = note
        report.save(update_fields=["status", "closed_at", "closed_by_id", "officer_notes"])
        audit_record(
            actor=actor,
            action=AUDIT_MISUSE_CLOSED,
            object_type="document_checks.misusereport",
            object_id=report.pk,
            detail={"reference": report.reference},
        )
    return report
