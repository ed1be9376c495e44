"""Forms of the appointment pages: the slot choice and the booking confirmation (UI.md §2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import PortalForm


def parse_slot(value: str) -> dt.datetime | None:
    """A slot value ("2030-03-05T10:00+03:00") as an aware datetime, or None if malformed."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class SlotChoiceForm(PortalForm):
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


class BookingConfirmForm(PortalForm):
    """The check-answers page: what was chosen, carried in hidden fields, and the idempotency key."""

    office = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    slot = forms.CharField(widget=forms.HiddenInput, max_length=40)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def clean_slot(self) -> dt.datetime:
        parsed = parse_slot(str(self.cleaned_data.get("slot") or ""))
        if parsed is None:
            raise forms.ValidationError(_("Choose a time from the list."))
        return parsed
