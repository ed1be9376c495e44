"""Writes of the lost-documents register: filing a loss report.

Filing a report and invalidating its documents happen in one transaction: either every document
named is cancelled and the report exists, or nothing changed. The reporter is told (notification
centre + SMS) in the same transaction; the SMS leaves only after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.idempotency import check_same_request, idempotency_key_checked, request_fingerprint
from hawiya.core.references import insert_with_reference
from hawiya.identity.security_signals import DOCUMENT_REPORTED_LOST, security_event_emit_for_person
from hawiya.identity.selectors import person_language
from hawiya.notifications.services import notify
from hawiya.notifications.subjects import LOSS, Subject
from hawiya.registry.models import Document, DocumentStatus, Person
from hawiya.registry.services import document_mark_reported_lost

from . import errors
from .models import LATE_AFTER_DAYS, LossPlace, LossReport, LossReportItem
from .selectors import reportable_documents_for

AUDIT_LOSS_REPORT_FILED = "loss_report.filed"
REFERENCE_PREFIX = "LR"
CIRCUMSTANCES_MIN = 10
CIRCUMSTANCES_MAX = 1000
PLACE_MAX = 80


def loss_report_subject(report: LossReport) -> Subject:
    """What the report's notifications are about (the portal links them to its page)."""
    return Subject(LOSS, report.reference)


def loss_report_is_late(*, lost_on: dt.date, reported_on: dt.date) -> bool:
    """Reported more than LATE_AFTER_DAYS days after the loss (day 15 is still on time)."""
    return (reported_on - lost_on).days > LATE_AFTER_DAYS


def _document_name(document: Document) -> str:
    return f"{document.get_kind_display()} {document.serial_number}"


def _checked_place(place: str, city: str, country: str) -> tuple[str, str, str]:
    city, country = (city or "").strip(), (country or "").strip()
    if place == LossPlace.IN_KINGDOM:
        if not city:
            raise ApplicationError(
                errors.LOSS_CITY_REQUIRED, _("Enter the city where you lost it."), field="city"
            )
        country = ""
    elif place == LossPlace.ABROAD:
        if not country:
            raise ApplicationError(
                errors.LOSS_COUNTRY_REQUIRED, _("Enter the country where you lost it."), field="country"
            )
        city = ""
    else:
        raise ApplicationError(
            errors.LOSS_PLACE_INVALID,
            _("Select whether you lost it in Saudi Arabia or in another country."),
            field="place",
        )
    if len(city) > PLACE_MAX or len(country) > PLACE_MAX:
        raise ApplicationError(
            errors.LOSS_PLACE_TOO_LONG,
            _("The place must be %(max)d characters or fewer.") % {"max": PLACE_MAX},
            field="city" if city else "country",
        )
    return place, city, country


def _checked_circumstances(circumstances: str) -> str:
    text = (circumstances or "").strip()
    if len(text) < CIRCUMSTANCES_MIN:
        raise ApplicationError(
            errors.LOSS_CIRCUMSTANCES_TOO_SHORT,
            _("Describe how you lost it in at least %(min)d characters.") % {"min": CIRCUMSTANCES_MIN},
            field="circumstances",
        )
    if len(text) > CIRCUMSTANCES_MAX:
        raise ApplicationError(
            errors.LOSS_CIRCUMSTANCES_TOO_LONG,
            _("The description must be %(max)d characters or fewer.") % {"max": CIRCUMSTANCES_MAX},
            field="circumstances",
        )
    return text


