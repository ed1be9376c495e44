"""Misuse reports: the open cases citizens opened with "this was not me" about a bank's or an
agency's check of their document (document_checks), newest first, and closing one with a note.

Officers who work cases (`work_cases`) see every open report: a check is not tied to an office.
Thin pages: the list is one selector, closing is one service (audited there).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.replicas import replica_reads
from hawiya.core.text import mask_id_number
from hawiya.document_checks.models import MisuseReport
from hawiya.document_checks.selectors import misuse_report_open_get, misuse_reports_open
from hawiya.document_checks.services import misuse_report_close
from hawiya.identity.staff import PERM_WORK_CASES

from .decorators import staff_of, staff_page, staff_required
from .misuse_forms import MisuseCloseForm

PAGE_SIZE = 50


def _row(report: MisuseReport, language: str) -> dict[str, Any]:
    check = report.document_check
    document = check.document
    return {
        "reference": report.reference,
        "party": check.party.display_name(language),
        "kind": document.get_kind_display() if document else "",
        "serial": mask_id_number(document.serial_number, shown_at_end=4) if document else "",
        "answer": check.get_answer_display(),
        "checked_at": check.checked_at,
        "reported_at": report.reported_at,
    }


@never_cache
@require_safe
@staff_required(PERM_WORK_CASES)
@replica_reads
def misuse_reports(request: HttpRequest) -> HttpResponse:
    page = Paginator(misuse_reports_open(), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_row(report, request.LANGUAGE_CODE) for report in page.object_list]
    return staff_page(request, "backoffice/misuse_reports.html", {"rows": rows, "page": page})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@staff_required(PERM_WORK_CASES)
def misuse_report_close_page(request: HttpRequest, reference: str) -> HttpResponse:
    staff = staff_of(request)
    try:
        report = misuse_report_open_get(reference=reference)
    except NotFound as exc:
        raise Http404(exc.code) from exc
    form = MisuseCloseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            misuse_report_close(
                actor=staff.actor, staff=staff, reference=report.reference, note=form.cleaned_data["note"]
            )
        except NotFound as exc:
            raise Http404(exc.code) from exc
        except ApplicationError as exc:
            form.add_error("note", str(exc.message))
        else:
            messages.success(request, _("Misuse report %(reference)s is closed.") % {"reference": reference})
            return redirect("backoffice:misuse-reports")
    status = 400 if form.is_bound else 200
    context = {"row": _row(report, request.LANGUAGE_CODE), "form": form}
    return staff_page(request, "backoffice/misuse_report_close.html", context, status=status)
