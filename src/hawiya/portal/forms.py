"""What every portal form shares (UI.md §2: server-side validation only, GOV.UK error pattern)."""

from __future__ import annotations

from typing import Any

from django import forms

from hawiya.core.errors import ApplicationError


class PortalForm(forms.Form):
    """Base form: no `required` attributes (the server validates and the error summary explains),
    and service errors placed on the field they concern."""

    use_required_attribute = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def add_application_error(self, error: ApplicationError) -> None:
        """Show a service's refusal beside its field, or at the top when it concerns the form."""
        field = error.field if error.field in self.fields else None
        self.add_error(field, str(error.message))

    def first_error_field_id(self) -> str:
        """The id the error summary's first link points at."""
        for name in self.errors:
            if name in self.fields:
                return str(self[name].auto_id)
        return ""
