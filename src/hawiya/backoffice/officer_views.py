"""The officer's pages: my day (with the check-in box), a case, biometrics, the print queue,
rejection and handover (docs/ui.md §6).

Thin pages (docs/design.md §3): each action parses its form, calls exactly one service of
`hawiya.casework.backoffice` with the StaffActor, and turns an ApplicationError into the page
again with the translated message and a fitting status (400 / 403 / 404 / 409). Every action
form carries `state_seen`, the request's state when the page was drawn: if the request moved
since, the action is refused (409) and the page shows the state it is in now.

Opening a case, revealing the full ID number and the photo are audited reads
(`hawiya.casework.reads`). The photo is served by `case_photo_image` only after an audited
"show photo" click in the same session, with `Cache-Control: no-store`; never from MEDIA_URL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from hawiya.appointments.models import AppointmentState
from hawiya.audit.actors import ActorKind
from hawiya.casework import backoffice as casework
from hawiya.casework.reads import person_photo_view, person_record_view
from hawiya.casework.selectors import (
    QUEUE_STAGES,
    CaseFile,
    case_file,
    case_get_for_staff,
    check_in_lookup,
    office_day,
    office_queue,
    office_queue_counts,
    photo_on_file,
    print_queue,
)
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.headers import allow_features
from hawiya.core.pdf import PdfLimitReached, image_data_uri, pdf_response, qr_data_uri
from hawiya.core.replicas import replica_reads
from hawiya.core.text import mask_id_number
from hawiya.identity.models import StaffRole
from hawiya.identity.staff import PERM_WORK_CASES, StaffActor, StaffForbidden
from hawiya.registry import selectors as registry_selectors
from hawiya.registry.biometrics import fingerprint_scanner
from hawiya.registry.models import Office
from hawiya.replacements.labels import STATE_TAGS
from hawiya.replacements.models import REJECTABLE_STATES, ReceiveMethod, Replacement, ReplacementState
from hawiya.replacements.vocabulary import REJECTION_REASONS, rejection_reason_label

from .decorators import staff_of, staff_office_of, staff_page, staff_required
from .forms import (
    BiometricsForm,
    CheckInForm,
    DayForm,
    FindRequestForm,
    HandoverForm,
    RejectForm,
    StateSeenForm,
    parse_day,
)

S = ReplacementState
# Refusals that mean "someone or something moved first" (the page shows the state now).
CONFLICT_CODES = frozenset(
    {
        "replacement_state_conflict",
        "already_checked_in",
        "appointment_not_today",
        "appointment_state_conflict",
    }
)
# What the browser keeps between the audited reveal (POST) and the page that shows it (GET).
REVEAL_SESSION_KEY = "hawiya_backoffice_reveal"
MAX_PHOTO_UPLOAD = 5 * 1024 * 1024
PRIMARY_CHECK_IN = "check_in"
PRIMARY_BIOMETRICS = "biometrics"
PRIMARY_APPROVE = "approve"
PRIMARY_PRINT = "print"
PRIMARY_READY = "ready"
PRIMARY_HANDOVER = "handover"

work_cases = staff_required(PERM_WORK_CASES)


def _status(error: ApplicationError) -> int:
    if error.code in CONFLICT_CODES:
        return 409
    return int(getattr(error, "status_code", 400))


def _case_or_404(staff: StaffActor, reference: str) -> Replacement:
    try:
        return case_get_for_staff(staff=staff, reference=reference)
    except NotFound as error:
        raise Http404(str(error.message)) from None
    except StaffForbidden:
        raise PermissionDenied from None


def _conflict_message(replacement: Replacement) -> str:
    return _(
        "This request changed while you were looking at it: it is now “%(state)s”. "
        "Check the page again before you act."
    ) % {"state": replacement.get_state_display()}


# --- My day ----------------------------------------------------------------------------------------


def _labels(choices: type[models.TextChoices]) -> dict[str, str]:
    """Each choice's label in the page's language, translated once per page: a model's
    `get_FOO_display` translates every label of the field again at each call (~0.1 ms)."""
    return {value: str(label) for value, label in choices.choices}


def _day_page(
    request: HttpRequest, staff: StaffActor, day: dt.date, check_in_form: CheckInForm, status: int = 200
) -> HttpResponse:
    office = office_day(staff=staff, day=day)
    state_labels = _labels(S)
    appointment_state_labels = _labels(AppointmentState)
    rows = [
        {
            "row": row,
            "tag": STATE_TAGS.get(row.replacement.state, "neutral"),
            "state_label": state_labels.get(row.replacement.state, row.replacement.state),
            "appointment_state_label": appointment_state_labels.get(
                row.appointment.state, row.appointment.state
            ),
        }
        for row in office.rows
    ]
    context = {
        "day": day,
        "is_today": day == clock.today(),
        "office_day": office,
        "rows": rows,
        "counts": [
            {"state": state, "label": label, "count": count, "tag": STATE_TAGS.get(state, "neutral")}
            for state, label, count in office.counts
        ],
        "day_form": DayForm(initial={"date": day}),
        "form": check_in_form,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
    }
    return staff_page(request, "backoffice/day.html", context, status=status)


@never_cache
@require_safe
@work_cases
@replica_reads
def day(request: HttpRequest) -> HttpResponse:
    staff = staff_of(request)
    form = DayForm(request.GET or None)
    chosen = clock.today()
    status = 200
    if form.is_bound:
        if form.is_valid():
            chosen = form.cleaned_data.get("date") or chosen
        else:
            status = 400
    check_in_form = CheckInForm(initial={"date": chosen.isoformat()})
    if status == 400:
        check_in_form.add_page_error(
            form.errors["date"][0] if "date" in form.errors else _("Enter a real date.")
        )
    return _day_page(request, staff, chosen, check_in_form, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@work_cases
def check_in(request: HttpRequest) -> HttpResponse:
    """The check-in box: a reference, the ticket's QR, or an ID number → that appointment checked in.

    A refused check-in is shown at this address, so its language switch links here: GET goes
    back to the day page."""
    if request.method != "POST":
        return redirect("backoffice:day")
    staff = staff_of(request)
    form = CheckInForm(request.POST)
    today = clock.today()
    chosen = parse_day(request.POST.get("date"), default=today)
    status = 400
    if form.is_valid():
        appointment = None
        try:
            appointment = check_in_lookup(staff=staff, query=form.cleaned_data["query"], day=today)
            replacement = casework.appointment_check_in(staff=staff, appointment_id=appointment.pk)
        except ApplicationError as error:
            if error.code == "already_checked_in" and appointment is not None:
                messages.info(request, str(error.message))
                return redirect("backoffice:case", reference=appointment.replacement.reference)
            form.add_application_error(error)
            status = _status(error)
        else:
            messages.success(
                request,
                _("%(reference)s is checked in. Capture the biometrics next.")
                % {"reference": replacement.reference},
            )
            return redirect("backoffice:case", reference=replacement.reference)
    return _day_page(request, staff, chosen, form, status=status)


# --- A case ----------------------------------------------------------------------------------------


def _primary_action(file: CaseFile) -> str:
    replacement = file.replacement
    state = replacement.state
    delivery = replacement.method == ReceiveMethod.DELIVERY
    if (
        state == S.APPOINTMENT_BOOKED
        and file.appointment is not None
        and file.appointment.state == AppointmentState.BOOKED
    ):
        return PRIMARY_CHECK_IN
    if state == S.CHECKED_IN:
        return PRIMARY_BIOMETRICS
    if state == S.BIOMETRICS_CAPTURED or (state == S.PAID and delivery):
        return PRIMARY_APPROVE
    if state == S.APPROVED:
        return PRIMARY_PRINT
    if (state == S.PRINTED and not delivery) or state == S.RETURNED_TO_OFFICE:
        return PRIMARY_READY
    if state == S.READY_FOR_COLLECTION:
        return PRIMARY_HANDOVER
    return ""


def _reveals(request: HttpRequest) -> dict[str, Any]:
    value = request.session.get(REVEAL_SESSION_KEY)
    return value if isinstance(value, dict) else {}


def _reveal_set(request: HttpRequest, reference: str, what: str) -> None:
    reveals = _reveals(request)
    reveals.setdefault(reference, {})[what] = True
    request.session[REVEAL_SESSION_KEY] = reveals


def _reveal_take(request: HttpRequest, reference: str, what: str) -> bool:
    """Whether a reveal of `what` was pending, which it no longer is. The session is written
    only when this request's entry changes: a write on every case page would update the session
    row and drop its cached copy each time (core/session_store.py)."""
    reveals = _reveals(request)
    if reference not in reveals:
        return False
    shown = bool(reveals[reference].pop(what, False))
    if not reveals[reference]:
        reveals.pop(reference)
    request.session[REVEAL_SESSION_KEY] = reveals
    return shown


def _reveal_pending(request: HttpRequest, reference: str, what: str) -> bool:
    return bool(_reveals(request).get(reference, {}).get(what))


# What the audit table says for each action, translated when shown (once per row, not per table).
AUDIT_ACTION_LABELS = {
    "person.record_viewed": gettext_lazy("Opened the person's record"),
    "person.photo_viewed": gettext_lazy("Viewed the photo on file"),
    "replacement.submitted": gettext_lazy("Request submitted"),
    "appointment.booked": gettext_lazy("Appointment booked"),
    "appointment.moved": gettext_lazy("Appointment moved"),
    "appointment.cancelled": gettext_lazy("Appointment cancelled"),
    "appointment.reminded": gettext_lazy("Reminder sent"),
    "appointment.checked_in": gettext_lazy("Checked in"),
    "appointment.completed": gettext_lazy("Appointment completed"),
    "appointment.no_show": gettext_lazy("Did not attend"),
}


def _audit_label(action: str, detail: dict[str, Any], state_labels: dict[str, str]) -> str:
    """`state_labels`: the request states' labels in the page's language, made once per page (a
    case shows up to 200 events; translating every label for each row cost ~20 ms a page)."""
    if action == "replacement.moved" and isinstance(detail.get("to"), str):
        return _("Status changed to “%(state)s”") % {"state": state_labels.get(detail["to"], detail["to"])}
    if action == "person.record_viewed" and detail.get("part") == "id_number":
        return _("Revealed the full ID number")
    if action == "person.record_viewed" and detail.get("part") == "print_file":
        return _("Opened the card's print file")
    return str(AUDIT_ACTION_LABELS.get(action, action))


def _audit_rows(
    file: CaseFile, staff_office: Office | None, state_labels: dict[str, str]
) -> list[dict[str, Any]]:
    roles = {role.value: str(role.label) for role in StaffRole}
    roles["citizen"] = _("Citizen")
    # Events name offices by code; officers read the office's name in their language. The offices
    # already on the page (the officer's, the timeline's, the appointment's) are not read again.
    known = [staff_office, *(event.office for event in file.timeline)]
    if file.appointment is not None:
        known.append(file.appointment.slot.office)
    offices = registry_selectors.offices_by_code(
        codes=(line.event.actor_office for line in file.audit), known=known
    )
    rows = []
    for line in file.audit:
        event = line.event
        detail = event.detail if isinstance(event.detail, dict) else {}
        who = line.actor
        # Citizens' own steps (and the gateway's, for the payment they made): "the applicant",
        # never their account name.
        if who is None or who.kind in (ActorKind.CITIZEN, ActorKind.PAYMENT_GATEWAY):
            actor = _("The applicant")
        elif who.kind == ActorKind.SYSTEM:
            actor = _("Hawiya (automatic)")
        else:
            actor = line.actor_name or event.actor
        rows.append(
            {
                "when": event.occurred_at,
                "action": event.action,
                "label": _audit_label(event.action, detail, state_labels),
                "actor": actor,
                "role": roles.get(event.actor_role, event.actor_role),
                "office": offices.get(event.actor_office, event.actor_office),
            }
        )
    return rows


def _render_case(
    request: HttpRequest,
    staff: StaffActor,
    replacement: Replacement,
    *,
    error: str = "",
    status: int = 200,
    show_id: bool = False,
) -> HttpResponse:
    file = case_file(staff=staff, replacement=replacement)
    state_labels = _labels(S)
    context = {
        "file": file,
        "replacement": replacement,
        "holder": file.holder,
        "tag": STATE_TAGS.get(replacement.state, "neutral"),
        "state_label": state_labels.get(replacement.state, replacement.state),
        "primary": _primary_action(file),
        "can_reject": replacement.state in REJECTABLE_STATES,
        "is_delivery": replacement.method == ReceiveMethod.DELIVERY,
        "show_id": show_id,
        # Officers see the last four digits ("••••••1234"), enough to match a card in hand.
        "masked_id": mask_id_number(file.holder.id_number, shown_at_end=4, show_first=False),
        "show_photo": file.has_photo and _reveal_pending(request, replacement.reference, "photo"),
        "error": error,
        "audit_rows": _audit_rows(file, staff_office_of(request), state_labels),
        "timeline_rows": [
            {
                "event": event,
                "label": state_labels.get(event.state, event.state),
                "reason": rejection_reason_label(str(event.detail.get("reason") or ""))
                if event.state == S.REJECTED and isinstance(event.detail, dict)
                else "",
                "note": str(event.detail.get("note") or "") if isinstance(event.detail, dict) else "",
            }
            for event in file.timeline
        ],
    }
    return staff_page(request, "backoffice/case.html", context, status=status)


@never_cache
@require_safe
@work_cases
def case(request: HttpRequest, reference: str) -> HttpResponse:
    staff = staff_of(request)
    replacement = _case_or_404(staff, reference)
    show_id = _reveal_take(request, replacement.reference, "id_number")
    if not show_id and not _reveal_pending(request, replacement.reference, "photo"):
        # A page drawn right after a reveal was audited by the reveal itself.
        person_record_view(staff=staff, replacement=replacement)
    return _render_case(request, staff, replacement, show_id=show_id)


@require_POST
@work_cases
def case_id_number(request: HttpRequest, reference: str) -> HttpResponse:
    """ "Show" the full ID number: an audited read, then the page shows it once."""
    staff = staff_of(request)
    replacement = _case_or_404(staff, reference)
    person_record_view(staff=staff, replacement=replacement, part="id_number")
    _reveal_set(request, replacement.reference, "id_number")
    return redirect(reverse("backoffice:case", args=[replacement.reference]) + "#register-record")


@require_POST
@work_cases
def case_photo(request: HttpRequest, reference: str) -> HttpResponse:
    """ "Show photo": an audited read; the page then loads the image once from case_photo_image."""
    staff = staff_of(request)
    replacement = _case_or_404(staff, reference)
    if person_photo_view(staff=staff, replacement=replacement) is None:
        messages.info(request, _("There is no photo on file for this person."))
    else:
        _reveal_set(request, replacement.reference, "photo")
    return redirect(reverse("backoffice:case", args=[replacement.reference]) + "#photo")


@never_cache
@require_safe
@work_cases
def case_photo_image(request: HttpRequest, reference: str) -> HttpResponse:
    """The photo's bytes, only right after an audited "show photo" in this session; never cached."""
    staff = staff_of(request)
    replacement = _case_or_404(staff, reference)
    if not _reveal_take(request, replacement.reference, "photo"):
        raise Http404("show the photo first")
    photo = photo_on_file(staff=staff, replacement=replacement)
    if photo is None:
        raise Http404("no photo on file")
    response = HttpResponse(photo.content, content_type=photo.content_type)
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = "inline"
    return response


