"""National ID and Iqama numbers.

Ten digits: the first is the holder's type (1 citizen, 2 resident), the tenth a Luhn check digit
computed over all ten (shared/research/mission.md §1.8). Every number that enters Hawiya —
a form, an API, the admin, the generator — goes through `normalise_id_number` then
`validate_id_number`.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from hawiya.core.digits import normalise_number

CITIZEN_PREFIX = "1"
RESIDENT_PREFIX = "2"
_TEN_DIGITS = re.compile(r"[0-9]{10}")


def luhn_sum(digits: str) -> int:
    """The Luhn sum, doubling every second digit counted from the right-most one's neighbour."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total


def check_digit(first_nine: str) -> str:
    """The tenth digit that makes `first_nine` + it pass Luhn."""
    if len(first_nine) != 9 or not _TEN_DIGITS.fullmatch(first_nine + "0"):
        raise ValueError("check_digit needs exactly nine digits 0-9")
    return str((10 - luhn_sum(first_nine + "0") % 10) % 10)


def normalise_id_number(value: str) -> str:
    """As typed (Eastern digits, spaces, hyphens) → ten Western digits, or the input cleaned."""
    return normalise_number(value or "")


def is_valid_id_number(value: str) -> bool:
    return (
        _TEN_DIGITS.fullmatch(value) is not None
        and value[0] in (CITIZEN_PREFIX, RESIDENT_PREFIX)
        and luhn_sum(value) % 10 == 0
    )


def validate_id_number(value: str) -> None:
    """Django validator: a clear message for each way a number can be wrong."""
    if not value:
        raise ValidationError(_("Enter the national ID or Iqama number."), code="id_number_required")
    if not re.fullmatch(r"[0-9]+", value):
        raise ValidationError(_("The ID number must contain digits only."), code="id_number_not_digits")
    if len(value) != 10:
        raise ValidationError(
            _("The ID number must be 10 digits; you entered %(count)d.") % {"count": len(value)},
            code="id_number_length",
        )
    if value[0] not in (CITIZEN_PREFIX, RESIDENT_PREFIX):
        raise ValidationError(
            _("The ID number must start with 1 (citizen) or 2 (resident)."), code="id_number_prefix"
        )
    if luhn_sum(value) % 10 != 0:
        raise ValidationError(
            _("This is not a valid ID number: check the digits and try again."), code="id_number_checksum"
        )
