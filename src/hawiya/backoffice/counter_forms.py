"""Counter forms: find a person by ID number, re-bind a mobile number, start an activation.
The fingerprints are captured by the view from the scanner when the form is sent; in demo mode
a checkbox puts "another person's finger" on the demo scanner."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hawiya.core.forms import LTR_ATTRS, HawiyaForm


class FindPersonForm(HawiyaForm):
    id_number = forms.CharField(
        label=_("ID number"),
        help_text=_("National ID or residence number of the person at the counter, as on their card."),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "class": "hw-input hw-input--width-10",
                "inputmode": "numeric",
                "autocomplete": "off",
                **LTR_ATTRS,
            }
        ),
        error_messages={"required": _("Enter the person's ID number.")},
    )


class _FingerprintForm(HawiyaForm):
    def __init__(self, *args: Any, demo: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if demo:
            self.fields["other_finger"] = forms.BooleanField(
                label=_("Demo: simulate another person's finger on the scanner"),
                required=False,
                widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
            )


class RebindMobileForm(_FingerprintForm):
    new_mobile = forms.CharField(
        label=_("New mobile number"),
        help_text=_("A Saudi mobile number the person has with them now, like 05X XXX XXXX."),
        max_length=32,
        widget=forms.TextInput(
            attrs={"class": "hw-input hw-input--width-20", "type": "tel", "autocomplete": "off", **LTR_ATTRS}
        ),
        error_messages={"required": _("Enter the new mobile number.")},
    )
    identity_seen = forms.BooleanField(
        label=_("I have seen the person's identity card or passport and it is theirs"),
        widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
        error_messages={"required": _("Confirm that you have seen the person's identity document.")},
    )


class StartActivationForm(_FingerprintForm):
    identity_seen = forms.BooleanField(
        label=_("I have seen the person's identity card or passport and it is theirs"),
        widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
        error_messages={"required": _("Confirm that you have seen the person's identity document.")},
    )
