"""National ID and Iqama numbers, and the register's other numbers.

Ten digits: the first is the holder's type (1 citizen, 2 resident), the tenth a Luhn check digit
computed over all ten (shared/research/mission.md §1.8). Every number that enters Hawiya —
a form, an API, the admin, the generator — goes through `normalise_id_number` then
`validate_id_number` (`parse_id_number` does both).

Validators check the canonical stored form (Western digits only) so that the model's validators
and the database's CHECK constraints agree; the `normalise_*` functions are what make Eastern
Arabic digits, spaces and hyphens acceptable at the door.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from hawiya.core.digits import normalise_number

CITIZEN_PREFIX = "1"
RESIDENT_PREFIX = "2"
ID_NUMBER_LENGTH = 10
# [0-9], never \d: \d also matches Eastern Arabic digits, which must be normalised first.
_DIGITS = re.compile(r"[0-9]+")
_TEN_DIGITS = re.compile(r"[0-9]{10}")


def luhn_sum(digits: str) -> int:
    """The Luhn sum of a string of digits 0-9, doubling every second digit from the right.

    The right-most digit (the check digit) is not doubled. For ten digits this doubles the
    1st, 3rd, 5th, 7th and 9th counted from the left, as the Ministry's algorithm does.
    """
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
    if len(first_nine) != ID_NUMBER_LENGTH - 1 or not _DIGITS.fullmatch(first_nine):
        raise ValueError("check_digit needs exactly nine digits 0-9")
    return str((10 - luhn_sum(first_nine + "0") % 10) % 10)


def normalise_id_number(value: str) -> str:
    """As typed (Eastern digits, spaces, hyphens, bidi marks) → Western digits only."""
    return normalise_number(value or "")


def is_valid_id_number(value: str) -> bool:
    """True for a canonical (already normalised) national ID or Iqama number."""
    return (
        _TEN_DIGITS.fullmatch(value) is not None
        and value[0] in (CITIZEN_PREFIX, RESIDENT_PREFIX)
        and luhn_sum(value) % 10 == 0
    )


def validate_id_number(value: str) -> None:
    """Django validator: a clear message for each way a number can be wrong."""
    if not value:
        raise ValidationError(_("Enter the national ID or Iqama number."), code="id_number_required")
    if not _DIGITS.fullmatch(value):
        raise ValidationError(_("The ID number must contain digits only."), code="id_number_not_digits")
    if len(value) != ID_NUMBER_LENGTH:
        raise ValidationError(
            _("The ID number must be 10 digits; you entered %(count)d."),
            code="id_number_length",
            params={"count": len(value)},
        )
    if value[0] not in (CITIZEN_PREFIX, RESIDENT_PREFIX):
        raise ValidationError(
            _("The ID number must start with 1 (citizen) or 2 (resident)."), code="id_number_prefix"
        )
    if luhn_sum(value) % 10 != 0:
        raise ValidationError(
            _("This is not a valid ID number: check the digits and try again."), code="id_number_checksum"
        )


def parse_id_number(value: str) -> str:
    """A number as typed → its canonical ten digits, or ValidationError with the reason."""
    number = normalise_id_number(value)
    validate_id_number(number)
    return number


FAMILY_RECORD_NUMBER_LENGTH = 10


def validate_family_record_number(value: str) -> None:
    """A family record number: ten digits (no check digit is published for it)."""
    if not value or not _DIGITS.fullmatch(value) or len(value) != FAMILY_RECORD_NUMBER_LENGTH:
        raise ValidationError(_("The family record number must be 10 digits."), code="family_record_number")
