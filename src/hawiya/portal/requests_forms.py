"""Forms of the replacement-request journey and of cancelling a request (docs/ui.md §2)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hawiya.core.forms import HawiyaForm
from hawiya.replacements.models import ReceiveMethod

CANCEL_REASONS = (
    ("found_document", _("I found my document")),
    ("applied_by_mistake", _("I applied by mistake")),
    ("apply_at_office", _("I will apply at a civil-affairs office")),
    ("other", _("Another reason")),
)


class DocumentChoiceForm(HawiyaForm):
    """Which lost document to replace (a radio per document the person may replace)."""

    document = forms.TypedChoiceField(
        label=_("Which document do you want to replace?"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the document you want to replace."),
            "invalid_choice": _("Choose the document you want to replace."),
        },
    )

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["document"]
        if isinstance(field, forms.TypedChoiceField):
            field.choices = choices


class ContactConfirmForm(HawiyaForm):
    """The person confirms the National Address and mobile number the register holds."""

    address_confirmed = forms.BooleanField(
        label=_("This is my current National Address"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
    )
    mobile_confirmed = forms.BooleanField(
        label=_("This is my mobile number and I can receive text messages on it"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
    )

    def __init__(self, *args: Any, has_address: bool, has_mobile: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not has_address:
            del self.fields["address_confirmed"]
        if not has_mobile:
            del self.fields["mobile_confirmed"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "address_confirmed" in self.fields and not data.get("address_confirmed"):
            self.add_error(
                "address_confirmed",
                _("Confirm your National Address, or correct it with Saudi Post before you continue."),
            )
        if "mobile_confirmed" in self.fields and not data.get("mobile_confirmed"):
            self.add_error(
                "mobile_confirmed", _("Confirm your mobile number, or change it before you continue.")
            )
        return data


class MethodForm(HawiyaForm):
    """How the new document reaches the person: collection, or delivery when it is allowed."""

    method = forms.ChoiceField(
        label=_("How do you want to receive the new document?"),
        choices=ReceiveMethod.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose how you want to receive the new document."),
            "invalid_choice": _("Choose how you want to receive the new document."),
        },
    )

    def __init__(self, *args: Any, delivery_reason: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivery_reason = delivery_reason

    def clean_method(self) -> str:
        method = str(self.cleaned_data.get("method", ""))
        if method == ReceiveMethod.DELIVERY and self.delivery_reason:
            raise forms.ValidationError(self.delivery_reason)
        return method


class PhotoForm(HawiyaForm):
    """A recent photo for a delivered document, and the white-background declaration."""

    photo = forms.FileField(
        label=_("Upload your photo"),
        help_text=_("A JPEG or PNG file, up to 5 MB, at least 600 × 800 pixels, upright (portrait)."),
        required=False,
        widget=forms.ClearableFileInput(attrs={"class": "hw-file-upload", "accept": "image/jpeg,image/png"}),
    )
    white_background_declared = forms.BooleanField(
        label=_("The photo has a plain white background and was taken in the last 6 months"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
    )

    def __init__(self, *args: Any, has_photo: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_photo = has_photo

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("photo") and not self.has_photo:
            self.add_error("photo", _("Upload a photo of yourself."))
        if not data.get("white_background_declared"):
            self.add_error(
                "white_background_declared", _("Confirm that the photo has a plain white background.")
            )
        return data


class SubmitForm(HawiyaForm):
    """Check your answers: the button sends the request (the idempotency key rides in the session)."""


class CancelForm(HawiyaForm):
    reason = forms.ChoiceField(
        label=_("Why are you cancelling the request?"),
        choices=[("", _("Choose a reason")), *CANCEL_REASONS],
        widget=forms.Select(attrs={"class": "hw-select"}),
        error_messages={
            "required": _("Choose why you are cancelling the request."),
            "invalid_choice": _("Choose why you are cancelling the request."),
        },
    )
