"""The questions of "Report a lost document", one form per page (docs/ui.md §2).

The forms check what a person can fix on the page they are on; `losses.services` checks every
rule again when the report is filed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any, cast

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.calendars import format_dual
from hawiya.core.digits import normalise_number
from hawiya.core.forms import HawiyaForm
from hawiya.losses.models import LossPlace
from hawiya.losses.services import CIRCUMSTANCES_MAX, CIRCUMSTANCES_MIN, PLACE_MAX

_DIGITS = re.compile(r"[0-9]{1,4}")
YEARS = (1900, 2100)


def _number_input(size: str) -> forms.TextInput:
    # Digits, typed in any script (Eastern digits are normalised); never type=number (docs/ui.md §3).
    return forms.TextInput(
        attrs={"class": "hw-input", "inputmode": "numeric", "size": size, "dir": "ltr", "spellcheck": "false"}
    )


class DocumentsForm(HawiyaForm):
    """Which documents did you lose? (checkboxes; the choices are what the person may report)"""

    documents = forms.TypedMultipleChoiceField(
        label=_("Which documents did you lose?"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Select the documents you lost."),
            "invalid_choice": _("Select the documents you lost from the list."),
        },
    )

    def __init__(self, *args: Any, document_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedMultipleChoiceField, self.fields["documents"])
        field.choices = [(str(pk), str(pk)) for pk in document_ids]


class WhenForm(HawiyaForm):
    """The date of loss: day, month and year in one fieldset, or month and year when the day is
    not known. Errors go on the day field, the first of the group."""

    day = forms.CharField(label=_("Day"), required=False, max_length=10, widget=_number_input("2"))
    month = forms.CharField(label=_("Month"), required=False, max_length=10, widget=_number_input("2"))
    year = forms.CharField(label=_("Year"), required=False, max_length=10, widget=_number_input("4"))
    approximate = forms.BooleanField(
        label=_("I don't know the exact day"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
    )

    def __init__(self, *args: Any, earliest: dt.date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.earliest = earliest

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = [normalise_number(str(data.get(name) or "")) for name in ("day", "month", "year")]
        day, month, year = raw
        approximate = bool(data.get("approximate"))
        if not any(raw):
            self.add_error("day", _("Enter the date you lost it."))
            return data
        if not (month and year) or not (day or approximate):
            self.add_error(
                "day",
                _("The date must include a month and a year.")
                if approximate
                else _(
                    "The date must include a day, a month and a year. "
                    "If you don't know the day, tick the box."
                ),
            )
            return data
        if not all(_DIGITS.fullmatch(part) for part in raw if part):
            self.add_error("day", _("The date must be a real date, written in numbers."))
            return data
        if not YEARS[0] <= int(year) <= YEARS[1]:
            self.add_error("day", _("Enter the year in full, like 2026."))
            return data
        today = clock.today()
        try:
            if day:
                value = dt.date(int(year), int(month), int(day))
            else:
                # Only the month is known: take its last day (or today in the current month), so
                # a guess never makes the report look late.
                last = calendar.monthrange(int(year), int(month))[1]
                value = min(dt.date(int(year), int(month), last), today)
                if value.month != int(month) or value.year != int(year):
                    value = dt.date(int(year), int(month), 1)
        except ValueError:
            self.add_error("day", _("The date must be a real date."))
            return data
        if value > today:
            self.add_error("day", _("The date you lost it must be today or in the past."))
            return data
        if self.earliest is not None and value < self.earliest:
            self.add_error(
                "day",
                gettext("The date you lost it cannot be before the document was issued, on %(date)s.")
                % {"date": format_dual(self.earliest)},
            )
            return data
        data["lost_on"] = value
        return data


class WhereForm(HawiyaForm):
    place = forms.ChoiceField(
        label=_("Where did you lose it?"),
        choices=LossPlace.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Select whether you lost it in Saudi Arabia or in another country."),
            "invalid_choice": _("Select whether you lost it in Saudi Arabia or in another country."),
        },
    )
    city = forms.CharField(
        label=_("City"),
        required=False,
        max_length=PLACE_MAX,
        widget=forms.TextInput(attrs={"class": "hw-input", "autocomplete": "address-level2"}),
        error_messages={"max_length": _("The city must be %(limit_value)d characters or fewer.")},
    )
    country = forms.CharField(
        label=_("Country"),
        required=False,
        max_length=PLACE_MAX,
        widget=forms.TextInput(attrs={"class": "hw-input", "autocomplete": "country-name"}),
        error_messages={"max_length": _("The country must be %(limit_value)d characters or fewer.")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        place = data.get("place")
        if (
            place == LossPlace.IN_KINGDOM
            and not (data.get("city") or "").strip()
            and "city" not in self.errors
        ):
            self.add_error("city", _("Enter the city where you lost it."))
        if (
            place == LossPlace.ABROAD
            and not (data.get("country") or "").strip()
            and "country" not in self.errors
        ):
            self.add_error("country", _("Enter the country where you lost it."))
        return data


class WhatForm(HawiyaForm):
    circumstances = forms.CharField(
        label=_("How did you lose it?"),
        min_length=CIRCUMSTANCES_MIN,
        max_length=CIRCUMSTANCES_MAX,
        widget=forms.Textarea(attrs={"class": "hw-input hw-textarea", "rows": "5"}),
        error_messages={
            "required": _("Describe how you lost it."),
            "min_length": _("Describe how you lost it in at least %(limit_value)d characters."),
            "max_length": _("The description must be %(limit_value)d characters or fewer."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Formatted here, in the language of the request (a lazy string formatted at import
        # time would be frozen in the default language).
        self.fields["circumstances"].help_text = gettext(
            "Say briefly what happened, for example where you last had it and whether it was stolen. "
            "Use at least %(min)d and at most %(max)d characters."
        ) % {"min": CIRCUMSTANCES_MIN, "max": CIRCUMSTANCES_MAX}


class DeclarationForm(HawiyaForm):
    declaration = forms.BooleanField(
        label=_(
            "I declare that what I have said is true, that I have looked after my national documents "
            "as the Civil Affairs law requires, and that I understand a document reported lost is "
            "cancelled for good, even if it is found."
        ),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
    )

    def clean_declaration(self) -> bool:
        if not self.cleaned_data.get("declaration"):
            raise forms.ValidationError(_("To register the loss, accept the declaration."))
        return True


class ConfirmForm(HawiyaForm):
    """ "Yes, register the loss": the journey's idempotency key travels in a hidden field."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
