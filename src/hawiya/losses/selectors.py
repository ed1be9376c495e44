"""Reads of the lost-documents register: what a person may report, and their own reports."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.errors import NotFound
from hawiya.registry.models import (
    Document,
    DocumentKind,
    DocumentStatus,
    FamilyMember,
    FamilyRecord,
    Person,
    Relation,
)

from . import errors
from .models import LossReport, LossReportItem

# Why a person may report a document (ReportableDocument.reason).
REASON_OWN = "own"
REASON_FAMILY_RECORD = "family_record"
REASON_CHILD = "child"
REASON_DECEASED_MEMBER = "deceased_member"

REASON_LABELS: dict[str, Promise] = {
    REASON_OWN: _("Your own document"),
    REASON_FAMILY_RECORD: _("You hold it as head of the family"),
    REASON_CHILD: _("Your child's document, as head of the family"),
    REASON_DECEASED_MEMBER: _("A deceased member of your family record"),
}

OWN_KINDS = (DocumentKind.NATIONAL_ID_CARD, DocumentKind.BIRTH_CERTIFICATE)
CHILD_RELATIONS = (Relation.SON, Relation.DAUGHTER)
# From this age a child reports and replaces their own documents; the head of the family no longer
# acts for them (and is never shown an adult child's documents).
ADULT_AGE = 18
REFERENCE_SHAPE = re.compile(r"LR[0-9]{8}")


def age_on(born: dt.date, day: dt.date) -> int:
    """Completed years between `born` and `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def is_minor_child(*, relation: str, person: Person, today: dt.date) -> bool:
    """A living son or daughter under ADULT_AGE on `today`: the head of the family acts for them.

    The one rule for both reporting a child's birth certificate lost and requesting its
    replacement (replacements.entitlement and replacements.selectors use it too).
    """
    return relation in CHILD_RELATIONS and person.is_alive and age_on(person.date_of_birth, today) < ADULT_AGE


@dataclass(frozen=True)
class ReportableDocument:
    """A document the person may report lost, with its holder and the reason they may."""

    document: Document
    holder: Person
    reason: str

    @property
    def reason_label(self) -> Promise:
        return REASON_LABELS[self.reason]

    @property
    def is_valid(self) -> bool:
        return self.document.status == DocumentStatus.VALID


def reportable_documents_for(
    *, person: Person, include_not_valid: bool = False, today: dt.date | None = None
) -> list[ReportableDocument]:
    """The documents `person` may report lost, in the order the page lists them.

    Their own national ID card and birth certificate; as head of a family record, the record's
    own document, the birth certificates of the living minor children in it (son, daughter under
    18 on `today`, Riyadh date by default; adult children report their own) and the death
    certificate of any deceased member. Only valid documents by default (a document can be
    reported once); `include_not_valid` adds the entitled documents in any other status, so a
    service can say clearly why one of them cannot be reported again.
    """
    day = today or clock.today()
    statuses = None if include_not_valid else [DocumentStatus.VALID]

    def of(holder_ids: list[int], kinds: tuple[str, ...]) -> list[Document]:
        query = Document.objects.filter(holder_id__in=holder_ids, kind__in=kinds).select_related("holder")
        if statuses is not None:
            query = query.filter(status__in=statuses)
        return list(query.order_by("kind", "-version"))

    found: list[ReportableDocument] = []
    for kind in OWN_KINDS:
        found += [ReportableDocument(d, d.holder, REASON_OWN) for d in of([person.pk], (kind,))]
    record = FamilyRecord.objects.filter(head_id=person.pk).first()
    if record is not None:
        record_documents = Document.objects.filter(
            family_record=record, holder_id=person.pk, kind=DocumentKind.FAMILY_RECORD
        ).select_related("holder")
        if statuses is not None:
            record_documents = record_documents.filter(status__in=statuses)
        for document in record_documents.order_by("-version"):
            found.append(ReportableDocument(document, document.holder, REASON_FAMILY_RECORD))
        members = list(
            FamilyMember.objects.filter(family_record=record).select_related("person").order_by("id")
        )
        children = [
            m.person_id for m in members if is_minor_child(relation=m.relation, person=m.person, today=day)
        ]
        deceased = [m.person_id for m in members if m.person.date_of_death is not None]
        for document in _in_member_order(of(children, (DocumentKind.BIRTH_CERTIFICATE,)), children):
            found.append(ReportableDocument(document, document.holder, REASON_CHILD))
        for document in _in_member_order(of(deceased, (DocumentKind.DEATH_CERTIFICATE,)), deceased):
            found.append(ReportableDocument(document, document.holder, REASON_DECEASED_MEMBER))
    return found


def _in_member_order(documents: list[Document], holder_ids: list[int]) -> list[Document]:
    position = {holder_id: index for index, holder_id in enumerate(holder_ids)}
    return sorted(documents, key=lambda d: (position[d.holder_id], -d.version))


def _reports_of(person: Person) -> QuerySet[LossReport]:
    items = LossReportItem.objects.select_related("document__holder").order_by("id")
    return (
        LossReport.objects.filter(reporter_id=person.pk)
        .select_related("reporter")
        .prefetch_related(Prefetch("items", queryset=items))
    )


def loss_report_get_for_person(*, person: Person, reference: str) -> LossReport:
    """The person's own report with this reference (items, documents and holders loaded).

    Raises NotFound `loss_report_not_found` alike for a malformed reference, an unknown one and
    another person's report: existence never leaks.
    """
    number = (reference or "").strip().upper()
    report = None
    if REFERENCE_SHAPE.fullmatch(number):
        report = _reports_of(person).filter(reference=number).first()
    if report is None:
        raise NotFound(errors.LOSS_REPORT_NOT_FOUND, _("This loss report was not found."))
    return report


def loss_reports_for_person(*, person: Person) -> list[LossReport]:
    """The person's reports, newest first, with their items, documents and holders."""
    return list(_reports_of(person).order_by("-reported_at", "-id"))
