"""The demo courier (demo mode only; 404 otherwise): any signed-in staff member plays the courier
company and records what the courier's system would send to the courier API.

It calls the same delivery service as the API (`shipment_event_apply`), never the HTTP API
itself, so every rule (order of updates, handover code, two failed attempts) is the API's. Each
form carries a fresh event id, so a double submit is a resend: the first answer again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from hawiya.core import clock
from hawiya.core.digits import normalise_number
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.forms import HawiyaForm
from hawiya.delivery.errors import SHIPMENT_EVENT_CONFLICT, ShipmentConflict
from hawiya.delivery.models import FailureReason, ShipmentEventKind, ShipmentState
from hawiya.delivery.selectors import CourierShipment, shipment_for_courier, shipments_for_courier
from hawiya.delivery.services import shipment_event_apply
from hawiya.replacements.handover import HandoverCodeRejected

from .decorators import staff_of, staff_page, staff_required

View = Callable[..., HttpResponse]
LIST = "backoffice:courier"
_EVENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_SIX_DIGITS = re.compile(r"[0-9]{6}")

# The shipment's state as a word-bearing tag (docs/ui.md §6 families).
SHIPMENT_TAGS: dict[str, str] = {
    ShipmentState.AWAITING_PICKUP: "warning",
    ShipmentState.PICKED_UP: "info",
    ShipmentState.OUT_FOR_DELIVERY: "info",
    ShipmentState.FAILED_ATTEMPT: "error",
    ShipmentState.DELIVERED: "plain",
    ShipmentState.RETURNED: "neutral",
}


def demo_only(view: View) -> View:
    """404 unless settings.DEMO at request time: outside demo mode the page does not exist."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(settings, "DEMO", False):
            raise Http404("not in demo mode")
        return view(request, *args, **kwargs)

    return guarded


# --- Forms -----------------------------------------------------------------------------------------


class EventForm(HawiyaForm):
    """The event id the page drew: the same id again is a resend of the same update."""

    event_id = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not _EVENT_ID.fullmatch(str(cleaned.get("event_id") or "")):
            # A hidden field: the error belongs to the whole form, not to a field nobody sees.
            cleaned.pop("event_id", None)
            self.add_error(None, gettext_lazy("This form has expired. Reload the page and try again."))
        return cleaned


class DeliveredForm(EventForm):
    handover_code = forms.CharField(
        label=gettext_lazy("Handover code"),
        help_text=gettext_lazy("The 6-digit code the holder reads to you from their text message."),
        max_length=32,
        required=False,
        widget=forms.TextInput(
            attrs={
                "class": "hw-input",
                "size": "10",
                "inputmode": "numeric",
                "autocomplete": "off",
                "dir": "ltr",
                "spellcheck": "false",
            }
        ),
    )

    def clean_handover_code(self) -> str:
        value = (
            normalise_number(self.cleaned_data.get("handover_code") or "").replace(" ", "").replace("-", "")
        )
        if not value:
            raise forms.ValidationError(
                gettext_lazy("Enter the 6-digit handover code the holder reads to you.")
            )
        if not _SIX_DIGITS.fullmatch(value):
            raise forms.ValidationError(gettext_lazy("The handover code is 6 digits."))
        return value


class FailedForm(EventForm):
    reason = forms.ChoiceField(
        label=gettext_lazy("Why could it not be delivered?"),
        choices=FailureReason.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    reason_text = forms.CharField(
        label=gettext_lazy("More detail (optional)"),
        help_text=gettext_lazy("At most 200 characters. Do not write the holder's personal details."),
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"class": "hw-textarea", "rows": "3"}),
        error_messages={"max_length": gettext_lazy("Write at most 200 characters.")},
    )

    def clean_reason(self) -> str:
        value = str(self.cleaned_data.get("reason") or "")
        if value not in FailureReason.values:
            raise forms.ValidationError(gettext_lazy("Choose why the document could not be delivered."))
        return value


# --- Pages -----------------------------------------------------------------------------------------


def _shipment(reference: str) -> CourierShipment:
    try:
        return shipment_for_courier(reference=reference)
    except NotFound as error:
        raise Http404("no such shipment") from error