def _act(
    request: HttpRequest,
    reference: str,
    run: Callable[[StaffActor, Replacement], object],
    success: str,
    *,
    back_to_queue: bool = False,
) -> HttpResponse:
    """One case action: the state the officer saw must still hold, then exactly one service."""
    staff = staff_of(request)
    replacement = _case_or_404(staff, reference)
    form = StateSeenForm(request.POST)
    seen = form.data.get("state_seen", "")
    error: ApplicationError | None = None
    if seen != replacement.state:
        message, status = _conflict_message(replacement), 409
    else:
        try:
            run(staff, replacement)
        except ApplicationError as caught:
            error = caught
        else:
            messages.success(request, success % {"reference": replacement.reference})
            if back_to_queue:
                return redirect("backoffice:print-queue")
            return redirect("backoffice:case", reference=replacement.reference)
        message, status = str(error.message), _status(error)
        replacement = _case_or_404(staff, reference)
    if back_to_queue:
        messages.error(request, message)
        return redirect("backoffice:print-queue")
    return _render_case(request, staff, replacement, error=message, status=status)


@require_POST
@work_cases
def case_check_in(request: HttpRequest, reference: str) -> HttpResponse:
    def run(staff: StaffActor, replacement: Replacement) -> object:
        appointment = case_file(staff=staff, replacement=replacement).appointment
        if appointment is None:
            raise NotFound("appointment_not_found", _("This request has no appointment to check in."))
        return casework.appointment_check_in(staff=staff, appointment_id=appointment.pk)

    return _act(request, reference, run, _("%(reference)s is checked in. Capture the biometrics next."))


