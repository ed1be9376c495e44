"""National Address validators: each part with good and bad input, and the cross-checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError

from hawiya.registry.addresses import (
    normalise_address_code,
    validate_additional_number,
    validate_building_number,
    validate_postal_code,
    validate_postal_code_in_region,
    validate_short_address,
    validate_short_address_matches_building,
)
from hawiya.registry.regions import REGION_FACTS, Region, postal_digit_for

pytestmark = pytest.mark.usefixtures("english")


def _error(validator: Callable[..., None], *args: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validator(*args)
    return caught.value


@pytest.mark.parametrize("good", ["2929", "0001", "9999"])
def test_building_number_accepts_four_digits(good: str) -> None:
    validate_building_number(good)


@pytest.mark.parametrize("bad", ["", "292", "29290", "29a9", "٢٩٢٩", "29 29"])
def test_building_number_refuses_anything_else(bad: str) -> None:
    error = _error(validate_building_number, bad)
    assert error.messages == ["The building number must be 4 digits, like 2929."]


@pytest.mark.parametrize("good", ["8538", "0000"])
def test_additional_number_accepts_four_digits(good: str) -> None:
    validate_additional_number(good)


@pytest.mark.parametrize("bad", ["", "853", "85380", "85-3"])
def test_additional_number_refuses_anything_else(bad: str) -> None:
    error = _error(validate_additional_number, bad)
    assert error.messages == ["The additional number must be 4 digits, like 8538."]


@pytest.mark.parametrize("good", ["12345", "75311", "89999"])
def test_postal_code_accepts_five_digits(good: str) -> None:
    validate_postal_code(good)


@pytest.mark.parametrize("bad", ["", "1234", "123456", "1234a"])
def test_postal_code_refuses_wrong_shapes(bad: str) -> None:
    assert _error(validate_postal_code, bad).messages == ["The postal code must be 5 digits, like 12345."]


def test_postal_code_starting_with_zero_has_its_own_message() -> None:
    error = _error(validate_postal_code, "01234")
    assert error.code == "postal_code_zero"
    assert error.messages == ["A postal code never starts with 0: its first digit is the region's."]


@pytest.mark.parametrize("region", list(Region))
def test_every_region_has_a_postal_digit(region: Region) -> None:
    validate_postal_code_in_region(postal_digit_for(region) + "1234", region)


def test_postal_code_from_another_region_is_refused_naming_the_region() -> None:
    error = _error(validate_postal_code_in_region, "21234", Region.RIYADH)
    assert error.code == "postal_code_region"
    assert error.messages == ["Postal codes in Riyadh start with 1; check the postal code."]


def test_regions_sharing_a_digit_accept_each_others_codes() -> None:
    validate_postal_code_in_region("41234", Region.TABUK)
    validate_postal_code_in_region("41234", Region.MADINAH)


def test_unknown_region_is_a_message_not_a_crash() -> None:
    assert _error(validate_postal_code_in_region, "12345", "atlantis").code == "region_unknown"


def test_region_table_covers_all_thirteen_regions() -> None:
    assert set(REGION_FACTS) == set(Region)
    assert len(Region) == 13


@pytest.mark.parametrize("good", ["RRRD2929", "ABCD0001"])
def test_short_address_accepts_four_letters_and_four_digits(good: str) -> None:
    validate_short_address(good)


@pytest.mark.parametrize("bad", ["", "rrrd2929", "RRR2929", "RRRD292", "RRRDD2929", "2929RRRD", "ررر د2929"])
def test_short_address_refuses_anything_else(bad: str) -> None:
    assert _error(validate_short_address, bad).messages == [
        "The short address must be 4 letters then 4 digits, like RRRD2929."
    ]


def test_short_address_digits_must_be_the_building_number() -> None:
    validate_short_address_matches_building("RRRD2929", "2929")
    error = _error(validate_short_address_matches_building, "RRRD2929", "1234")
    assert error.messages == ["The last 4 digits of the short address must be the building number (1234)."]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("rrrd2929", "RRRD2929"),
        ("rrrd-2929", "RRRD2929"),
        ("RRRD 2929", "RRRD2929"),
        ("rrrd٢٩٢٩", "RRRD2929"),
        ("١٢٣٤٥", "12345"),
        ("12 345", "12345"),
        ("٨٥٣٨", "8538"),
    ],
)
def test_codes_typed_loosely_are_normalised(typed: str, stored: str) -> None:
    assert normalise_address_code(typed) == stored
