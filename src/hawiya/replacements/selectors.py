"""Reads of replacement requests: the lost documents a person may replace, their address on
record, and a person's requests with their timeline.

The rules these reads rest on live beside them, each in a module named for it: who may replace
what (entitlement.py), what blocks a request and whether delivery is possible (blockers.py), the
fee ladder (fees.py), and the words and tags of a request's state (labels.py).

Everything filtered by who asks answers "not found" alike for a missing row and someone else's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import NotFound
from hawiya.losses.selectors import is_minor_child
from hawiya.registry.models import (
    Document,
    DocumentKind,
    DocumentStatus,
    FamilyMember,
    NationalAddress,
    Person,
)

from . import errors
from .entitlement import entitlement
from .expected import Expected, expected_from_steps
from .models import ENDED_STATES, ReceiveMethod, Replacement, ReplacementState
from .requirements import step_label

S = ReplacementState
# The office service that issues each kind (registry migration 0002).
SERVICE_OF_KIND: dict[str, str] = {
    DocumentKind.NATIONAL_ID_CARD: "national_id_card_replacement",
    DocumentKind.BIRTH_CERTIFICATE: "birth_certificate_replacement",
    DocumentKind.DEATH_CERTIFICATE: "death_certificate_replacement",
    DocumentKind.FAMILY_RECORD: "family_record_replacement",
}


# The steps of each way of receiving the document, in order (docs/design.md §4).
COLLECTION_PATH: tuple[str, ...] = (
    S.AWAITING_PAYMENT,
    S.PAID,
    S.APPOINTMENT_BOOKED,
    S.CHECKED_IN,
    S.BIOMETRICS_CAPTURED,
    S.APPROVED,
    S.PRINTED,
    S.READY_FOR_COLLECTION,
    S.COLLECTED,
)


DELIVERY_PATH: tuple[str, ...] = (
    S.AWAITING_PAYMENT,
    S.PAID,
    S.APPROVED,
    S.PRINTED,
    S.DISPATCHED,
    S.OUT_FOR_DELIVERY,
    S.DELIVERED,
)


# What each timeline action says to the person (unknown actions fall back to the state's name).
ACTION_LABELS: dict[str, Promise] = {
    "submitted": _("Request submitted"),
    "paid": _("Payment received"),
    # A request with nothing to pay goes ahead at once (casework.services.replacement_apply).
    "no_fee": _("Nothing to pay: the request goes ahead"),
    "appointment_booked": _("Appointment booked"),
    "appointment_moved": _("Appointment moved"),
    "appointment_cancelled": _("Appointment cancelled"),
    "appointment_no_show": _("Appointment missed: book another"),
    "checked_in": _("Checked in at the office"),
    "biometrics_captured": _("Fingerprints and photo taken"),
    "approved": _("Request approved"),
    "printed": _("Document printed"),
    "ready_for_collection": _("Ready for collection"),
    "dispatched": _("Handed to the courier"),
    "out_for_delivery": _("Out for delivery"),
    "delivery_failed": _("Delivery attempt failed"),
    "returned_to_office": _("Returned to the office"),
    "delivered": _("Delivered"),
    "collected": _("Collected"),
    "cancelled": _("Request cancelled"),
    "rejected": _("Request rejected"),
    "expired": _("Request expired: not paid in time"),
}


@dataclass(frozen=True)
class ReplaceableDocument:
    document: Document
    entitlement: str
    # The request already under way for it, if any (one open request per document).
    open_replacement: Replacement | None


def replaceable_documents_for(*, person: Person, today: dt.date) -> list[ReplaceableDocument]:
    """The documents reported lost and not yet replaced that `person` may request a replacement
    of: their own, and as head of a family the family record, minor children's birth
    certificates and a deceased member's death certificate."""
    members = list(
        FamilyMember.objects.filter(family_record__head=person).select_related("person").order_by("id")
    )
    children = [
        member.person_id
        for member in members
        if is_minor_child(relation=member.relation, person=member.person, today=today)
    ]
    deceased = [member.person_id for member in members if not member.person.is_alive]
    documents = list(
        Document.objects.filter(status=DocumentStatus.REPORTED_LOST)
        .filter(
            Q(holder=person, kind__in=[DocumentKind.NATIONAL_ID_CARD, DocumentKind.BIRTH_CERTIFICATE])
            | Q(kind=DocumentKind.FAMILY_RECORD, family_record__head=person)
            | Q(holder_id__in=children, kind=DocumentKind.BIRTH_CERTIFICATE)
            | Q(holder_id__in=deceased, kind=DocumentKind.DEATH_CERTIFICATE)
        )
        .select_related("holder", "family_record", "issuing_office")
        .order_by("holder_id", "kind", "-version")
    )
    open_requests = {
        replacement.document_id: replacement
        for replacement in Replacement.objects.filter(document__in=documents).exclude(
            state__in=[state.value for state in ENDED_STATES]
        )
    }
    result = []
    for document in documents:
        why = entitlement(applicant=person, document=document, today=today)
        if why is not None:
            result.append(ReplaceableDocument(document, why, open_requests.get(document.pk)))
    return result


