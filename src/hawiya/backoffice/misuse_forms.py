"""The form of the misuse-report pages: the officer's note when closing a case."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from hawiya.document_checks.services import MISUSE_NOTE_MAX


class MisuseCloseForm(forms.Form):
    note = forms.CharField(
        label=_("What was found and done"),
        help_text=_("Kept with the case. At most 2000 characters."),
        max_length=MISUSE_NOTE_MAX,
        widget=forms.Textarea(attrs={"class": "hw-textarea", "rows": "5"}),
        error_messages={
            "required": _("Write what was found and done."),
            "max_length": _("Write at most 2000 characters."),
        },
    )
