"""Report a lost document: one question per page, check answers, confirmation, PDF receipt.

The answers of the journey under way are kept in the session with the journey's idempotency key
(made when the first page is shown), and beside it as the account's draft, so that they survive
an idle sign-out (portal.drafts); the draft is forgotten once the report is filed. "Yes, register
the loss" sends that key in a hidden field: a double click or a replayed form files one report
(losses.services), and a form sent again after the report was filed leads to that report. Back
and Change links bring the answers back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.losses.models import LATE_AFTER_DAYS, LossPlace, LossReport
from hawiya.losses.selectors import ReportableDocument, loss_report_get_for_person, reportable_documents_for
from hawiya.losses.services import loss_report_is_late, loss_report_submit
from hawiya.registry.models import DocumentStatus, Person

from .decorators import citizen_actor, citizen_of, citizen_required, require_recent_auth
from .drafts import Journey, draft_keep, draft_restore
from .losses_forms import ConfirmForm, DeclarationForm, DocumentsForm, WhatForm, WhenForm, WhereForm
from .pdf import pdf_response, qr_data_uri

JOURNEY_SESSION_KEY = "hawiya_losses_journey"
# The pages in order, with the answer each one records.
STEPS: tuple[tuple[str, str], ...] = (
    ("losses-start", "documents"),
    ("losses-when", "lost_on"),
    ("losses-where", "place"),
    ("losses-what", "circumstances"),
    ("losses-declaration", "declaration"),
)
TOTAL_STEPS = len(STEPS) + 1
# The pages in order, the check page last.
PAGE_NAMES = [name for name, _answer in STEPS] + ["losses-check"]
# The replacement journey the confirmation page offers for each document reported lost.
REQUESTS_NEW = "portal:requests-new"


# --- The journey in the session ------------------------------------------------------------------


def _person(request: HttpRequest) -> Person:
    return citizen_of(request)


def _journey(request: HttpRequest, *, start: bool = False) -> dict[str, Any] | None:
    """The journey under way; `start` begins a new one when there is none or it has ended."""
    journey = request.session.get(JOURNEY_SESSION_KEY)
    if not isinstance(journey, dict) or not isinstance(journey.get("key"), str):
        journey = None
    if journey is None:
        # Signed out for inactivity and signed in again: the answers kept beside the session.
        draft = draft_restore(request, Journey.LOSS_REPORT)
        if draft is not None and isinstance(draft.get("key"), str):
            journey = draft
            request.session[JOURNEY_SESSION_KEY] = journey
    if start and (journey is None or journey.get("reference")):
        journey = {"key": uuid.uuid4().hex}
        request.session[JOURNEY_SESSION_KEY] = journey
    return journey


def _save(request: HttpRequest, journey: dict[str, Any], **answers: Any) -> None:
    journey.update(answers)
    request.session[JOURNEY_SESSION_KEY] = journey
    request.session.modified = True
    draft_keep(request, Journey.LOSS_REPORT, journey)


def _first_missing(journey: dict[str, Any]) -> str | None:
    for name, answer in STEPS:
        if not journey.get(answer):
            return name
    return None


def _guard(request: HttpRequest, step: str) -> tuple[dict[str, Any] | None, HttpResponse | None]:
    """The journey, or where to go instead: the start, the report already filed, or the first
    page whose answer is missing."""
    journey = _journey(request)
    if journey is None:
        return None, redirect("portal:losses-start")
    if journey.get("reference"):
        return None, redirect("portal:losses-report", reference=journey["reference"])
    names = PAGE_NAMES
    missing = _first_missing(journey)
    if missing is not None and names.index(missing) < names.index(step):
        return None, redirect(f"portal:{missing}")
    return journey, None


def _changing(request: HttpRequest) -> bool:
    return request.GET.get("change") == "1"


def _next(request: HttpRequest, step: str) -> HttpResponse:
    if _changing(request):
        return redirect("portal:losses-check")
    names = PAGE_NAMES
    return redirect(f"portal:{names[names.index(step) + 1]}")


def _back_url(request: HttpRequest, step: str) -> str:
    if _changing(request):
        return reverse("portal:losses-check")
    names = PAGE_NAMES[:-1]
    index = names.index(step) if step in names else len(names)
    if index == 0:
        return reverse("portal:service-start", args=["report-lost-document"])
    return reverse(f"portal:{names[index - 1]}")


def _entitled(person: Person) -> list[ReportableDocument]:
    return reportable_documents_for(person=person)


def _chosen(person: Person, journey: dict[str, Any]) -> list[ReportableDocument]:
    """The documents chosen that may still be reported, in the order the first page lists them."""
    chosen = set(journey.get("documents") or [])
    return [entry for entry in _entitled(person) if entry.document.pk in chosen]


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], *, step: str, status: int | None = None
) -> HttpResponse:
    names = PAGE_NAMES
    form = context.get("form")
    if status is None:
        status = 400 if form is not None and form.is_bound and form.errors else 200
    context = {
        "step_number": names.index(step) + 1,
        "step_total": TOTAL_STEPS,
        "back_url": _back_url(request, step),
        "changing": _changing(request),
        **context,
    }
    response = render(request, f"portal/losses/{template}", context, status=status)
    # The answers are personal: never kept by shared caches or the back-forward cache.
    response["Cache-Control"] = "no-store"
    return response


# --- The questions -------------------------------------------------------------------------------


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Which documents did you lose? (or, when there is nothing to report, why)."""
    person = _person(request)
    journey = _journey(request, start=True) or {}
    entries = _entitled(person)
    if not entries:
        return _page(request, "none.html", {}, step="losses-start")
    ids = [entry.document.pk for entry in entries]
    if request.method == "POST":
        form = DocumentsForm(request.POST, document_ids=ids)
        if form.is_valid():
            _save(request, journey, documents=sorted(form.cleaned_data["documents"]))
            return _next(request, "losses-start")
        selected = {str(value) for value in request.POST.getlist("documents")}
    else:
        form = DocumentsForm(document_ids=ids)
        selected = {str(pk) for pk in journey.get("documents") or []}
    context = {"form": form, "entries": entries, "selected": selected}
    return _page(request, "start.html", context, step="losses-start")


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def when(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    journey, elsewhere = _guard(request, "losses-when")
    if elsewhere is not None or journey is None:
        return elsewhere or redirect("portal:losses-start")
    chosen = _chosen(person, journey)
    earliest = min((entry.document.issue_date for entry in chosen), default=None)
    if request.method == "POST":
        form = WhenForm(request.POST, earliest=earliest)
        if form.is_valid():
            data = form.cleaned_data
            _save(
                request,
                journey,
                lost_on=data["lost_on"].isoformat(),
                approximate=bool(data.get("approximate")),
                day=data.get("day") or "",
                month=data.get("month") or "",
                year=data.get("year") or "",
            )
            return _next(request, "losses-when")
    else:
        form = WhenForm(
            initial={
                "day": journey.get("day", ""),
                "month": journey.get("month", ""),
                "year": journey.get("year", ""),
                "approximate": journey.get("approximate", False),
            },
            earliest=earliest,
        )
    return _page(request, "when.html", {"form": form, "chosen": chosen}, step="losses-when")


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def where(request: HttpRequest) -> HttpResponse:
    journey, elsewhere = _guard(request, "losses-where")
    if elsewhere is not None or journey is None:
        return elsewhere or redirect("portal:losses-start")
    if request.method == "POST":
        form = WhereForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            in_kingdom = data["place"] == LossPlace.IN_KINGDOM
            _save(
                request,
                journey,
                place=data["place"],
                city=data["city"].strip() if in_kingdom else "",
                country="" if in_kingdom else data["country"].strip(),
            )
            return _next(request, "losses-where")
    else:
        form = WhereForm(
            initial={
                "place": journey.get("place"),
                "city": journey.get("city", ""),
                "country": journey.get("country", ""),
            }
        )
    return _page(request, "where.html", {"form": form}, step="losses-where")


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def what(request: HttpRequest) -> HttpResponse:
    journey, elsewhere = _guard(request, "losses-what")
    if elsewhere is not None or journey is None:
        return elsewhere or redirect("portal:losses-start")
    if request.method == "POST":
        form = WhatForm(request.POST)
        if form.is_valid():
            _save(request, journey, circumstances=form.cleaned_data["circumstances"])
            return _next(request, "losses-what")
    else:
        form = WhatForm(initial={"circumstances": journey.get("circumstances", "")})
    return _page(request, "what.html", {"form": form}, step="losses-what")


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def declaration(request: HttpRequest) -> HttpResponse:
    journey, elsewhere = _guard(request, "losses-declaration")
    if elsewhere is not None or journey is None:
        return elsewhere or redirect("portal:losses-start")
    if request.method == "POST":
        form = DeclarationForm(request.POST)
        if form.is_valid():
            _save(request, journey, declaration=True)
            return _next(request, "losses-declaration")
    else:
        form = DeclarationForm(initial={"declaration": journey.get("declaration", False)})
    return _page(request, "declaration.html", {"form": form}, step="losses-declaration")


# --- Check answers and register ------------------------------------------------------------------


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def check(request: HttpRequest) -> HttpResponse:
    """ "Do you want to register this lost document?" Guarded by a fresh sign-in or code."""
    person = _person(request)
    if request.method == "POST":
        # A form sent again after the report was filed (double click, Back then Yes) leads to it.
        journey = _journey(request)
        posted_key = request.POST.get("idempotency_key", "")
        if journey is not None and journey.get("reference") and journey.get("key") == posted_key:
            return redirect("portal:losses-report", reference=journey["reference"])
    journey, elsewhere = _guard(request, "losses-check")
    if elsewhere is not None or journey is None:
        return elsewhere or redirect("portal:losses-start")
    chosen = _chosen(person, journey)
    if not chosen:
        # Everything chosen was reported (or changed hands) meanwhile: choose again.
        _save(request, journey, documents=[])
        return redirect("portal:losses-start")
    lost_on = dt.date.fromisoformat(journey["lost_on"])
    form = ConfirmForm(
        request.POST if request.method == "POST" else None, initial={"idempotency_key": journey["key"]}
    )
    if request.method == "POST":
        if not form.is_valid() or form.cleaned_data["idempotency_key"] != journey["key"]:
            # A page from an earlier journey: show the answers this one holds.
            return redirect("portal:losses-check")
        try:
            report = loss_report_submit(
                reporter=person,
                document_ids=[entry.document.pk for entry in chosen],
                lost_on=lost_on,
                lost_on_approximate=bool(journey.get("approximate")),
                place=journey["place"],
                city=journey.get("city", ""),
                country=journey.get("country", ""),
                circumstances=journey["circumstances"],
                declaration_accepted=bool(journey.get("declaration")),
                idempotency_key=journey["key"],
                actor=citizen_actor(request),
            )
        except ApplicationError as error:
            form.add_page_error(error.message)
        else:
            _save(request, journey, reference=report.reference)
            return redirect("portal:losses-report", reference=report.reference)
    context = {
        "form": form,
        "chosen": chosen,
        "journey": journey,
        "lost_on": lost_on,
        "is_late": loss_report_is_late(lost_on=lost_on, reported_on=clock.today()),
        "late_after_days": LATE_AFTER_DAYS,
    }
    return _page(request, "check.html", context, step="losses-check")


# --- The report ----------------------------------------------------------------------------------


def _report(request: HttpRequest, reference: str) -> LossReport:
    try:
        return loss_report_get_for_person(person=_person(request), reference=reference)
    except NotFound as error:
        raise Http404(error.code) from error


def _replacement_url(document_id: int) -> str:
    """The "request a replacement" journey, starting with this document."""
    return f"{reverse(REQUESTS_NEW)}?{urlencode({'document': document_id})}"


@citizen_required
@require_safe
def report(request: HttpRequest, reference: str) -> HttpResponse:
    """The confirmation: reference, what happens next, the documents' status now, the receipt.
    A bookmarked link keeps working and shows the current status."""
    loss_report = _report(request, reference)
    items = list(loss_report.items.all())
    documents = [
        {
            "document": item.document,
            "holder": item.document.holder,
            "replacement_url": _replacement_url(item.document.pk)
            if item.document.status == DocumentStatus.REPORTED_LOST
            else "",
        }
        for item in items
    ]
    context = {
        "report": loss_report,
        "documents": documents,
        "replaceable": [entry for entry in documents if entry["replacement_url"]],
    }
    response = render(request, "portal/losses/report.html", context)
    response["Cache-Control"] = "no-store"
    return response


@citizen_required
@require_safe
def receipt(request: HttpRequest, reference: str) -> HttpResponse:
    """The PDF receipt, in the page's language."""
    loss_report = _report(request, reference)
    context = {
        "report": loss_report,
        "items": list(loss_report.items.all()),
        "qr": qr_data_uri(loss_report.reference),
    }
    return pdf_response(
        request, "portal/pdf/loss_receipt.html", context, filename=f"loss-report-{loss_report.reference}.pdf"
    )
