"""Supervisor forms: the weekly schedule (one general block per weekday), a holiday, the office
filter of administrators. Server-side validation only; the services check the rules again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hawiya.appointments.models import Weekday
from hawiya.appointments.selectors import ScheduleRow
from hawiya.core.digits import normalise_number
from hawiya.core.forms import HawiyaForm, name_field

# The Saudi week, as the schedule table lists it.
WEEK = (
    Weekday.SUNDAY,
    Weekday.MONDAY,
    Weekday.TUESDAY,
    Weekday.WEDNESDAY,
    Weekday.THURSDAY,
    Weekday.FRIDAY,
    Weekday.SATURDAY,
)
_TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


def _time_field(label: Any) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        input_formats=_TIME_FORMATS,
        widget=forms.TimeInput(
            attrs={"class": "hw-input hw-input--width-5", "type": "time", "dir": "ltr"}, format="%H:%M"
        ),
        error_messages={"invalid": _("Enter a time like 08:00.")},
    )


class _NumberField(forms.IntegerField):
    """A whole number typed in any digits (Eastern Arabic too)."""

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = normalise_number(value)
        return super().to_python(value)


def _number_field(label: Any, minimum: int, maximum: int) -> forms.IntegerField:
    message = _("Enter a whole number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum}
    return _NumberField(
        label=label,
        required=False,
        min_value=minimum,
        max_value=maximum,
        widget=forms.TextInput(
            attrs={
                "class": "hw-input hw-input--width-3",
                "inputmode": "numeric",
                "dir": "ltr",
                "autocomplete": "off",
            }
        ),
        error_messages={"invalid": message, "min_value": message, "max_value": message},
    )


@dataclass(frozen=True)
class WeekdayFields:
    weekday: int
    label: str
    open: forms.BoundField
    opens_at: forms.BoundField
    closes_at: forms.BoundField
    slot_minutes: forms.BoundField
    capacity: forms.BoundField


class ScheduleForm(HawiyaForm):
    """One general opening block per weekday: open or closed, hours, slot length, places."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for weekday in WEEK:
            name = str(Weekday(weekday).label)
            self.fields[f"d{weekday}_open"] = forms.BooleanField(
                label=_("Open on %(day)s") % {"day": name},
                required=False,
                widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
            )
            self.fields[f"d{weekday}_opens_at"] = _time_field(_("Opens at (%(day)s)") % {"day": name})
            self.fields[f"d{weekday}_closes_at"] = _time_field(_("Closes at (%(day)s)") % {"day": name})
            self.fields[f"d{weekday}_slot_minutes"] = _number_field(
                _("Slot length in minutes (%(day)s)") % {"day": name}, 5, 240
            )
            self.fields[f"d{weekday}_capacity"] = _number_field(
                _("Places per slot (%(day)s)") % {"day": name}, 1, 100
            )

    @staticmethod
    def initial_from(rows: list[ScheduleRow]) -> dict[str, Any]:
        """The form's values from the current general blocks (the first of each weekday)."""
        initial: dict[str, Any] = {}
        for row in rows:
            if row.service_id is not None or f"d{row.weekday}_open" in initial:
                continue
            initial.update(
                {
                    f"d{row.weekday}_open": True,
                    f"d{row.weekday}_opens_at": row.opens_at,
                    f"d{row.weekday}_closes_at": row.closes_at,
                    f"d{row.weekday}_slot_minutes": row.slot_minutes,
                    f"d{row.weekday}_capacity": row.capacity,
                }
            )
        return initial

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for weekday in WEEK:
            if not cleaned.get(f"d{weekday}_open"):
                continue
            name = str(Weekday(weekday).label)
            for part, message in (
                ("opens_at", _("Enter the time the office opens on %(day)s.")),
                ("closes_at", _("Enter the time the office closes on %(day)s.")),
                ("slot_minutes", _("Enter the slot length on %(day)s.")),
                ("capacity", _("Enter the places per slot on %(day)s.")),
            ):
                key = f"d{weekday}_{part}"
                if cleaned.get(key) is None and key not in self.errors:
                    self.add_error(key, message % {"day": name})
        return cleaned

    def weekdays(self) -> list[WeekdayFields]:
        return [
            WeekdayFields(
                weekday=weekday,
                label=str(Weekday(weekday).label),
                open=self[f"d{weekday}_open"],
                opens_at=self[f"d{weekday}_opens_at"],
                closes_at=self[f"d{weekday}_closes_at"],
                slot_minutes=self[f"d{weekday}_slot_minutes"],
                capacity=self[f"d{weekday}_capacity"],
            )
            for weekday in WEEK
        ]

    def general_rows(self) -> list[ScheduleRow]:
        """The general blocks the form describes (after `is_valid()`)."""
        rows = []
        for weekday in WEEK:
            data = self.cleaned_data
            if not data.get(f"d{weekday}_open"):
                continue
            rows.append(
                ScheduleRow(
                    weekday=int(weekday),
                    opens_at=data[f"d{weekday}_opens_at"],
                    closes_at=data[f"d{weekday}_closes_at"],
                    slot_minutes=data[f"d{weekday}_slot_minutes"],
                    capacity=data[f"d{weekday}_capacity"],
                )
            )
        return rows


class HolidayForm(HawiyaForm):
    day = forms.DateField(
        label=_("Day the office is closed"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"class": "hw-input", "type": "date", "dir": "ltr"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Enter the day the office is closed."),
            "invalid": _("Enter a real date, like 2026-11-23."),
        },
    )
    name_ar = name_field(
        "ar",
        label=_("Name of the holiday in Arabic"),
        required=_("Enter the holiday's name in Arabic."),
        too_long=_("A holiday's name has at most 120 characters."),
    )
    name_en = name_field(
        "en",
        label=_("Name of the holiday in English"),
        required=_("Enter the holiday's name in English."),
        too_long=_("A holiday's name has at most 120 characters."),
    )
