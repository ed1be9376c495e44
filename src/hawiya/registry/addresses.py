"""National Address rules (shared/research/mission.md §1.7).

Building number and additional number: 4 digits. Postal code: 5 digits whose first names the
region. Short address: 4 letters + 4 digits (e.g. RRRD2929). Input is forgiving (lower case,
spaces, hyphens, Eastern digits); storage is canonical.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from hawiya.core.digits import normalise_number

from .regions import Region, postal_digit_for


def normalise_address_code(value: str) -> str:
    return normalise_number(value or "").upper()


def validate_building_number(value: str) -> None:
    if not re.fullmatch(r"[0-9]{4}", value or ""):
        raise ValidationError(_("The building number must be 4 digits, like 2929."), code="building_number")


def validate_additional_number(value: str) -> None:
    if not re.fullmatch(r"[0-9]{4}", value or ""):
        raise ValidationError(
            _("The additional number must be 4 digits, like 8538."), code="additional_number"
        )


def validate_postal_code(value: str) -> None:
    if not re.fullmatch(r"[1-9][0-9]{4}", value or ""):
        raise ValidationError(_("The postal code must be 5 digits, like 12345."), code="postal_code")


def validate_postal_code_in_region(postal_code: str, region: str) -> None:
    """The first digit of a postal code names the region group; a mismatch is a typo."""
    validate_postal_code(postal_code)
    expected = postal_digit_for(region)
    if postal_code[0] != expected:
        raise ValidationError(
            _("Postal codes in %(region)s start with %(digit)s; check the postal code.")
            % {"region": Region(region).label, "digit": expected},
            code="postal_code_region",
        )


def validate_short_address(value: str) -> None:
    if not re.fullmatch(r"[A-Z]{4}[0-9]{4}", value or ""):
        raise ValidationError(
            _("The short address must be 4 letters then 4 digits, like RRRD2929."), code="short_address"
        )
