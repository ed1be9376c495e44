"""Who checked my documents: the relying parties (banks, agencies) that asked Hawiya about the
signed-in person's documents, with what they were told (document_checks, docs/design.md §6)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from hawiya.core.text import mask_id_number
from hawiya.document_checks.models import CheckAnswer, DocumentCheck
from hawiya.document_checks.selectors import checks_of_documents_held_by
from hawiya.registry.models import Document

from .decorators import citizen_of, citizen_required, personal_page

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
    }


@citizen_required
@require_http_methods(["GET", "HEAD"])
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