@require_POST
@work_cases
def case_approve(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request,
        reference,
        lambda staff, r: casework.replacement_approve(staff=staff, replacement_id=r.pk),
        _("%(reference)s is approved and the new document is issued. It is in the print queue."),
    )


@require_POST
@work_cases
def case_mark_printed(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request,
        reference,
        lambda staff, r: casework.replacement_mark_printed(staff=staff, replacement_id=r.pk),
        _("The new document of %(reference)s is marked printed."),
        back_to_queue=request.POST.get("back") == "print-queue",
    )


@require_POST
@work_cases
def case_mark_ready(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request,
        reference,
        lambda staff, r: casework.replacement_mark_ready(staff=staff, replacement_id=r.pk),
        _("%(reference)s is ready for collection. The applicant has been sent a handover code."),
    )


# --- Reject ----------------------------------------------------------------------------------------


def _form_step(
    request: HttpRequest,
    replacement: Replacement,
    form: StateSeenForm,
    run: Callable[[dict[str, Any]], object],
    success: str,
    *,
    error_field: Callable[[ApplicationError], str | None] | None = None,
) -> tuple[HttpResponse | None, int]:
    """A case action behind a form page (reject, biometrics, handover): a valid form, the state
    the officer saw still holds, then exactly one service. Returns the redirect to the case page
    on success, else None and the status, with the errors on the form (never a silent overwrite)."""
    if not form.is_valid():
        return None, 400
    if form.cleaned_data.get("state_seen") != replacement.state:
        form.add_page_error(_conflict_message(replacement))
        return None, 409
    try:
        run(form.cleaned_data)
    except ApplicationError as error:
        if error_field is not None:
            error.field = error_field(error)
        form.add_application_error(error)
        return None, _status(error)
    messages.success(request, success % {"reference": replacement.reference})
    return redirect("backoffice:case", reference=replacement.reference), 200


