"""Back-office forms: server-side validation only, the GOV.UK error pattern (docs/ui.md §2), the same
input attributes as the portal (identifiers, codes LTR and never spell-checked)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hawiya.core.digits import normalise_number
from hawiya.core.forms import LTR_ATTRS, HawiyaForm, text_input

_SIX_DIGITS = re.compile(r"[0-9]{6}")
_ID_NUMBER = re.compile(r"[12][0-9]{9}")


class StaffSignInForm(HawiyaForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=64,
        widget=text_input(autocomplete="username", **LTR_ATTRS),
        error_messages={"required": _("Enter your username.")},
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(
            attrs={"class": "hw-input", "autocomplete": "current-password", "dir": "ltr"}
        ),
        error_messages={"required": _("Enter your password.")},
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)


class StaffCodeForm(HawiyaForm):
    code = forms.CharField(
        label=_("Enter the 6-digit code from your authenticator app"),
        max_length=64,
        widget=text_input(inputmode="numeric", autocomplete="one-time-code", size="10", **LTR_ATTRS),
        error_messages={"required": _("Enter the 6-digit code.")},
    )


# The days the day page can show: far outside them a day's bounds in Riyadh time overflow.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)


class DayForm(HawiyaForm):
    """The day shown on "My day" (GET: the URL holds it)."""

    date = forms.DateField(
        label=_("Day"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"class": "hw-input", "type": "date", "dir": "ltr"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a real date, like 2026-11-23.")},
    )

    def clean_date(self) -> dt.date | None:
        day: dt.date | None = self.cleaned_data.get("date")
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            # Near the ends of the calendar a day's bounds in Riyadh time overflow.
            raise forms.ValidationError(_("Enter a real date, like 2026-11-23."), code="invalid")
        return day


class CheckInForm(HawiyaForm):
    query = forms.CharField(
        label=_("Check in a visitor"),
        help_text=_("Appointment or request reference, scan the ticket's QR code, or the ID number."),
        max_length=64,
        widget=text_input(autocomplete="off", enterkeyhint="go", **LTR_ATTRS),
        error_messages={"required": _("Enter a reference or an ID number, or scan the ticket.")},
    )
    date = forms.CharField(required=False, widget=forms.HiddenInput, max_length=10)


class StateSeenForm(HawiyaForm):
    """Every case action carries the state the officer saw: a request that moved since the page
    loaded is refused, never overwritten silently (docs/ui.md §6)."""

    state_seen = forms.CharField(widget=forms.HiddenInput, max_length=24, required=False)


class RejectForm(StateSeenForm):
    reason = forms.ChoiceField(
        label=_("Reason"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the reason for rejecting the request."),
            "invalid_choice": _("Choose the reason for rejecting the request."),
        },
    )
    note = forms.CharField(
        label=_("What the applicant should know or do"),
        help_text=_("Required when the reason is “Other”. At most 500 characters."),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"class": "hw-textarea", "rows": "4"}),
        error_messages={"max_length": _("Write at most 500 characters.")},
    )

    def __init__(self, *args: Any, reasons: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reason"]
        if isinstance(field, forms.ChoiceField):
            field.choices = reasons

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reason") == "other" and not (data.get("note") or "").strip():
            self.add_error("note", _("Explain the reason, as “Other” was chosen."))
        return data


class BiometricsForm(StateSeenForm):
    photo = forms.FileField(
        label=_("Photo"),
        help_text=_("Take the photo with the camera, or choose a JPEG or PNG file (at most 5 MB)."),
        required=False,
        widget=forms.ClearableFileInput(attrs={"class": "hw-file-upload", "accept": "image/jpeg,image/png"}),
    )
    other_finger = forms.BooleanField(
        label=_("Demo: simulate another person's finger on the scanner"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "hw-checkbox"}),
    )

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if not photo:
            raise forms.ValidationError(_("Take a photo of the applicant, or choose a photo file."))
        return photo


class HandoverForm(StateSeenForm):
    code = forms.CharField(
        label=_("Handover code"),
        help_text=_("The 6-digit code the holder (or their delegate) received by text message."),
        max_length=32,
        widget=text_input(inputmode="numeric", autocomplete="off", size="10", **LTR_ATTRS),
        error_messages={"required": _("Enter the 6-digit handover code.")},
    )
    delegate_id_number = forms.CharField(
        label=_("Delegate's ID number (optional)"),
        help_text=_("Only when someone else collects the document for the holder."),
        required=False,
        max_length=32,
        widget=text_input(inputmode="numeric", autocomplete="off", **LTR_ATTRS),
    )

    def clean_code(self) -> str:
        value = normalise_number(self.cleaned_data.get("code") or "").replace(" ", "").replace("-", "")
        if not _SIX_DIGITS.fullmatch(value):
            raise forms.ValidationError(_("The handover code is 6 digits."))
        return value

    def clean_delegate_id_number(self) -> str:
        value = normalise_number(self.cleaned_data.get("delegate_id_number") or "")
        value = value.replace(" ", "").replace("-", "")
        if value and not _ID_NUMBER.fullmatch(value):
            raise forms.ValidationError(_("An ID number is 10 digits starting with 1 or 2."))
        return value


def parse_day(value: str | None, *, default: dt.date) -> dt.date:
    """A YYYY-MM-DD date from a hidden field (within FIRST_DAY…LAST_DAY), else `default`."""
    try:
        day = dt.date.fromisoformat(str(value or ""))
    except ValueError:
        return default
    return day if FIRST_DAY <= day <= LAST_DAY else default


class FindRequestForm(HawiyaForm):
    """The work queue's "find a request" box: a request reference opens its case page."""

    reference = forms.CharField(
        label=_("Find a request"),
        help_text=_("The request reference, for example RP12345678."),
        max_length=32,
        widget=text_input(autocomplete="off", enterkeyhint="search", **LTR_ATTRS),
        error_messages={"required": _("Enter a request reference.")},
    )

    def clean_reference(self) -> str:
        value = normalise_number(str(self.cleaned_data["reference"])).strip().upper()
        value = value.replace(" ", "").replace("-", "")
        if not re.fullmatch(r"RP[0-9]{8}", value):
            raise forms.ValidationError(_("Enter a request reference: RP followed by 8 digits."))
        return value


# --- Staff passkeys (passkey_views.py; the portal has the same fields for citizens) ---------------

# A passkey's answer (PublicKeyCredential JSON, attestation "none") is a few kilobytes.
PASSKEY_CREDENTIAL_MAX_LENGTH = 64 * 1024


class StaffPasskeyForm(HawiyaForm):
    """A name for the passkey ("office key"), and the browser's answer passkeys.js puts in."""

    name = forms.CharField(
        label=_("Name this passkey"),
        help_text=_('For example, the device it is on: "my phone" or "work laptop".'),
        max_length=60,
        widget=text_input(autocomplete="off"),
        error_messages={
            "required": _("Enter a name for the passkey."),
            "max_length": _("The name can have up to 60 characters."),
        },
    )
    credential = forms.CharField(
        required=False, widget=forms.HiddenInput, max_length=PASSKEY_CREDENTIAL_MAX_LENGTH, strip=False
    )


class StaffPasskeyAnswerForm(HawiyaForm):
    """The browser's answer when a passkey stands in for the app's code."""

    credential = forms.CharField(required=False, max_length=PASSKEY_CREDENTIAL_MAX_LENGTH, strip=False)
