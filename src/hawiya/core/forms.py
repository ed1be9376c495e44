"""The one form base of both interfaces, the citizen portal and the back-office (docs/ui.md §2:
server-side validation only, the GOV.UK error pattern).

- No `required` attributes: the server validates and the error summary explains.
- Widgets carry the design system's classes whichever way a field was declared: every textarea
  is full width (`hw-input hw-textarea`, so it never overflows a 360-px phone), every text-like
  input without a class of its own `hw-input`, every select without one `hw-select`. Django adds
  `aria-describedby` (hint, error) and `aria-invalid`, which the field include's ids follow.
- Every text field's submitted value loses bidi override and isolate controls before validation
  (core/bidi.py), so neither the database nor a redisplayed form holds them.
- Service refusals (`ApplicationError`) are placed on the field they concern.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import ErrorDict
from django.forms.widgets import Input

from .bidi import strip_bidi_controls
from .errors import ApplicationError

# Identifiers, phones and codes (docs/ui.md §3, §5): left to right, never spell-checked or capitalised.
LTR_ATTRS = {"dir": "ltr", "spellcheck": "false", "autocapitalize": "none", "autocorrect": "off"}
_TEXT_INPUT_TYPES = {"text", "password", "email", "url", "tel", "number", "search", "date", "time"}


def text_input(**attrs: str) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "hw-input", **attrs})


def name_field(
    language: str, *, label: Any, required: Any, too_long: Any, max_length: int = 120
) -> forms.CharField:
    """A name typed in one language ("ar" or "en"): the field carries the language and its direction,
    so an Arabic name is typed right to left even on the English page."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        widget=text_input(lang=language, dir="rtl" if language == "ar" else "ltr", autocomplete="off"),
        error_messages={"required": required, "max_length": too_long},
    )


def _add_classes(widget: forms.Widget, *names: str) -> None:
    classes = str(widget.attrs.get("class", "")).split()
    widget.attrs["class"] = " ".join(classes + [name for name in names if name not in classes])


def style_widget(widget: forms.Widget) -> None:
    """The design system's classes on one widget (see the module's docstring)."""
    if isinstance(widget, forms.Textarea):
        _add_classes(widget, "hw-input", "hw-textarea")
    elif widget.attrs.get("class"):
        return
    elif isinstance(widget, forms.Select):
        _add_classes(widget, "hw-select")
    elif isinstance(widget, Input) and getattr(widget, "input_type", "") in _TEXT_INPUT_TYPES:
        _add_classes(widget, "hw-input")


class HawiyaForm(forms.Form):
    """Base form of every page form (portal and back-office)."""

    use_required_attribute = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            style_widget(field.widget)
        if self.is_bound:
            self.data = self._without_bidi_controls(self.data)

    def _without_bidi_controls(self, data: Any) -> Any:
        """A copy of the submitted data whose text fields hold no bidi controls."""
        # Passwords are left as typed: every character may be part of one (NIST SP 800-63B), and
        # stripping would silently turn an existing password into another.
        keys = [
            self.add_prefix(name)
            for name, field in self.fields.items()
            if isinstance(field, forms.CharField) and not isinstance(field.widget, forms.PasswordInput)
        ]
        cleaned = data.copy()
        for key in keys:
            if key not in cleaned:
                continue
            if hasattr(cleaned, "setlist"):
                cleaned.setlist(key, [_strip(value) for value in cleaned.getlist(key)])
            else:
                value = cleaned[key]
                cleaned[key] = (
                    [_strip(item) for item in value] if isinstance(value, list | tuple) else _strip(value)
                )
        return cleaned

    def add_application_error(self, error: ApplicationError) -> None:
        """Show a service's refusal beside its field, or at the top when it concerns the form."""
        field = error.field if error.field in self.fields else None
        self.add_error(field, str(error.message))

    def add_page_error(self, message: object) -> None:
        """A form-wide error on a form that may not be bound (a refused "send a new code")."""
        if getattr(self, "_errors", None) is None:
            self._errors: ErrorDict | None = ErrorDict(renderer=self.renderer)
        if not hasattr(self, "cleaned_data"):
            self.cleaned_data = {}
        self.add_error(None, str(message))

    def first_error_field_id(self) -> str:
        """The id the error summary's first link points at."""
        for name in self.errors:
            if name in self.fields:
                return str(self[name].auto_id)
        return ""


def _strip(value: object) -> object:
    return strip_bidi_controls(value) if isinstance(value, str) else value