def _reasons() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in REJECTION_REASONS]


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@work_cases
def case_reject(request: HttpRequest, reference: str) -> HttpResponse:
    """The confirmation page with a required reason (docs/ui.md §6: never a one-click reject)."""
    staff = staff_of(request)
    replacement = _case_or_404(staff, reference)
    if replacement.state not in REJECTABLE_STATES:
        messages.error(request, _conflict_message(replacement))
        return redirect("backoffice:case", reference=replacement.reference)
    status = 200
    if request.method == "POST":
        form = RejectForm(request.POST, reasons=_reasons())
        done, status = _form_step(
            request,
            replacement,
            form,
            lambda data: casework.replacement_reject(
                staff=staff,
                replacement_id=replacement.pk,
                reason_code=data["reason"],
                note=data.get("note") or "",
            ),
            _("%(reference)s is rejected. The applicant has been told why."),
            error_field=lambda error: "reason" if error.field == "reason_code" else error.field,
        )
        if done is not None:
            return done
    else:
        form = RejectForm(initial={"state_seen": replacement.state}, reasons=_reasons())
    return staff_page(
        request, "backoffice/reject.html", {"form": form, "replacement": replacement}, status=status
    )


# --- Biometrics ------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@work_cases
# The only page that may use the camera (Permissions-Policy: camera=(self)); every other denies it.
@allow_features("camera")
def case_biometrics(request: HttpRequest, reference: str) -> HttpResponse:
    """Photo by the browser's camera (or a file), fingerprints by the scanner (called here)."""
    staff = staff_of(request)
    replacement = _case_or_404(staff, reference)
    demo = bool(getattr(settings, "DEMO", False))
    status = 200
    if request.method == "POST":
        form = BiometricsForm(request.POST, request.FILES)

        def capture(data: dict[str, Any]) -> object:
            photo = data["photo"].read(MAX_PHOTO_UPLOAD + 1)
            # The person at the counter: the service files the capture under the applicant.
            person_id = replacement.applicant_id
            hint = f"someone-else:{person_id}" if demo and data.get("other_finger") else str(person_id)
            fingerprints = fingerprint_scanner().capture(subject_hint=hint)
            return casework.replacement_biometrics_capture(
                staff=staff, replacement_id=replacement.pk, photo=photo, fingerprints=fingerprints
            )

        done, status = _form_step(
            request,
            replacement,
            form,
            capture,
            _("The biometrics of %(reference)s are captured. Check them and approve the request."),
        )
        if done is not None:
            return done
    else:
        form = BiometricsForm(initial={"state_seen": replacement.state})
    if replacement.state != S.CHECKED_IN and request.method != "POST":
        messages.warning(request, _conflict_message(replacement))
    context = {"form": form, "replacement": replacement, "demo": demo}
    return staff_page(request, "backoffice/biometrics.html", context, status=status)


