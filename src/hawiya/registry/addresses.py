"""National Address rules (shared/research/mission.md §1.7).

Building number and additional number: 4 digits. Postal code: 5 digits whose first names the
region. Short address: 4 letters + 4 digits (e.g. RRRD2929), the digits being the building
number. Input is forgiving (lower case, spaces, hyphens, Eastern digits) through
`normalise_address_code`; validators check the canonical stored form.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from hawiya.core.digits import normalise_number

from .regions import REGION_FACTS, Region, postal_digit_for

_FOUR_DIGITS = re.compile(r"[0-9]{4}")
_FIVE_DIGITS = re.compile(r"[0-9]{5}")
_SHORT_ADDRESS = re.compile(r"[A-Z]{4}[0-9]{4}")


def normalise_address_code(value: str) -> str:
    """A building/additional number, postal code or short address as typed → canonical form."""
    return normalise_number(value or "").upper()


def validate_building_number(value: str) -> None:
    if not _FOUR_DIGITS.fullmatch(value or ""):
        raise ValidationError(_("The building number must be 4 digits, like 2929."), code="building_number")


def validate_additional_number(value: str) -> None:
    if not _FOUR_DIGITS.fullmatch(value or ""):
        raise ValidationError(
            _("The additional number must be 4 digits, like 8538."), code="additional_number"
        )


def validate_postal_code(value: str) -> None:
    if not _FIVE_DIGITS.fullmatch(value or ""):
        raise ValidationError(_("The postal code must be 5 digits, like 12345."), code="postal_code")
    if value[0] == "0":
        raise ValidationError(
            _("A postal code never starts with 0: its first digit is the region's."),
            code="postal_code_zero",
        )


def validate_postal_code_in_region(postal_code: str, region: str) -> None:
    """The first digit of a postal code names the region group; a mismatch is a typo."""
    validate_postal_code(postal_code)
    if region not in REGION_FACTS:
        raise ValidationError(_("Choose the region of the address."), code="region_unknown")
    expected = postal_digit_for(region)
    if postal_code[0] != expected:
        raise ValidationError(
            _("Postal codes in %(region)s start with %(digit)s; check the postal code."),
            code="postal_code_region",
            params={"region": Region(region).label, "digit": expected},
        )


def validate_short_address(value: str) -> None:
    if not _SHORT_ADDRESS.fullmatch(value or ""):
        raise ValidationError(
            _("The short address must be 4 letters then 4 digits, like RRRD2929."), code="short_address"
        )


def validate_short_address_matches_building(short_address: str, building_number: str) -> None:
    """The short address's four digits are the building number; a mismatch is a typo."""
    if short_address[4:] != building_number:
        raise ValidationError(
            _("The last 4 digits of the short address must be the building number (%(building)s)."),
            code="short_address_building",
            params={"building": building_number},
        )
