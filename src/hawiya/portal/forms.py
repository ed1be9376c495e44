"""The portal's sign-in, activation and password forms (their base, shared with the back-office, is
core.forms.HawiyaForm: server-side validation only, the GOV.UK error pattern, docs/ui.md §2)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.calendars import from_hijri
from hawiya.core.digits import normalise_number
from hawiya.core.errors import ApplicationError
from hawiya.core.forms import LTR_ATTRS, HawiyaForm, text_input
from hawiya.identity.services.activation import validate_username

# --- Sign-in, activation, password reset, reauthentication ----------------------------------------
# Attributes follow docs/ui.md §3 and §5: identifiers, phones and codes are LTR, never spell-checked,
# `inputmode="numeric"` where the value is digits (never type=number), the autocomplete tokens
# password managers and SMS autofill understand. Paste is never blocked.

_DIGITS_CLEAN = re.compile(r"[0-9]+")
HIJRI, GREGORIAN = "hijri", "gregorian"
# Years the date fields accept (the register's Hijri range is 1343-1500; people alive today).
HIJRI_YEARS = (1300, 1500)
GREGORIAN_YEARS = (1880, 2100)


class PasswordForm(HawiyaForm):
    """Reauthentication: the current password only."""

    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(
            attrs={"class": "hw-input", "autocomplete": "current-password", "dir": "ltr"}
        ),
        error_messages={"required": _("Enter your password.")},
    )


class SignInForm(PasswordForm):
    """Sign-in, first step: the ID number or username, and the password."""

    login = forms.CharField(
        label=_("ID number or username"),
        help_text=_("Your national ID or Iqama number (10 digits), or the username you chose."),
        max_length=64,
        # "webauthn": the browser may offer the holder's passkeys in this field's autofill.
        widget=text_input(autocomplete="username webauthn", **LTR_ATTRS),
        error_messages={"required": _("Enter your ID number or username.")},
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)
    field_order = ("login", "password", "next")


class CodeForm(HawiyaForm):
    """One code field: six digits by SMS or from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label=_("Enter the 6-digit code"),
        max_length=64,
        widget=text_input(
            inputmode="numeric", autocomplete="one-time-code", enterkeyhint="done", size="10", **LTR_ATTRS
        ),
        error_messages={"required": _("Enter the 6-digit code.")},
    )
    method = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)

    def __init__(self, *args: Any, recovery: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if recovery:
            field = self.fields["code"]
            field.label = _("Enter a recovery code")
            field.help_text = _("A recovery code has 12 letters and digits, like abcd-efgh-2345.")
            field.error_messages["required"] = _("Enter a recovery code.")
            field.widget.attrs.pop("inputmode", None)
            field.widget.attrs["autocomplete"] = "off"
            field.widget.attrs["size"] = "16"


class DateOfBirthMixin(forms.Form):
    """Date of birth as day, month and year in a fieldset, Hijri or Gregorian (docs/ui.md §2, §3).

    Hijri days are checked against the Umm al-Qura calendar; `cleaned_data["date_of_birth"]` is the
    Gregorian date the services take. Errors go on the day field (the first of the group)."""

    dob_calendar = forms.ChoiceField(
        label=_("Calendar"),
        choices=[(HIJRI, _("Hijri")), (GREGORIAN, _("Gregorian"))],
        initial=HIJRI,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose Hijri or Gregorian."),
            "invalid_choice": _("Choose Hijri or Gregorian."),
        },
    )
    dob_day = forms.CharField(
        label=_("Day"),
        required=False,
        max_length=10,
        widget=text_input(inputmode="numeric", autocomplete="bday-day", size="2", **LTR_ATTRS),
    )
    dob_month = forms.CharField(
        label=_("Month"),
        required=False,
        max_length=10,
        widget=text_input(inputmode="numeric", autocomplete="bday-month", size="2", **LTR_ATTRS),
    )
    dob_year = forms.CharField(
        label=_("Year"),
        required=False,
        max_length=10,
        widget=text_input(inputmode="numeric", autocomplete="bday-year", size="4", **LTR_ATTRS),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        parts = [normalise_number(str(data.get(name) or "")) for name in ("dob_day", "dob_month", "dob_year")]
        calendar = data.get("dob_calendar")
        if not any(parts):
            self.add_error("dob_day", _("Enter your date of birth."))
            return data
        if not all(parts):
            self.add_error("dob_day", _("Your date of birth must include a day, a month and a year."))
            return data
        if not all(_DIGITS_CLEAN.fullmatch(part) for part in parts):
            self.add_error("dob_day", _("Your date of birth must be a real date, written in numbers."))
            return data
        day, month, year = (int(part) for part in parts)
        if calendar not in (HIJRI, GREGORIAN):
            return data
        low, high = HIJRI_YEARS if calendar == HIJRI else GREGORIAN_YEARS
        if not low <= year <= high:
            self.add_error("dob_day", _("Enter the year in full, like 1410 (Hijri) or 1990 (Gregorian)."))
            return data
        try:
            value = from_hijri(year, month, day) if calendar == HIJRI else dt.date(year, month, day)
        except (ValueError, OverflowError):
            self.add_error("dob_day", _("Your date of birth must be a real date."))
            return data
        if value > clock.today():
            self.add_error("dob_day", _("Your date of birth must be in the past."))
            return data
        data["date_of_birth"] = value
        return data


class IdNumberMixin(forms.Form):
    id_number = forms.CharField(
        label=_("National ID or Iqama number"),
        help_text=_("10 digits, starting with 1 or 2."),
        max_length=40,
        widget=text_input(inputmode="numeric", autocomplete="username", size="12", **LTR_ATTRS),
        error_messages={"required": _("Enter your national ID or Iqama number.")},
    )


class ActivationForm(IdNumberMixin, DateOfBirthMixin, HawiyaForm):
    mobile = forms.CharField(
        label=_("Mobile number"),
        help_text=_(
            "The mobile number registered with civil affairs, starting with 05. "
            "We send a code to it to check it is you."
        ),
        max_length=40,
        widget=forms.TextInput(
            attrs={"class": "hw-input", "type": "tel", "autocomplete": "tel", "size": "14", **LTR_ATTRS}
        ),
        error_messages={"required": _("Enter your mobile number.")},
    )

    field_order = ("id_number", "dob_day", "dob_month", "dob_year", "dob_calendar", "mobile")


class PasswordResetForm(IdNumberMixin, DateOfBirthMixin, HawiyaForm):
    field_order = ("id_number", "dob_day", "dob_month", "dob_year", "dob_calendar")


class NewPasswordForm(HawiyaForm):
    password = forms.CharField(
        label=_("Create a password"),
        help_text=_(
            "At least 8 characters and at most 128. Use a phrase that is easy for you to remember and "
            "hard to guess; any letters, digits, spaces and symbols are fine."
        ),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(
            attrs={"class": "hw-input", "autocomplete": "new-password", "dir": "ltr"}, render_value=False
        ),
        error_messages={"required": _("Create a password.")},
    )


class CreateAccountForm(NewPasswordForm):
    username = forms.CharField(
        label=_("Choose a username"),
        help_text=_(
            "4 to 30 characters: English letters, digits, dots, hyphens or underscores, with at least "
            "one letter. You can also sign in with your ID number."
        ),
        max_length=64,
        widget=text_input(autocomplete="username", size="20", **LTR_ATTRS),
        error_messages={"required": _("Choose a username.")},
    )
    accepted_terms = forms.BooleanField(
        label=_("I accept the terms of use"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
    )

    field_order = ("username", "password", "accepted_terms")

    def clean_username(self) -> str:
        # The service checks again; checking here shows every problem of the page at once.
        try:
            return validate_username(self.cleaned_data.get("username", ""))
        except ApplicationError as error:
            raise forms.ValidationError(str(error.message)) from error

    def clean_accepted_terms(self) -> bool:
        if not self.cleaned_data.get("accepted_terms"):
            raise forms.ValidationError(_("To activate your account, accept the terms of use."))
        return True