# --- Print queue and the print file ----------------------------------------------------------------


@never_cache
@require_safe
@work_cases
@replica_reads
def queue(request: HttpRequest) -> HttpResponse:
    """The office's requests that have no appointment to check in, by stage (GET `stage`, so the
    URL keeps the list), and a "find a request" box (GET `reference`) that opens a case page."""
    staff = staff_of(request)
    stages = dict(QUEUE_STAGES)
    stage = request.GET.get("stage") or QUEUE_STAGES[0][0]
    status = 200
    if stage not in stages:
        stage, status = QUEUE_STAGES[0][0], 400
    find = FindRequestForm(request.GET if "reference" in request.GET else None)
    if find.is_bound:
        if find.is_valid():
            reference = find.cleaned_data["reference"]
            try:
                case_get_for_staff(staff=staff, reference=reference)
            except NotFound:
                find.add_error("reference", _("No request of your office has this reference."))
            else:
                return redirect("backoffice:case", reference=reference)
        status = 400
    counts = office_queue_counts(staff=staff)
    context = {
        "find": find,
        "form": find,
        "stage": stage,
        "stage_label": stages[stage],
        "stages": [{"code": code, "label": label, "count": counts[code]} for code, label in QUEUE_STAGES],
        "rows": [
            {"replacement": item, "tag": STATE_TAGS.get(item.state, "neutral")}
            for item in office_queue(staff=staff, stage=stage)
        ],
    }
    return staff_page(request, "backoffice/queue.html", context, status=status)


