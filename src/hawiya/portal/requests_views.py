"""Request a replacement (طلب بدل فاقد) and track my requests (متابعة الطلبات).

The journey (one question per page, docs/ui.md §2): choose the document → pre-checks → confirm the
National Address and mobile → how to receive it → photo (delivery only) → fee and check answers →
submit. Answers and the idempotency key live in the session until the request is submitted, and
beside it as the account's draft so that they survive an idle sign-out (portal.drafts; an uploaded
photo is named there, never copied); the service checks everything again. Then the request's
page: status, what happens next, tasks (pay, book an appointment), requirements, Form 58 and the
receipt as PDFs, cancel, timeline.

Views are thin: they call the replacements selectors and one service, turn an ApplicationError
into a message, and answer 404 alike for a missing request and someone else's.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from hawiya.appointments.selectors import appointment_for_replacement
from hawiya.casework.services import replacement_apply, replacement_cancel
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.replicas import replica_reads
from hawiya.delivery.models import FailureReason
from hawiya.losses.selectors import loss_reports_for_person
from hawiya.payments.selectors import bill_for_replacement
from hawiya.registry.models import DocumentKind, Person
from hawiya.replacements import selectors
from hawiya.replacements.blockers import delivery_allowed, replacement_blockers
from hawiya.replacements.expected import expected_pending_text
from hawiya.replacements.fees import FeeQuote, replacement_quote, sar
from hawiya.replacements.labels import STATE_TAGS, state_label
from hawiya.replacements.models import (
    FeeCode,
    ReceiveMethod,
    Replacement,
    ReplacementState,
)
from hawiya.replacements.photos import PHOTO_UPLOAD_DIR, photo_checked
from hawiya.replacements.requirements import at_office, requirements_of, takes_biometrics
from hawiya.replacements.vocabulary import REJECTION_REASONS

from .decorators import citizen_actor, citizen_of, citizen_required, personal_page
from .drafts import Journey, draft_keep, draft_restore
from .pdf import pdf_response, qr_data_uri
from .requests_forms import (
    CANCEL_REASONS,
    CancelForm,
    ContactConfirmForm,
    DocumentChoiceForm,
    MethodForm,
    PhotoForm,
    SubmitForm,
)

JOURNEY_SESSION_KEY = "hawiya_replacement_journey"
REFERENCE_PATTERN = re.compile(r"[A-Z]{2}[0-9]{8}")
MAX_ID = 2**63 - 1
S = ReplacementState


NEXT_STEPS: dict[str, Any] = {
    S.AWAITING_PAYMENT: gettext_lazy(
        "Pay the amount due within 72 hours, or the request expires. A request with nothing to pay "
        "goes ahead on its own."
    ),
    S.PAID: {
        ReceiveMethod.COLLECTION: gettext_lazy(
            "Book an appointment at a civil-affairs office. Bring what is listed below."
        ),
        ReceiveMethod.DELIVERY: gettext_lazy(
            "The office checks your request and prints the new document. We send you a text message "
            "when it is handed to the courier."
        ),
    },
    S.APPOINTMENT_BOOKED: gettext_lazy("Go to the office at your appointment with what is listed below."),
    S.CHECKED_IN: gettext_lazy("You have checked in at the office. An officer is handling your request."),
    # By whether fingerprints are taken for the kind (replacements.requirements.takes_biometrics).
    S.BIOMETRICS_CAPTURED: {
        True: gettext_lazy("Your fingerprints and photo are taken. The request is being approved."),
        False: gettext_lazy("Your identity is confirmed at the office. The request is being approved."),
    },
    S.APPROVED: gettext_lazy("Your request is approved. The new document is being printed."),
    S.PRINTED: gettext_lazy("The new document is printed."),
    S.DISPATCHED: gettext_lazy("The courier has the document. Delivery takes 3 to 5 working days."),
    S.OUT_FOR_DELIVERY: gettext_lazy(
        "The courier delivers the document today. Have your handover code ready."
    ),
    S.RETURNED_TO_OFFICE: gettext_lazy(
        "The courier could not deliver the document and returned it to the office. The delivery fee is "
        "not refunded. You can collect it there."
    ),
    S.READY_FOR_COLLECTION: gettext_lazy(
        "The new document is ready. Collect it at the office shown below with your appointment confirmation."
    ),
    S.COLLECTED: gettext_lazy("You have collected the new document. This request is complete."),
    S.DELIVERED: gettext_lazy("The new document was delivered. This request is complete."),
    S.REJECTED: gettext_lazy(
        "The request was rejected. The reason is in the timeline below; any fine paid is refunded."
    ),
    S.CANCELLED: gettext_lazy("You cancelled this request. You can start a new one at any time."),
    S.EXPIRED: gettext_lazy(
        "The request expired because it was not paid within 72 hours. You can start a new one."
    ),
}

ORDINALS = {
    1: gettext_lazy("first"),
    2: gettext_lazy("second"),
    3: gettext_lazy("third"),
    4: gettext_lazy("fourth"),
    5: gettext_lazy("fifth"),
    6: gettext_lazy("sixth"),
    7: gettext_lazy("seventh"),
    8: gettext_lazy("eighth"),
    9: gettext_lazy("ninth"),
    10: gettext_lazy("tenth"),
}
# The replacement journey's pages in order: the one place its steps are numbered. The photo is a
# step only when the document is delivered, so "step n of m" counts the steps of this journey.
STEPS = ("document", "checks", "contact", "method", "photo", "check")


# --- Small pieces ------------------------------------------------------------------------------


def _person(request: HttpRequest) -> Person:
    return citizen_of(request)


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int | None = None
) -> HttpResponse:
    if status is None:
        # A form shown again with its errors answers 400, as in the losses journey.
        form = context.get("form")
        status = 400 if form is not None and form.is_bound and form.errors else 200
    return personal_page(request, f"portal/requests/{template}", context, status)


def _url(name: str, **kwargs: Any) -> str:
    return reverse(f"portal:{name}", kwargs=kwargs or None)


def ordinal(number: int) -> str:
    word = ORDINALS.get(number)
    return str(word) if word else _("number %(number)s") % {"number": number}


def fee_sentence(quote: FeeQuote, kind: str) -> str:
    """ "This is your second loss of this card: SAR 100 fine + SAR 35 delivery fee." """
    parts: list[str] = []
    for line in quote.lines:
        amount = sar(line.amount)
        if line.code.startswith("id_card_loss"):
            parts.append(_("%(amount)s fine") % {"amount": amount} if line.amount else _("no fine"))
        elif line.code == FeeCode.LATE_REPORT:
            parts.append(_("%(amount)s late-report fine") % {"amount": amount})
        elif line.code == FeeCode.DELIVERY:
            parts.append(_("%(amount)s delivery fee") % {"amount": amount})
        elif line.amount:
            parts.append(_("%(amount)s fee") % {"amount": amount})
    fees = " + ".join(parts) if parts else _("nothing to pay")
    if kind == DocumentKind.NATIONAL_ID_CARD:
        return _("This is your %(ordinal)s loss of this card: %(fees)s.") % {
            "ordinal": ordinal(quote.loss_number),
            "fees": fees,
        }
    return _("For this document: %(fees)s.") % {"fees": fees}


def fee_rows(quote: FeeQuote) -> list[dict[str, Any]]:
    return [
        {
            "label": line.label,
            "amount": sar(line.amount) if line.amount else _("No fee"),
            "refundable": line.refundable,
        }
        for line in quote.lines
    ]


def stored_fee_rows(replacement: Replacement) -> list[dict[str, Any]]:
    """The fee lines as they were explained at submission (the request's snapshot)."""
    labels = dict(FeeCode.choices)
    rows = []
    for line in replacement.fee_lines or []:
        amount = Decimal(str(line.get("amount_sar", "0")))
        rows.append(
            {
                "label": labels.get(str(line.get("code")), str(line.get("code"))),
                "amount": sar(amount) if amount else _("No fee"),
                "refundable": bool(line.get("refundable")),
            }
        )
    return rows


# --- The journey's session ----------------------------------------------------------------------


def _valid_journey(journey: object) -> dict[str, Any] | None:
    return journey if isinstance(journey, dict) and isinstance(journey.get("document_id"), int) else None


def _journey(request: HttpRequest) -> dict[str, Any] | None:
    journey = _valid_journey(request.session.get(JOURNEY_SESSION_KEY))
    if journey is None:
        # Signed out for inactivity and signed in again: the answers kept beside the session.
        journey = _valid_journey(draft_restore(request, Journey.REPLACEMENT))
        if journey is not None:
            photo = journey.get("photo")
            if isinstance(photo, dict) and not default_storage.exists(str(photo.get("name"))):
                # The upload was swept meanwhile: the photo page asks for it again.
                journey.pop("photo")
            request.session[JOURNEY_SESSION_KEY] = journey
    return journey


def _journey_save(request: HttpRequest, journey: dict[str, Any]) -> None:
    request.session[JOURNEY_SESSION_KEY] = journey
    request.session.modified = True
    draft_keep(request, Journey.REPLACEMENT, journey)


def _journey_document(request: HttpRequest, journey: dict[str, Any]) -> Any:
    """The journey's document, still one the person may replace, or 404."""
    try:
        return selectors.replaceable_document_get_for_person(
            person=_person(request), document_id=int(journey["document_id"]), today=clock.today()
        )
    except NotFound as exc:
        raise Http404("document") from exc


def _no_journey(request: HttpRequest) -> HttpResponse:
    messages.info(request, _("Your answers were not found: start again by choosing the document."))
    return redirect("portal:requests-new")


def _photo_drop(journey: dict[str, Any]) -> None:
    photo = journey.pop("photo", None)
    if isinstance(photo, dict) and isinstance(photo.get("name"), str):
        default_storage.delete(photo["name"])


def _photo_upload(journey: dict[str, Any]) -> UploadedFile | None:
    photo = journey.get("photo")
    if not isinstance(photo, dict):
        return None
    try:
        with default_storage.open(str(photo.get("name")), "rb") as handle:
            content = handle.read()
    except OSError:
        # Gone: a first click submitted and deleted it (the caller finds that request by its key).
        return None
    return SimpleUploadedFile(f"photo.{photo.get('extension', 'jpg')}", content, str(photo.get("type")))


def _document_name(document: Any) -> str:
    """ "National ID card of Mohammed Abdullah…" (the holder is named when it is someone else's)."""
    return _("%(kind)s of %(name)s") % {
        "kind": document.get_kind_display(),
        "name": document.holder.full_name,
    }


def _step(name: str, journey: dict[str, Any] | None) -> str:
    delivery = journey is not None and journey.get("method") == ReceiveMethod.DELIVERY
    steps = [step for step in STEPS if step != "photo" or delivery]
    return _("Request a replacement – step %(number)s of %(count)s") % {
        "number": steps.index(name) + 1,
        "count": len(steps),
    }


# --- Track my requests ------------------------------------------------------------------------------


@citizen_required
@require_http_methods(["GET", "HEAD"])
@replica_reads
def requests_list(request: HttpRequest) -> HttpResponse:
    """The person's loss reports and replacement requests, with their status."""
    person = _person(request)
    reports = loss_reports_for_person(person=person)
    context = {
        "replacements": [
            {
                "replacement": item,
                "tag": STATE_TAGS.get(item.state, "neutral"),
                "label": state_label(item),
                "name": _document_name(item.document),
            }
            for item in selectors.replacements_for_person(person=person)
        ],
        "reports": [
            {"report": report, "url": _url("losses-report", reference=report.reference)} for report in reports
        ],
        "new_url": reverse("portal:requests-new"),
    }
    return _render(request, "list.html", context)


# --- Request a replacement: the journey ---------------------------------------------------------------


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def requests_new(request: HttpRequest) -> HttpResponse:
    """Step 1: which lost document to replace (`?document=<id>` preselects one)."""
    person = _person(request)
    items = selectors.replaceable_documents_for(person=person, today=clock.today())
    available = [item for item in items if item.open_replacement is None]
    choices = [(item.document.pk, _document_name(item.document)) for item in available]
    initial: dict[str, Any] = {}
    preselect = request.GET.get("document", "")
    if re.fullmatch(r"[0-9]{1,18}", preselect) and int(preselect) in {pk for pk, _label in choices}:
        initial["document"] = int(preselect)
    form = DocumentChoiceForm(
        request.POST if request.method == "POST" else None, choices=choices, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        previous = _journey(request)
        if previous is not None:
            _photo_drop(previous)
        _journey_save(request, {"document_id": form.cleaned_data["document"], "key": uuid.uuid4().hex})
        return redirect("portal:requests-new-checks")
    context = {
        "form": form,
        "available": available,
        "under_way": [item for item in items if item.open_replacement is not None],
        "report_url": _url("losses-start") if selectors.has_valid_id_card(person=person) else "",
        "any_report_url": _url("losses-start"),
        "step": _step("document", _journey(request)),
    }
    return _render(request, "new.html", context)


@citizen_required
@require_http_methods(["GET", "HEAD"])
def requests_new_checks(request: HttpRequest) -> HttpResponse:
    """Step 2: the pre-checks. While anything blocks the request there is no way forward."""
    journey = _journey(request)
    if journey is None:
        return _no_journey(request)
    document = _journey_document(request, journey)
    blockers = replacement_blockers(applicant=_person(request), document=document, today=clock.today())
    rows = [
        {
            "blocker": blocker,
            "url": _url("requests-detail", reference=blocker.reference) if blocker.reference else "",
        }
        for blocker in blockers
    ]
    context = {"document_name": _document_name(document), "blockers": rows, "step": _step("checks", journey)}
    return _render(request, "checks.html", context, status=200)


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def requests_new_contact(request: HttpRequest) -> HttpResponse:
    """Step 3: confirm the National Address and the mobile number on record."""
    journey = _journey(request)
    if journey is None:
        return _no_journey(request)
    person = _person(request)
    document = _journey_document(request, journey)
    if replacement_blockers(applicant=person, document=document, today=clock.today()):
        return redirect("portal:requests-new-checks")
    address = selectors.primary_address_for(person=person)
    initial = {
        "address_confirmed": journey.get("address_confirmed", False),
        "mobile_confirmed": journey.get("mobile_confirmed", False),
    }
    form = ContactConfirmForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        has_address=address is not None,
        has_mobile=bool(person.mobile),
    )
    if request.method == "POST" and form.is_valid():
        journey["address_confirmed"] = bool(form.cleaned_data.get("address_confirmed"))
        journey["mobile_confirmed"] = bool(form.cleaned_data.get("mobile_confirmed"))
        journey["contact_done"] = True
        _journey_save(request, journey)
        return redirect(
            "portal:requests-new-check" if journey.get("method") else "portal:requests-new-method"
        )
    context = {
        "form": form,
        "address": address,
        "mobile_last_digits": person.mobile[-4:] if person.mobile else "",
        "mobile_change_url": reverse("portal:account-mobile"),
        "step": _step("contact", journey),
    }
    return _render(request, "contact.html", context)


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def requests_new_method(request: HttpRequest) -> HttpResponse:
    """Step 4: collection at an office, or delivery (shown unavailable, with why, when not allowed)."""
    journey = _journey(request)
    if journey is None:
        return _no_journey(request)
    if not journey.get("contact_done"):
        return redirect("portal:requests-new-contact")
    person = _person(request)
    document = _journey_document(request, journey)
    allowed, reason = delivery_allowed(document=document, today=clock.today(), applicant=person)
    form = MethodForm(
        request.POST if request.method == "POST" else None,
        initial={"method": journey.get("method") or ""},
        delivery_reason="" if allowed else reason,
    )
    if request.method == "POST" and form.is_valid():
        journey["method"] = form.cleaned_data["method"]
        if journey["method"] != ReceiveMethod.DELIVERY:
            _photo_drop(journey)
        _journey_save(request, journey)
        if journey["method"] == ReceiveMethod.DELIVERY and not journey.get("photo"):
            return redirect("portal:requests-new-photo")
        return redirect("portal:requests-new-check")
    context = {
        "form": form,
        "delivery_allowed": allowed,
        "delivery_reason": reason,
        "at_office": at_office(document.kind),
        "step": _step("method", journey),
    }
    return _render(request, "method.html", context)


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def requests_new_photo(request: HttpRequest) -> HttpResponse:
    """Step 5, for delivery only: a recent photo, checked by its content, kept until the request is sent."""
    journey = _journey(request)
    if journey is None:
        return _no_journey(request)
    if journey.get("method") != ReceiveMethod.DELIVERY:
        return redirect("portal:requests-new-method")
    _journey_document(request, journey)
    has_photo = isinstance(journey.get("photo"), dict)
    form = PhotoForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial={"white_background_declared": journey.get("white_background", False)},
        has_photo=has_photo,
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("photo")
        try:
            checked = photo_checked(upload) if upload else None
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            if checked is not None:
                _photo_drop(journey)
                name = default_storage.save(
                    f"{PHOTO_UPLOAD_DIR}/{uuid.uuid4().hex}.{checked.extension}", ContentFile(checked.content)
                )
                journey["photo"] = {
                    "name": name,
                    "type": checked.content_type,
                    "extension": checked.extension,
                }
            journey["white_background"] = True
            _journey_save(request, journey)
            return redirect("portal:requests-new-check")
    context = {"form": form, "has_photo": has_photo, "step": _step("photo", journey)}
    return _render(request, "photo.html", context)


@citizen_required
@require_http_methods(["GET", "HEAD"])
def requests_new_photo_preview(request: HttpRequest) -> HttpResponse:
    """The photo uploaded in this person's own journey, for the check-answers page: named only by
    their session (or draft), served by this view alone (never from MEDIA_URL) and never cached."""
    journey = _journey(request)
    photo = journey.get("photo") if journey is not None else None
    if not isinstance(photo, dict) or photo.get("type") not in ("image/jpeg", "image/png"):
        raise Http404("no photo")
    try:
        with default_storage.open(str(photo.get("name")), "rb") as handle:
            content = handle.read()
    except OSError as exc:
        raise Http404("no photo") from exc
    response = HttpResponse(content, content_type=str(photo["type"]))
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def requests_new_check(request: HttpRequest) -> HttpResponse:
    """The last step (5, or 6 with a photo): the fee line by line and the answers, then "Submit"."""
    journey = _journey(request)
    if journey is None:
        return _no_journey(request)
    if journey.get("reference"):
        # Submitted already (a second click, the Back button): show the request.
        return redirect("portal:requests-detail", reference=journey["reference"])
    if not journey.get("contact_done"):
        return redirect("portal:requests-new-contact")
    if not journey.get("method"):
        return redirect("portal:requests-new-method")
    person = _person(request)
    document = _journey_document(request, journey)
    method = str(journey["method"])
    if method == ReceiveMethod.DELIVERY and not journey.get("photo"):
        return redirect("portal:requests-new-photo")
    form = SubmitForm(request.POST if request.method == "POST" else None)
    how_to_fix = ""
    if request.method == "POST" and form.is_valid():
        photo = _photo_upload(journey) if method == ReceiveMethod.DELIVERY else None
        if method == ReceiveMethod.DELIVERY and photo is None:
            # The upload is gone: a concurrent click (this session's answers, loaded before it
            # finished) has submitted the request and dropped the photo. Show that request.
            submitted = selectors.replacement_for_idempotency_key(
                person=person, idempotency_key=str(journey.get("key", ""))
            )
            if submitted is not None:
                messages.success(request, _("Your request is submitted."))
                return redirect("portal:requests-detail", reference=submitted.reference)
        try:
            replacement = replacement_apply(
                applicant=person,
                document_id=document.pk,
                method=method,
                photo=photo,
                white_background_declared=bool(journey.get("white_background")),
                address_confirmed=bool(journey.get("address_confirmed")),
                mobile_confirmed=bool(journey.get("mobile_confirmed")),
                idempotency_key=str(journey.get("key", "")),
                actor=citizen_actor(request),
            )
        except NotFound as exc:
            raise Http404("document") from exc
        except ApplicationError as exc:
            form.add_page_error(exc.message)
            how_to_fix = str(exc.extra.get("how_to_fix", ""))
        else:
            _photo_drop(journey)
            journey["reference"] = replacement.reference
            _journey_save(request, journey)
            messages.success(request, _("Your request is submitted."))
            return redirect("portal:requests-detail", reference=replacement.reference)
    quote = replacement_quote(applicant=person, document=document, method=method, today=clock.today())
    address = selectors.primary_address_for(person=person)
    context = {
        "form": form,
        "how_to_fix": how_to_fix,
        "document": document,
        "document_name": _document_name(document),
        "method": method,
        "method_label": ReceiveMethod(method).label,
        "address": address,
        "mobile_last_digits": person.mobile[-4:] if person.mobile else "",
        "has_photo": bool(journey.get("photo")),
        "fee_rows": fee_rows(quote),
        "fee_sentence": fee_sentence(quote, document.kind),
        "total": sar(quote.total) if quote.total else _("Nothing to pay"),
        "nothing_to_pay": not quote.total,
        "delivery_fee": quote.delivery_fee,
        "step": _step("check", journey),
    }
    return _render(request, "check.html", context)


# --- One request --------------------------------------------------------------------------------------


def _own_replacement(request: HttpRequest, reference: str) -> Replacement:
    if not REFERENCE_PATTERN.fullmatch(reference or ""):
        raise Http404("malformed reference")
    try:
        return selectors.replacement_get_for_person(person=_person(request), reference=reference)
    except NotFound as exc:
        raise Http404("request") from exc


def _tasks(replacement: Replacement) -> list[dict[str, Any]]:
    """The task list while work remains (docs/ui.md §2): pay, then book an appointment (collection)."""
    tasks: list[dict[str, Any]] = []
    state = replacement.state
    if state in (S.CANCELLED, S.EXPIRED, S.REJECTED):
        return tasks
    paid = state != S.AWAITING_PAYMENT
    if replacement.total_sar:
        # A request with nothing to pay has no payment task: it was never "paid".
        pay_url = ""
        if not paid:
            bill = bill_for_replacement(replacement=replacement)
            if bill:
                pay_url = reverse("portal:payments-bill", kwargs={"bill_number": bill.bill_number})
        tasks.append(
            {
                "title": _("Pay %(amount)s") % {"amount": sar(replacement.total_sar)},
                "status": _("Completed") if paid else _("Not yet started"),
                "done": paid,
                "url": pay_url,
            }
        )
    if replacement.method == ReceiveMethod.COLLECTION:
        booked = state not in (S.AWAITING_PAYMENT, S.PAID)
        book_url = ""
        if state == S.PAID:
            book_url = reverse("portal:appointments-new", kwargs={"reference": replacement.reference})
        tasks.append(
            {
                "title": _("Book an appointment at an office"),
                "status": _("Completed")
                if booked
                else (_("Not yet started") if paid else _("Cannot start yet")),
                "done": booked,
                "url": book_url,
            }
        )
    return tasks


@citizen_required
@require_http_methods(["GET", "HEAD"])
def requests_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The request: status, what happens next, tasks, requirements, documents, timeline."""
    replacement = _own_replacement(request, reference)
    timeline = selectors.replacement_timeline(replacement=replacement)
    kind = replacement.document.kind
    next_step = NEXT_STEPS.get(replacement.state, "")
    if isinstance(next_step, dict):
        next_step = next_step.get(replacement.method, next_step.get(takes_biometrics(kind), ""))
    tasks = _tasks(replacement)
    expected = timeline.expected
    # A rejection's reason is a code (shown in the reader's language) and the officer's note; so is
    # the reason a delivery attempt failed (delivery.models.FailureReason, its own list of codes).
    reasons = {**dict(CANCEL_REASONS), **dict(REJECTION_REASONS)}
    delivery_reasons = dict(FailureReason.choices)
    context = {
        "replacement": replacement,
        "document_name": _document_name(replacement.document),
        "is_delivery": replacement.method == ReceiveMethod.DELIVERY,
        "state_label": state_label(replacement),
        "requirements": requirements_of(replacement),
        "expected_on": expected.on,
        "ready_on": expected.ready_on,
        "kept": expected.kept,
        "expected_pending": expected_pending_text(kind=kind, method=replacement.method)
        if replacement.is_open
        else "",
        "tag": STATE_TAGS.get(replacement.state, "neutral"),
        "next_step": next_step,
        "tasks": tasks,
        "tasks_done": sum(1 for task in tasks if task["done"]),
        "fee_rows": stored_fee_rows(replacement),
        "total": sar(replacement.total_sar) if replacement.total_sar else _("Nothing to pay"),
        "entries": [
            {
                "entry": entry,
                "reason": " — ".join(
                    str(part)
                    for part in (
                        (
                            delivery_reasons
                            if entry.action in ("delivery_failed", "returned_to_office")
                            else reasons
                        ).get(str(entry.detail.get("reason", "")), entry.detail.get("reason", "")),
                        entry.detail.get("note", ""),
                    )
                    if part
                ),
            }
            for entry in timeline.entries
        ],
        "upcoming": timeline.upcoming,
        "appointment": appointment_for_replacement(replacement=replacement),
    }
    return _render(request, "detail.html", context)


def _pdf_context(replacement: Replacement) -> dict[str, Any]:
    holder = replacement.document.holder
    # The address the request was made with (delivery), else the applicant's own: never the
    # holder's current one, which may be an adult child's home their former head must not see.
    address = replacement.delivery_address or selectors.primary_address_for(person=replacement.applicant)
    return {
        "replacement": replacement,
        "holder": holder,
        "applicant": replacement.applicant,
        "document": replacement.document,
        "address": address,
        "qr": qr_data_uri(replacement.reference),
        "fee_rows": stored_fee_rows(replacement),
        "total": sar(replacement.total_sar) if replacement.total_sar else _("Nothing to pay"),
        "hijri_first": holder.date_of_birth_calendar == "hijri",
        "is_saudi": holder.nationality == "SA",
        "state_label": state_label(replacement),
        "requirements": requirements_of(replacement),
    }


@citizen_required
@require_http_methods(["GET", "HEAD"])
def requests_form58(request: HttpRequest, reference: str) -> HttpResponse:
    """Form 58 (نموذج 58), in Arabic, pre-filled from the register and the request."""
    replacement = _own_replacement(request, reference)
    with translation.override("ar"):
        return pdf_response(
            request, "portal/pdf/form_58.html", _pdf_context(replacement), filename=f"form-58-{reference}.pdf"
        )


@citizen_required
@require_http_methods(["GET", "HEAD"])
def requests_receipt(request: HttpRequest, reference: str) -> HttpResponse:
    """The receipt of the request, in the page's language."""
    replacement = _own_replacement(request, reference)
    return pdf_response(
        request,
        "portal/pdf/request_receipt.html",
        _pdf_context(replacement),
        filename=f"receipt-{reference}.pdf",
    )


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def requests_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    """Cancel a request before processing starts: a confirmation page with a reason."""
    replacement = _own_replacement(request, reference)
    if replacement.state == S.CANCELLED:
        # A second click on the confirmation, after the first cancelled it.
        messages.success(request, _("Your request is cancelled."))
        return redirect("portal:requests-detail", reference=replacement.reference)
    if not replacement.is_cancellable:
        messages.error(request, _("This request can no longer be cancelled."))
        return redirect("portal:requests-detail", reference=replacement.reference)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            replacement_cancel(
                replacement_id=replacement.pk,
                applicant=_person(request),
                reason=reason,
                actor=citizen_actor(request),
            )
        except ApplicationError as exc:
            # Two clicks at once: the other one may have cancelled it while this one waited.
            if _own_replacement(request, reference).state == S.CANCELLED:
                messages.success(request, _("Your request is cancelled."))
            else:
                messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Your request is cancelled."))
        return redirect("portal:requests-detail", reference=replacement.reference)
    context = {
        "form": form,
        "replacement": replacement,
        "document_name": _document_name(replacement.document),
    }
    return _render(request, "cancel.html", context)