@transaction.atomic
def loss_report_submit(
    *,
    reporter: Person,
    document_ids: Sequence[int],
    lost_on: dt.date,
    lost_on_approximate: bool,
    place: str,
    city: str,
    country: str,
    circumstances: str,
    declaration_accepted: bool,
    idempotency_key: str,
    at: dt.datetime | None = None,
    actor: Actor,
) -> LossReport:
    """File one loss report for the documents `document_ids`, lost together, and cancel them.

    Every document must be one `reportable_documents_for(reporter)` lists (else NotFound
    `loss_document_not_found`, alike for unknown and someone else's) and still valid (else
    `loss_document_not_valid`, naming it). The loss date cannot be in the future (Riyadh date)
    nor before a document's issue date; a city is needed in the Kingdom, a country abroad; the
    circumstances take 10-1000 characters; the declaration must be accepted. A report made more
    than LATE_AFTER_DAYS after the loss is marked late.

    The same `idempotency_key` returns the first report (a double click or a replayed form); the
    same key with different answers raises `idempotency_key_reused`. Writes the audit event
    `loss_report.filed` and tells the reporter (notification centre + SMS), and each other holder
    with a mobile of their own, all in one transaction with the documents' invalidation.
    """
    key = idempotency_key_checked(idempotency_key)
    ids = sorted({int(document_id) for document_id in document_ids})
    payload = {
        "document_ids": ids,
        "lost_on": lost_on.isoformat() if isinstance(lost_on, dt.date) else str(lost_on),
        "lost_on_approximate": bool(lost_on_approximate),
        "place": place,
        "city": (city or "").strip(),
        "country": (country or "").strip(),
        "circumstances": (circumstances or "").strip(),
        "declaration_accepted": bool(declaration_accepted),
    }
    # The reporter's row lock serialises two submits of the same form (double click): the second
    # waits, then finds the first report under the same key.
    Person.objects.select_for_update().filter(pk=reporter.pk).get()
    existing = LossReport.objects.filter(reporter_id=reporter.pk, idempotency_key=key).first()
    if existing is not None:
        check_same_request(existing.request_fingerprint, payload)
        return existing

    now = at or clock.now()
    reported_on = now.astimezone(clock.RIYADH).date()
    if not ids:
        raise ApplicationError(
            errors.LOSS_NO_DOCUMENTS, _("Select the documents you lost."), field="documents"
        )
    entitled = {
        entry.document.pk: entry
        for entry in reportable_documents_for(person=reporter, include_not_valid=True, today=reported_on)
    }
    if any(document_id not in entitled for document_id in ids):
        raise NotFound(errors.LOSS_DOCUMENT_NOT_FOUND, _("This document was not found."), field="documents")
    # Locked in id order, so two reports naming the same documents cannot deadlock.
    documents = list(
        Document.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("holder")
        .order_by("pk")
    )
    for document in documents:
        if document.status != DocumentStatus.VALID:
            raise ApplicationError(
                errors.LOSS_DOCUMENT_NOT_VALID,
                _("%(document)s cannot be reported lost: it is %(status)s.")
                % {"document": _document_name(document), "status": document.get_status_display()},
                field="documents",
            )
    if not isinstance(lost_on, dt.date) or lost_on > reported_on:
        raise ApplicationError(
            errors.LOSS_DATE_IN_FUTURE, _("The date of loss must be today or in the past."), field="lost_on"
        )
    for document in documents:
        if lost_on < document.issue_date:
            raise ApplicationError(
                errors.LOSS_DATE_BEFORE_ISSUE,
                _("The date of loss cannot be before %(document)s was issued.")
                % {"document": _document_name(document)},
                field="lost_on",
            )
    place, city, country = _checked_place(place, city, country)
    text = _checked_circumstances(circumstances)
    if not declaration_accepted:
        raise ApplicationError(
            errors.LOSS_DECLARATION_REQUIRED,
            _("To register the loss, accept the declaration."),
            field="declaration",
        )

    report = insert_with_reference(
        LossReport(
            reporter=reporter,
            lost_on=lost_on,
            lost_on_approximate=bool(lost_on_approximate),
            place=place,
            city=city,
            country=country,
            circumstances=text,
            declaration_accepted_at=now,
            reported_at=now,
            is_late=loss_report_is_late(lost_on=lost_on, reported_on=reported_on),
            idempotency_key=key,
            request_fingerprint=request_fingerprint(payload),
        ),
        prefix=REFERENCE_PREFIX,
    )
    for document in documents:
        document_mark_reported_lost(document_id=document.pk, at=now, actor=actor)
        LossReportItem.objects.create(report=report, document=document)
        # The parties the holder signed in to, subscribed to it, learn it (the kind, no serial).
        security_event_emit_for_person(
            document.holder_id, DOCUMENT_REPORTED_LOST, {"document_kind": document.kind}
        )
    audit_record(
        actor=actor,
        action=AUDIT_LOSS_REPORT_FILED,
        object_type="losses.lossreport",
        object_id=report.pk,
        detail={"reference": report.reference, "document_ids": ids, "is_late": report.is_late},
    )
    notify(
        person_id=reporter.pk,
        mobile=reporter.mobile,
        language=person_language(person=reporter),
        template="lost_document_reported",
        context={"reference": report.reference},
        subject=loss_report_subject(report),
        subject_ref=f"loss_report:{report.pk}",
    )
    # A holder whose document someone else reported (the head of the family, for a minor child)
    # is told too, when they have a mobile of their own: a report cancels their document.
    told = {reporter.pk}
    for document in documents:
        holder = document.holder
        if holder.pk in told or not holder.mobile or not holder.is_alive:
            continue
        told.add(holder.pk)
        notify(
            person_id=holder.pk,
            mobile=holder.mobile,
            language=person_language(person=holder),
            template="lost_document_reported_by_family",
            context={"reference": report.reference},
            subject_ref=f"loss_report:{report.pk}",
        )
    return report