def _apply(request: HttpRequest, shipment: CourierShipment, kind: ShipmentEventKind, **fields: str) -> None:
    """Record one update as the courier, through the API's service. Raises ApplicationError.

    The event id comes from the form the page drew, so the same id again is the same form sent
    twice (a double click, or Back and send): the update is already recorded, whatever time or
    answers the second send carries, and the page says so instead of an error.
    """
    staff = staff_of(request)
    event_id = fields.pop("event_id")
    try:
        shipment_event_apply(
            reference=shipment.reference,
            event_id=event_id,
            kind=kind,
            at=clock.now(),
            **fields,
            actor=staff.actor,
        )
    except ShipmentConflict as error:
        if error.code != SHIPMENT_EVENT_CONFLICT:
            raise


def _done(request: HttpRequest, reference: str, kind: ShipmentEventKind) -> HttpResponse:
    after = _shipment(reference)
    messages.success(
        request,
        _("Shipment %(reference)s: “%(update)s” recorded. It is now “%(state)s”.")
        % {"reference": reference, "update": kind.label, "state": after.state_label},
    )
    return redirect(LIST)


@demo_only
@staff_required()
@require_safe
def courier_list(request: HttpRequest) -> HttpResponse:
    """The shipments still to act on, each with the next step the courier can record."""
    shipments = shipments_for_courier()
    rows = [
        {"shipment": shipment, "tag": SHIPMENT_TAGS.get(shipment.state, "info"), "event_id": uuid.uuid4().hex}
        for shipment in shipments
    ]
    return staff_page(request, "backoffice/courier/list.html", {"rows": rows})


@demo_only
@staff_required()
@require_POST
def courier_step(request: HttpRequest, reference: str, kind: str) -> HttpResponse:
    """Picked up / out for delivery: one button, no questions."""
    step = ShipmentEventKind(kind)
    shipment = _shipment(reference)
    form = EventForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This form has expired. Reload the page and try again."))
        return redirect(LIST)
    try:
        _apply(request, shipment, step, event_id=form.cleaned_data["event_id"])
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect(LIST)
    return _done(request, reference, step)


@demo_only
@staff_required()
@require_http_methods(["GET", "HEAD", "POST"])
def courier_delivered(request: HttpRequest, reference: str) -> HttpResponse:
    """Delivered: only with the handover code the holder reads at the door."""
    shipment = _shipment(reference)
    if request.method == "POST":
        form = DeliveredForm(request.POST)
        if form.is_valid():
            try:
                _apply(
                    request,
                    shipment,
                    ShipmentEventKind.DELIVERED,
                    event_id=form.cleaned_data["event_id"],
                    handover_code=form.cleaned_data["handover_code"],
                )
            except HandoverCodeRejected as error:
                form.add_error("handover_code", str(error.message))
            except ApplicationError as error:
                messages.error(request, str(error.message))
                return redirect(LIST)
            else:
                return _done(request, reference, ShipmentEventKind.DELIVERED)
        status = 400
    else:
        form = DeliveredForm(initial={"event_id": uuid.uuid4().hex})
        status = 200
    return staff_page(
        request, "backoffice/courier/delivered.html", {"shipment": shipment, "form": form}, status=status
    )


@demo_only
@staff_required()
@require_http_methods(["GET", "HEAD", "POST"])
def courier_failed(request: HttpRequest, reference: str) -> HttpResponse:
    """A failed attempt, with the reason from the list (the second one returns the card)."""
    shipment = _shipment(reference)
    if request.method == "POST":
        form = FailedForm(request.POST)
        if form.is_valid():
            try:
                _apply(
                    request,
                    shipment,
                    ShipmentEventKind.FAILED_ATTEMPT,
                    event_id=form.cleaned_data["event_id"],
                    reason=form.cleaned_data["reason"],
                    reason_text=form.cleaned_data["reason_text"],
                )
            except ApplicationError as error:
                messages.error(request, str(error.message))
                return redirect(LIST)
            return _done(request, reference, ShipmentEventKind.FAILED_ATTEMPT)
        status = 400
    else:
        form = FailedForm(initial={"event_id": uuid.uuid4().hex})
        status = 200
    return staff_page(
        request, "backoffice/courier/failed.html", {"shipment": shipment, "form": form}, status=status
    )
