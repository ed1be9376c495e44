"""Forms of the "My account" pages: codes and passwords only (everything else is read from the register).

Fields carry their own accessibility wiring: `aria-describedby` names the hint and the error, and
`aria-invalid` is set when the field has an error, whichever way the error arrived (the form's own
validation or a service's refusal through `add_application_error`).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from hawiya.core.forms import HawiyaForm
from hawiya.identity import errors as identity_errors

# Long enough for a recovery code typed with spaces or hyphens; the services normalise the rest.
CODE_MAX_LENGTH = 40
PASSWORD_MAX_LENGTH = 128
# Room for a number typed with spaces, hyphens or a 00966 prefix; the service checks the rest.
MOBILE_MAX_LENGTH = 40


class AccountForm(HawiyaForm):
    """HawiyaForm with the hint/error ids and `aria-invalid` the field include expects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", "hw-input")
            self._describe(name)

    def _describe(self, name: str) -> None:
        bound = self[name]
        ids = []
        if self.fields[name].help_text:
            ids.append(f"{bound.auto_id}-hint")
        attrs = self.fields[name].widget.attrs
        if self._errors is not None and name in self._errors:
            ids.append(f"{bound.auto_id}-error")
            attrs["aria-invalid"] = "true"
        else:
            attrs.pop("aria-invalid", None)
        if ids:
            attrs["aria-describedby"] = " ".join(ids)
        else:
            attrs.pop("aria-describedby", None)

    def add_error(self, field: str | None, error: ValidationError | str | Any) -> None:
        super().add_error(field, error)
        for name in self.fields:
            self._describe(name)


def _code_widget(*, autocomplete: str = "one-time-code", numeric: bool = True) -> forms.TextInput:
    attrs = {
        "autocomplete": autocomplete,
        "dir": "ltr",
        "spellcheck": "false",
        "autocapitalize": "off",
        "class": "hw-input hw-account-input--code",
    }
    if numeric:
        attrs["inputmode"] = "numeric"
    return forms.TextInput(attrs=attrs)


class AuthenticatorCodeForm(AccountForm):
    """Step 3 of setting up the authenticator app: the code it shows now."""

    code = forms.CharField(
        label=_("Enter the 6-digit code from the app"),
        help_text=_("The code changes every 30 seconds. Enter the one the app shows now."),
        max_length=CODE_MAX_LENGTH,
        strip=True,
        error_messages={"required": _("Enter the 6-digit code."), "max_length": _("Enter the 6-digit code.")},
        widget=_code_widget(),
    )


class CurrentPasswordForm(AccountForm):
    """Change password, page 1: the current password."""

    password = forms.CharField(
        label=_("Current password"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        error_messages={
            "required": _("Enter your current password."),
            "max_length": _("Your current password is not right. Check it and try again."),
        },
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "spellcheck": "false"}),
    )


class ReauthenticationCodeForm(AccountForm):
    """Change password, page 2: the code (SMS, authenticator app or recovery code)."""

    code = forms.CharField(
        label=_("Enter the code"),
        max_length=CODE_MAX_LENGTH,
        strip=True,
        error_messages={"required": _("Enter the code."), "max_length": _("The code is wrong.")},
        widget=_code_widget(),
    )

    def __init__(self, *args: Any, method: str = "sms", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["code"]
        if method == "recovery":
            field.label = _("Enter one of your recovery codes")
            field.help_text = _("Each recovery code works once.")
            field.widget.attrs.pop("inputmode", None)
            field.widget.attrs["autocomplete"] = "off"
        elif method == "totp":
            field.label = _("Enter the 6-digit code from your authenticator app")
            field.help_text = _("The code changes every 30 seconds.")
        else:
            field.label = _("Enter the 6-digit code we sent by text message")
            field.help_text = _(
                "The code expires after 5 minutes. Asking for a new code cancels the old one."
            )
        self._describe("code")


class NewPasswordForm(AccountForm):
    """Change password, page 3: the new password."""

    new_password = forms.CharField(
        label=_("Create a new password"),
        help_text=_(
            "Use at least 8 characters. A phrase of a few words is easy to remember and hard to guess."
        ),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        error_messages={
            "required": _("Enter a new password."),
            "max_length": _("Your password must be 128 characters or fewer."),
        },
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "spellcheck": "false"}),
    )


class NewMobileForm(AccountForm):
    """Change mobile number, page 1: the new number, accepted as typed (05…, +966…, Eastern digits,
    spaces, hyphens); the service normalises and checks it, and the page never echoes it reformatted."""

    new_mobile = forms.CharField(
        label=_("New mobile number"),
        help_text=_("A Saudi mobile number, like 05X XXX XXXX. We send a code to it to check it is yours."),
        max_length=MOBILE_MAX_LENGTH,
        strip=True,
        error_messages={
            "required": _("Enter your new mobile number."),
            "max_length": _("Enter a Saudi mobile number, like 05X XXX XXXX."),
        },
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "autocomplete": "tel",
                "dir": "ltr",
                "spellcheck": "false",
                "autocapitalize": "off",
                "size": "14",
            }
        ),
    )


class MobileCodeForm(AccountForm):
    """Change mobile number, pages 2 and 3: the code sent to the current, then to the new number."""

    code = forms.CharField(
        label=_("Enter the 6-digit code we sent by text message"),
        help_text=_("The code expires after 5 minutes. Asking for a new code cancels the old one."),
        max_length=CODE_MAX_LENGTH,
        strip=True,
        error_messages={"required": _("Enter the code."), "max_length": _("The code is wrong.")},
        widget=_code_widget(),
    )


# A passkey's answer (PublicKeyCredential JSON, attestation "none") is a few kilobytes.
PASSKEY_CREDENTIAL_MAX_LENGTH = 64 * 1024


class PasskeyNameForm(AccountForm):
    """The name the holder gives a passkey ("my phone"), to tell their passkeys apart."""

    name = forms.CharField(
        label=_("Name this passkey"),
        help_text=_('For example, the device it is on: "my phone" or "work laptop".'),
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={
            "required": _("Enter a name for the passkey."),
            "max_length": _("The name can have up to 60 characters."),
        },
    )


class PasskeyAddForm(PasskeyNameForm):
    """The name, and the browser's answer that passkeys.js puts in the hidden field."""

    credential = forms.CharField(
        required=False,
        widget=forms.HiddenInput,
        max_length=PASSKEY_CREDENTIAL_MAX_LENGTH,
        strip=False,
        # Lazy: translated when shown.
        error_messages={"max_length": cast(str, identity_errors.MESSAGES[identity_errors.PASSKEY_INVALID])},
    )


class PasskeyAssertionForm(HawiyaForm):
    """Signing in, or confirming it is you, with a passkey: the browser's answer only."""

    credential = forms.CharField(required=False, max_length=PASSKEY_CREDENTIAL_MAX_LENGTH, strip=False)
