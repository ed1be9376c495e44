"""Find a person: a name or an ID number; a result is opened by its register id (never the ID
number in a URL)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from hawiya.core.forms import HawiyaForm
from hawiya.registry.selectors import SEARCH_MAX_OFFSET, SEARCH_MAX_QUERY_LENGTH


class PersonSearchForm(HawiyaForm):
    query = forms.CharField(
        label=_("Name or ID number"),
        help_text=_(
            "The ID number, or parts of the name in Arabic or English, like محمد العتيبي or "
            "Mohammed Alotaibi. Spelling variants are found."
        ),
        max_length=SEARCH_MAX_QUERY_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={
            "required": _("Enter a name or an ID number."),
            "max_length": _("Enter at most %(limit_value)d characters."),
        },
    )
    offset = forms.IntegerField(
        required=False, min_value=0, max_value=SEARCH_MAX_OFFSET, widget=forms.HiddenInput
    )


class OpenPersonForm(HawiyaForm):
    person = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
