"""Reads of document-status checks: a holder's own ("who checked my documents", one check),
and the open misuse reports for the office."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import NotFound
from hawiya.registry.models import Person

from .models import DocumentCheck, MisuseReport, MisuseStatus

DOCUMENT_CHECK_NOT_FOUND = "document_check_not_found"


def checks_of_documents_held_by(*, person: Person) -> QuerySet[DocumentCheck]:
    """Every check of a document `person` holds (any version), newest first, with the party and
    the document (for a page: paginate it). Checks that found nothing name no document and are
    nobody's."""
    return (
        DocumentCheck.objects.filter(document__holder=person)
        .select_related("party", "document")
        .order_by("-checked_at", "-id")
    )


def check_get_for_holder(*, person: Person, reference: str) -> DocumentCheck:
    """One check of a document `person` holds, by its reference, with the party, the document and
    its misuse report if any. Somebody else's check, one that found nothing, or none at all raise
    the same NotFound `document_check_not_found` (existence never leaks)."""
    check = (
        DocumentCheck.objects.filter(reference=reference, document__holder=person)
        .select_related("party", "document", "misuse_report")
        .first()
    )
    if check is None:
        raise NotFound(DOCUMENT_CHECK_NOT_FOUND, _("This check was not found."))
    return check


def misuse_reports_open() -> QuerySet[MisuseReport]:
    """The open misuse cases, newest first, with the check's party and document (for the
    back-office list: paginate it)."""
    return (
        MisuseReport.objects.filter(status=MisuseStatus.OPEN)
        .select_related("document_check__party", "document_check__document")
        .order_by("-reported_at", "-id")
    )


def misuse_report_open_get(*, reference: str) -> MisuseReport:
    """One open misuse case by its reference (for the officer closing it); a closed or unknown
    one raises NotFound `misuse_report_not_found`."""
    report = misuse_reports_open().filter(reference=reference).first()
    if report is None:
        raise NotFound("misuse_report_not_found", _("No such open misuse report."))
    return report