def replaceable_document_get_for_person(*, person: Person, document_id: int, today: dt.date) -> Document:
    """One lost document the person may replace, or NotFound (missing, someone else's, not lost)."""
    for item in replaceable_documents_for(person=person, today=today):
        if item.document.pk == document_id:
            return item.document
    raise NotFound(errors.DOCUMENT_NOT_REPLACEABLE, _("This document was not found."))


def has_valid_id_card(*, person: Person) -> bool:
    """The person holds a valid ID card (which they could report lost first)."""
    return Document.objects.filter(
        holder=person, kind=DocumentKind.NATIONAL_ID_CARD, status=DocumentStatus.VALID
    ).exists()


def primary_address_for(*, person: Person) -> NationalAddress | None:
    return NationalAddress.objects.filter(person=person, is_primary=True).first()


def replacement_get_for_person(*, person: Person, reference: str) -> Replacement:
    """The person's request with this reference, or NotFound (missing or someone else's alike)."""
    replacement = (
        Replacement.objects.filter(applicant=person, reference=str(reference)[:12])
        .select_related(
            "applicant",
            "document",
            "document__holder",
            "document__issuing_office",
            "office",
            "delivery_address",
            "loss_report",
        )
        .first()
    )
    if replacement is None:
        raise NotFound(errors.REPLACEMENT_NOT_FOUND, _("This request was not found."))
    return replacement


def replacement_for_idempotency_key(*, person: Person, idempotency_key: str) -> Replacement | None:
    """The person's request submitted with this idempotency key, if any (a form sent twice)."""
    if not idempotency_key:
        return None
    return Replacement.objects.filter(applicant=person, idempotency_key=str(idempotency_key)[:64]).first()


def replacement_ids_applied_by(*, person: Person) -> list[int]:
    """The ids of every request `person` applied for (their own documents, or their family's)."""
    return list(Replacement.objects.filter(applicant=person).values_list("pk", flat=True))


def replacements_for_person(*, person: Person) -> list[Replacement]:
    """The person's requests, newest first."""
    return list(
        Replacement.objects.filter(applicant=person)
        .select_related("document", "document__holder")
        .order_by("-submitted_at", "-id")
    )


@dataclass(frozen=True)
class TimelineEntry:
    action: str
    label: str
    state: str
    at: dt.datetime
    office: object | None
    detail: dict[str, object]


@dataclass(frozen=True)
class UpcomingStep:
    state: str
    label: str
    # The day the document is promised by, on the step that makes it ready (None: not known).
    expected_on: dt.date | None = None


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]  # newest first
    upcoming: list[UpcomingStep]  # in the order they will happen
    expected: Expected  # the promise, read from the same steps


def upcoming_states(*, state: str, method: str) -> list[str]:
    """The steps still to come from `state` on the usual path of `method` (none once ended)."""
    if state in ENDED_STATES:
        return []
    if state == S.RETURNED_TO_OFFICE:
        return [S.READY_FOR_COLLECTION, S.COLLECTED]
    path = DELIVERY_PATH if method == ReceiveMethod.DELIVERY else COLLECTION_PATH
    if state not in path:
        return []
    return list(path[path.index(state) + 1 :])


def replacement_timeline(*, replacement: Replacement) -> Timeline:
    """Every step so far, newest first, with its place, and the steps still to come (the step
    that makes the document ready carries the promised day, see expected.py)."""
    labels = dict(ReplacementState.choices)
    kind = replacement.document.kind
    entries = [
        TimelineEntry(
            action=event.action,
            label=step_label(
                kind=kind,
                state=event.state if event.action == "biometrics_captured" else "",
                default=str(ACTION_LABELS.get(event.action, labels.get(event.state, event.action))),
            ),
            state=event.state,
            at=event.at,
            office=event.office,
            detail=dict(event.detail or {}),
        )
        for event in replacement.events.select_related("office").order_by("-at", "-id")
    ]
    expected = expected_from_steps(
        kind=kind, method=replacement.method, steps=((entry.state, entry.at) for entry in entries)
    )
    expected_on = expected.on
    # The step the promise is about: delivered, or ready for collection at the office.
    promised_step = S.DELIVERED if replacement.method == ReceiveMethod.DELIVERY else S.READY_FOR_COLLECTION
    upcoming = [
        UpcomingStep(
            state=state,
            label=step_label(kind=kind, state=state, default=str(labels[state])),
            expected_on=expected_on if state == promised_step else None,
        )
        for state in upcoming_states(state=replacement.state, method=replacement.method)
    ]
    return Timeline(entries=entries, upcoming=upcoming, expected=expected)
