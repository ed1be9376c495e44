"""Reads of the back-office: an officer's day, a case and everything its page shows, the print
queue. Every read takes the `StaffActor` and answers "not found" alike for a missing request and
another office's (existence never leaks). Queries are bounded: the day page costs the same number
of queries for 5 appointments or 500 (select_related, one grouped read per related table).

Reads of a person's record that an officer opens are audited by `casework.reads`, not here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.fields.files import FieldFile
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hawiya.appointments.models import ACTIVE_STATES as ACTIVE_APPOINTMENT_STATES
from hawiya.appointments.models import Appointment, AppointmentState
from hawiya.audit.actors import Actor, ActorKind
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.digits import normalise_number
from hawiya.core.errors import NotFound
from hawiya.identity.models import User
from hawiya.identity.staff import PERM_WORK_CASES, StaffActor
from hawiya.losses.models import LossReport
from hawiya.payments.models import Bill
from hawiya.registry.models import BiometricCapture, Document, FamilyMember, FamilyRecord, Person
from hawiya.registry.selectors import document_history
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementEvent, ReplacementState

CASE_NOT_FOUND = "case_not_found"
CHECK_IN_NOT_FOUND = "check_in_not_found"
QUEUE_STAGE_UNKNOWN = "queue_stage_unknown"
# Appointment and request references (AP/RP + 8 digits), as typed or read from the ticket's QR.
APPOINTMENT_REFERENCE = re.compile(r"AP[0-9]{8}")
REPLACEMENT_REFERENCE = re.compile(r"RP[0-9]{8}")
ID_NUMBER = re.compile(r"[12][0-9]{9}")
# The audit trail shown on a case page: newest first, at most this many events.
CASE_AUDIT_LIMIT = 200
OBJECT_REPLACEMENT = "replacements.replacement"
OBJECT_APPOINTMENT = "appointments.appointment"
OBJECT_PERSON = "registry.person"

S = ReplacementState


def _case_not_found() -> NotFound:
    return NotFound(CASE_NOT_FOUND, _("This request was not found at your office."))


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=clock.RIYADH)
    return start, start + dt.timedelta(days=1)


# --- The officer's day -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRow:
    appointment: Appointment
    replacement: Replacement
    applicant: Person


@dataclass(frozen=True)
class OfficeDay:
    day: dt.date
    rows: list[DayRow]
    # Requests of the day by state, in the order of the shared vocabulary (only states present).
    counts: list[tuple[str, str, int]] = field(default_factory=list)  # (state, label, count)


def office_day(*, staff: StaffActor, day: dt.date) -> OfficeDay:
    """The appointments at the officer's office on `day` (Riyadh), in time order, with the
    request and the applicant of each: one query whatever their number (not the requests'
    documents, which the day page does not show: 500 rows made 500 more model instances)."""
    staff.require(PERM_WORK_CASES)
    if staff.office_id is None:
        return OfficeDay(day=day, rows=[])
    start, end = _day_bounds(day)
    appointments = list(
        Appointment.objects.filter(
            slot__office_id=staff.office_id, slot__starts_at__gte=start, slot__starts_at__lt=end
        )
        .exclude(state=AppointmentState.CANCELLED)
        .select_related("slot", "slot__service", "replacement", "applicant")
        .order_by("slot__starts_at", "id")
    )
    rows = [DayRow(appointment=a, replacement=a.replacement, applicant=a.applicant) for a in appointments]
    tally = Counter(row.replacement.state for row in rows)
    counts = [(state.value, str(state.label), tally[state.value]) for state in S if tally[state.value]]
    return OfficeDay(day=day, rows=rows, counts=counts)


def check_in_lookup(*, staff: StaffActor, query: str, day: dt.date) -> Appointment:
    """The appointment the check-in box names, at the officer's office: an appointment reference
    (typed, or the ticket's QR, which encodes it), a request reference (its active appointment),
    or an ID number (that person's appointment on `day`). NotFound otherwise."""
    staff.require(PERM_WORK_CASES)
    text = normalise_number(query or "").strip().upper().replace(" ", "").replace("-", "")
    office_id = staff.office_id if staff.office_id is not None else -1  # no office: nothing found
    base = Appointment.objects.filter(slot__office_id=office_id).select_related("replacement", "slot")
    appointment: Appointment | None = None
    if APPOINTMENT_REFERENCE.fullmatch(text):
        appointment = base.filter(reference=text).first()
    elif REPLACEMENT_REFERENCE.fullmatch(text):
        appointment = (
            base.filter(replacement__reference=text, state__in=sorted(ACTIVE_APPOINTMENT_STATES))
            .order_by("-booked_at")
            .first()
        )
    elif ID_NUMBER.fullmatch(text):
        start, end = _day_bounds(day)
        appointment = (
            base.filter(
                applicant__id_number=text,
                slot__starts_at__gte=start,
                slot__starts_at__lt=end,
                state__in=sorted(ACTIVE_APPOINTMENT_STATES),
            )
            .order_by("slot__starts_at")
            .first()
        )
    if appointment is None:
        raise NotFound(
            CHECK_IN_NOT_FOUND,
            _(
                "No appointment at your office matches this. Check the reference or ID number, "
                "or scan the ticket again."
            ),
            field="query",
        )
    return appointment


# --- A case ------------------------------------------------------------------------------------------


def case_get_for_staff(*, staff: StaffActor, reference: str) -> Replacement:
    """The request with this reference at the officer's office, or NotFound (missing and another
    office's alike).

    With the rows the case page shows (the lost document and its holder, the new document, the
    delivery address, the loss report) in one query. Not the applicant (the holder, for a
    request of one's own card), the request's office or the document's issuing office: no page
    drawn from it reads them, and each joined table costs the query's compilation ~0.2 ms."""
    staff.require(PERM_WORK_CASES)
    text = str(reference or "").strip().upper()[:12]
    if not (text.isascii() and text.isalnum()):  # e.g. a NUL, which PostgreSQL refuses
        raise _case_not_found()
    replacement = (
        Replacement.objects.filter(reference=text)
        .select_related("document", "document__holder", "new_document", "delivery_address", "loss_report")
        .first()
    )
    if replacement is None or not staff.sees_office(replacement.office_id):
        raise _case_not_found()
    return replacement


@dataclass(frozen=True)
class AuditLine:
    """One line of a case's "who did what": never the detail's ids, only what happened."""

    event: AuditEvent
    # Who, read back from the event's columns (None for a form no service writes).
    actor: Actor | None
    actor_name: str


@dataclass(frozen=True)
class CaseFile:
    """Everything the case page shows besides the request itself."""

    replacement: Replacement
    holder: Person
    versions: list[Document]
    family_record: FamilyRecord | None
    family_relation: str
    bill: Bill | None
    appointment: Appointment | None
    loss_report: LossReport | None
    timeline: list[ReplacementEvent]
    audit: list[AuditLine]
    has_photo: bool


def _audit_lines(events: list[AuditEvent]) -> list[AuditLine]:
    """The events with who did each: staff by their account's name (one query for them all)."""
    actors = [Actor.from_columns(e.actor, e.actor_role, e.actor_office) for e in events]
    ids = {a.user_id for a in actors if a is not None and a.kind == ActorKind.STAFF}
    names = (
        {
            user.pk: (user.get_full_name() or user.username)
            for user in User.objects.filter(pk__in=ids).only("id", "username", "first_name", "last_name")
        }
        if ids
        else {}
    )
    return [
        AuditLine(
            event=event,
            actor=actor,
            actor_name=names.get(actor.user_id, "") if actor is not None and actor.user_id else "",
        )
        for event, actor in zip(events, actors, strict=True)
    ]


def case_file(*, staff: StaffActor, replacement: Replacement) -> CaseFile:
    """The register record, the photo on file (whether there is one), the loss report, the bill,
    the appointment, the request's timeline and the audit events about it (bounded queries)."""
    staff.require(PERM_WORK_CASES)
    staff.require_office(replacement.office_id)
    holder = replacement.document.holder
    versions = document_history(replacement.document)
    family_record = FamilyRecord.objects.filter(head=holder).first()
    relation = ""
    if family_record is None:
        membership = FamilyMember.objects.filter(person=holder).select_related("family_record").first()
        if membership is not None:
            family_record = membership.family_record
            relation = membership.get_relation_display()
    else:
        relation = str(_("Head of the family"))
    bill = Bill.objects.filter(replacement=replacement).first()
    appointments = list(
        Appointment.objects.filter(replacement=replacement)
        .select_related("slot", "slot__office")
        .order_by("-booked_at", "-id")
    )
    active = next((a for a in appointments if a.state in ACTIVE_APPOINTMENT_STATES), None)
    appointment = active or (appointments[0] if appointments else None)
    timeline = list(replacement.events.select_related("office").order_by("-at", "-id"))
    audit_filter = Q(object_type=OBJECT_REPLACEMENT, object_id=str(replacement.pk)) | Q(
        object_type=OBJECT_PERSON, object_id=str(holder.pk), detail__reference=replacement.reference
    )
    if appointments:
        audit_filter |= Q(object_type=OBJECT_APPOINTMENT, object_id__in=[str(a.pk) for a in appointments])
    # Newest first by id, the write order of every event (format-2 events have no sequence).
    events = list(AuditEvent.objects.filter(audit_filter).order_by("-id")[:CASE_AUDIT_LIMIT])
    return CaseFile(
        replacement=replacement,
        holder=holder,
        versions=versions,
        family_record=family_record,
        family_relation=relation,
        bill=bill,
        appointment=appointment,
        loss_report=replacement.loss_report,
        timeline=timeline,
        audit=_audit_lines(events),
        has_photo=bool(_photo_files(replacement)),
    )


@dataclass(frozen=True)
class PhotoOnFile:
    content: bytes
    content_type: str


def _photo_files(replacement: Replacement) -> list[FieldFile]:
    """The holder's photos on file, best first: the latest biometric capture, then the photo
    uploaded with a delivery request."""
    files: list[FieldFile] = []
    capture = (
        BiometricCapture.objects.filter(person_id=replacement.document.holder_id)
        .order_by("-captured_at", "-id")
        .only("id", "photo")
        .first()
    )
    if capture is not None and capture.photo:
        files.append(capture.photo)
    if replacement.photo:
        files.append(replacement.photo)
    return files


def photo_on_file(*, staff: StaffActor, replacement: Replacement) -> PhotoOnFile | None:
    """The bytes of the holder's photo on file, or None when there is none (or it cannot be read)."""
    staff.require(PERM_WORK_CASES)
    staff.require_office(replacement.office_id)
    for image in _photo_files(replacement):
        try:
            with image.open("rb") as handle:
                content = handle.read()
        except (OSError, ValueError):
            continue
        kind = "image/png" if content[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
        return PhotoOnFile(content=content, content_type=kind)
    return None


# --- Print queue -------------------------------------------------------------------------------------


def print_queue(*, staff: StaffActor) -> list[Replacement]:
    """Approved requests of the officer's office waiting for their card to be printed, oldest first."""
    staff.require(PERM_WORK_CASES)
    if staff.office_id is None:
        return []
    return list(
        Replacement.objects.filter(office_id=staff.office_id, state=S.APPROVED)
        .select_related("applicant", "document", "document__holder", "new_document")
        .order_by("updated_at", "id")
    )


def is_collection(replacement: Replacement) -> bool:
    return replacement.method == ReceiveMethod.COLLECTION


# --- The office's work queue (requests without an appointment to check in) ------------------------

QUEUE_STAGES: tuple[tuple[str, Promise], ...] = (
    ("to_approve", _("To approve (delivery)")),
    ("to_mark_ready", _("To mark ready for collection")),
    ("awaiting_collection", _("Waiting to be collected")),
    ("with_courier", _("With the courier")),
)
QUEUE_LIMIT = 200


def _queue_filter(stage: str) -> Q:
    delivery, collection = Q(method=ReceiveMethod.DELIVERY), Q(method=ReceiveMethod.COLLECTION)
    if stage == "to_approve":
        return delivery & Q(state=S.PAID)
    if stage == "to_mark_ready":
        return (collection & Q(state=S.PRINTED)) | (delivery & Q(state=S.RETURNED_TO_OFFICE))
    if stage == "awaiting_collection":
        return Q(state=S.READY_FOR_COLLECTION)
    if stage == "with_courier":
        return delivery & Q(state__in=[S.PRINTED, S.DISPATCHED, S.OUT_FOR_DELIVERY])
    raise NotFound(QUEUE_STAGE_UNKNOWN, _("There is no such list."))


def office_queue(*, staff: StaffActor, stage: str) -> list[Replacement]:
    """The officer's office's requests at one `stage` of QUEUE_STAGES, oldest first (at most
    QUEUE_LIMIT): delivery requests to approve, cards to mark ready, cards waiting for their holder,
    cards with the courier. Collection requests before check-in are on the day's list instead."""
    staff.require(PERM_WORK_CASES)
    condition = _queue_filter(stage)
    if staff.office_id is None:
        return []
    return list(
        Replacement.objects.filter(condition, office_id=staff.office_id)
        .select_related("applicant", "document", "document__holder")
        .order_by("updated_at", "id")[:QUEUE_LIMIT]
    )


def office_queue_counts(*, staff: StaffActor) -> dict[str, int]:
    """How many requests each stage of the queue holds (one query)."""
    staff.require(PERM_WORK_CASES)
    if staff.office_id is None:
        return {stage: 0 for stage, _label in QUEUE_STAGES}
    counts = Replacement.objects.filter(office_id=staff.office_id).aggregate(
        **{stage: Count("id", filter=_queue_filter(stage)) for stage, _label in QUEUE_STAGES}
    )
    return {stage: int(counts[stage] or 0) for stage, _label in QUEUE_STAGES}