@never_cache
@require_safe
@work_cases
@replica_reads
def print_queue_page(request: HttpRequest) -> HttpResponse:
    staff = staff_of(request)
    queue = print_queue(staff=staff)
    return staff_page(request, "backoffice/print_queue.html", {"queue": queue})


@never_cache
@require_safe
@work_cases
def case_print_file(request: HttpRequest, reference: str) -> HttpResponse:
    """The card's print file (PDF): its data in both languages and calendars, photo, QR of the serial."""
    staff = staff_of(request)
    replacement = _case_or_404(staff, reference)
    document = replacement.new_document
    if document is None or replacement.state not in (S.APPROVED, S.PRINTED):
        raise Http404("no card to print")
    holder = document.holder
    person_record_view(staff=staff, replacement=replacement, part="print_file")
    photo = photo_on_file(staff=staff, replacement=replacement)
    context = {
        "replacement": replacement,
        "document": document,
        "holder": holder,
        "photo": image_data_uri(photo.content, photo.content_type) if photo else "",
        "qr": qr_data_uri(document.serial_number),
    }
    try:
        return pdf_response(
            request, "backoffice/pdf/card.html", context, filename=f"card-{document.serial_number}.pdf"
        )
    except PdfLimitReached:
        # The site's shared "too many documents" page (the back-office templates build on the portal's).
        return render(request, "portal/errors/429.html", status=429)


# --- Handover --------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@work_cases
def case_handover(request: HttpRequest, reference: str) -> HttpResponse:
    """The holder (or a delegate, with their ID number) gives the code → collected."""
    staff = staff_of(request)
    replacement = _case_or_404(staff, reference)
    status = 200
    if request.method == "POST":
        form = HandoverForm(request.POST)

        def code_field(error: ApplicationError) -> str | None:
            if error.field in form.fields:
                return error.field
            return "code" if error.code.startswith("handover_code") else None

        done, status = _form_step(
            request,
            replacement,
            form,
            lambda data: casework.replacement_hand_over(
                staff=staff,
                replacement_id=replacement.pk,
                code=data["code"],
                delegate_id_number=data.get("delegate_id_number") or "",
            ),
            _("%(reference)s is collected. The applicant has been told."),
            error_field=code_field,
        )
        if done is not None:
            return done
    else:
        form = HandoverForm(initial={"state_seen": replacement.state})
    if replacement.state != S.READY_FOR_COLLECTION and request.method != "POST":
        messages.warning(request, _conflict_message(replacement))
    context = {"form": form, "replacement": replacement}
    return staff_page(request, "backoffice/handover.html", context, status=status)


@require_POST
@work_cases
def case_handover_resend(request: HttpRequest, reference: str) -> HttpResponse:
    staff = staff_of(request)
    replacement = _case_or_404(staff, reference)
    try:
        casework.replacement_handover_code_resend(staff=staff, replacement_id=replacement.pk)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request, _("A new handover code has been sent. Codes sent before it no longer work.")
        )
    return redirect("backoffice:case-handover", reference=replacement.reference)
