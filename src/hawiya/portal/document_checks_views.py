"""Who checked my documents: the relying parties (banks, agencies) that asked Hawiya about the
signed-in person's documents, with what they were told (document_checks, docs/design.md §6)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from hawiya.core.errors import NotFound
from hawiya.core.replicas import replica_reads
from hawiya.core.text import mask_id_number
from hawiya.document_checks.models import CheckAnswer, DocumentCheck, MisuseReport
from hawiya.document_checks.selectors import check_get_for_holder, checks_of_documents_held_by
from hawiya.document_checks.services import misuse_report_open
from hawiya.registry.models import Document

from .decorators import citizen_actor, citizen_of, citizen_required, personal_page

PAGE_SIZE = 25
# How an answer is shown (docs/ui.md §6 tags), as the account page shows a document's status.
ANSWER_TONES = {
    CheckAnswer.VALID: "success",
    CheckAnswer.EXPIRED: "warning",
    CheckAnswer.REPORTED_LOST: "error",
    CheckAnswer.REPLACED: "neutral",
    CheckAnswer.CANCELLED: "neutral",
}


def _row(check: DocumentCheck, document: Document, language: str) -> dict[str, Any]:
    return {
        "party": check.party.display_name(language),
        "kind": document.get_kind_display(),
        # The last four characters, enough to tell two cards apart; the rest stays hidden.
        "serial": mask_id_number(document.serial_number, shown_at_end=4),
        "version": document.version,
        "checked_at": check.checked_at,
        "answer": check.answer,
        "answer_label": CheckAnswer(check.answer).label,
        "tone": ANSWER_TONES.get(CheckAnswer(check.answer), "neutral"),
        "reference": check.reference,
    }


@citizen_required
@require_http_methods(["GET", "HEAD"])
@replica_reads
def document_checks(request: HttpRequest) -> HttpResponse:
    """Every check of the person's own documents, newest first, 25 a page: which party, which
    document (kind and masked serial), when (both calendars) and the answer it was given."""
    person = citizen_of(request)
    page = Paginator(checks_of_documents_held_by(person=person), PAGE_SIZE).get_page(request.GET.get("page"))
    # The selector lists only checks that found a document (of this person).
    rows = [
        _row(check, check.document, request.LANGUAGE_CODE)
        for check in page.object_list
        if check.document is not None
    ]
    return personal_page(request, "portal/account/document_checks.html", {"rows": rows, "page": page})


def _check_or_404(request: HttpRequest, reference: str) -> tuple[DocumentCheck, Document]:
    try:
        check = check_get_for_holder(person=citizen_of(request), reference=reference)
    except NotFound as exc:
        raise Http404(exc.code) from exc
    if check.document is None:  # the selector finds only checks of the person's documents
        raise Http404("document_check_not_found")
    return check, check.document


def _misuse_report(check: DocumentCheck) -> MisuseReport | None:
    try:
        return check.misuse_report
    except MisuseReport.DoesNotExist:
        return None


@citizen_required
@require_http_methods(["GET", "HEAD"])
def document_check(request: HttpRequest, reference: str) -> HttpResponse:
    """One check of the person's document (the lost-document alarm links here): which party,
    when, the answer, and "this was not me" — or the misuse case already opened for it."""
    check, document = _check_or_404(request, reference)
    context = {"row": _row(check, document, request.LANGUAGE_CODE), "report": _misuse_report(check)}
    return personal_page(request, "portal/account/document_check.html", context)


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def document_check_report(request: HttpRequest, reference: str) -> HttpResponse:
    """ "This was not me": a confirmation page saying what happens, then POST opens a misuse case
    for the civil-affairs office (once: reporting again shows the same case)."""
    check, document = _check_or_404(request, reference)
    if _misuse_report(check) is not None:
        return redirect("portal:account-document-check", reference=check.reference)
    if request.method != "POST":
        context = {"row": _row(check, document, request.LANGUAGE_CODE)}
        return personal_page(request, "portal/account/document_check_report.html", context)
    try:
        report, _opened = misuse_report_open(
            actor=citizen_actor(request), person=citizen_of(request), check_reference=check.reference
        )
    except NotFound as exc:
        raise Http404(exc.code) from exc
    messages.success(
        request,
        _("Your report %(reference)s is registered. A civil-affairs office will look into it.")
        % {"reference": report.reference},
    )
    return redirect("portal:account-document-check", reference=check.reference)
