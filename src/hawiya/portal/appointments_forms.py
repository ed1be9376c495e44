"""Forms of the appointment pages: the slot choice and the booking confirmation (docs/ui.md §2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hawiya.core.clock import RIYADH
from hawiya.core.forms import HawiyaForm

# Appointments are booked a few weeks ahead: anything outside these years is not a slot, and
# keeps away the ends of the calendar, where converting to Riyadh time overflows.
SLOT_YEARS = range(2000, 2101)


def parse_slot(value: str) -> dt.datetime | None:
    """A slot value ("2030-03-05T10:00+03:00") as an aware datetime, or None if it is malformed,
    has no UTC offset or falls outside the years 2000 to 2100."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        if parsed.utcoffset() is None or parsed.year not in SLOT_YEARS:
            return None
        parsed.astimezone(RIYADH)
    except (ValueError, OverflowError):
        return None
    return parsed


class SlotChoiceForm(HawiyaForm):
    """One time from the day's grid; only times with a place left are valid answers."""

    slot = forms.CharField(
        label=_("Choose a time"),
        max_length=40,
        error_messages={"required": _("Choose a time for your appointment.")},
    )

    def __init__(self, *args: Any, free: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.free = free

    def clean_slot(self) -> dt.datetime:
        value = str(self.cleaned_data.get("slot") or "")
        parsed = parse_slot(value)
        if parsed is None:
            raise forms.ValidationError(_("Choose a time from the list."))
        if value not in self.free:
            raise forms.ValidationError(_("This time is full or no longer available. Choose another time."))
        return parsed


class BookingConfirmForm(HawiyaForm):
    """The check-answers page: what was chosen, carried in hidden fields, and the idempotency key."""

    office = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    slot = forms.CharField(widget=forms.HiddenInput, max_length=40)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def clean_slot(self) -> dt.datetime:
        parsed = parse_slot(str(self.cleaned_data.get("slot") or ""))
        if parsed is None:
            raise forms.ValidationError(_("Choose a time from the list."))
        return parsed
