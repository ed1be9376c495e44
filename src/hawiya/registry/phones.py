"""Saudi mobile numbers: the number on record receives one-time codes, so it must be a real mobile.

Accepted as people type them (05…, 5…, +966…, 00966…, spaces, hyphens, Eastern digits) and
stored in E.164 (+9665XXXXXXXX).
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from hawiya.core.digits import normalise_number

SAUDI_COUNTRY_CODE = 966
# What is left once digits are normalised and separators removed; phonenumbers would otherwise
# read letters as a keypad vanity number ("05ABC…") and accept them.
_TYPED_NUMBER = re.compile(r"\+?[0-9()]+")


def _invalid() -> ValidationError:
    return ValidationError(_("Enter a Saudi mobile number, like 05X XXX XXXX."), code="mobile_invalid")


def normalise_mobile(value: str) -> str:
    """A Saudi mobile number as typed → E.164, or ValidationError with a clear message."""
    raw = normalise_number(value or "").strip()
    if not raw:
        raise ValidationError(_("Enter a mobile number."), code="mobile_required")
    if not _TYPED_NUMBER.fullmatch(raw):
        raise _invalid()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, "SA")
    except phonenumbers.NumberParseException as exc:
        raise _invalid() from exc
    if number.country_code != SAUDI_COUNTRY_CODE:
        raise ValidationError(
            _("This is not a Saudi number; enter a Saudi mobile number, like 05X XXX XXXX."),
            code="mobile_not_saudi",
        )
    if not phonenumbers.is_valid_number(number):
        raise _invalid()
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        raise ValidationError(
            _("This is a landline number; enter a mobile number that can receive text messages."),
            code="mobile_not_mobile",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_mobile(value: str) -> None:
    """Django validator for a stored number: it must already be in E.164."""
    if normalise_mobile(value) != value:
        raise ValidationError(
            _("Store the mobile number in international form, like +9665XXXXXXXX."), code="mobile_not_e164"
        )
