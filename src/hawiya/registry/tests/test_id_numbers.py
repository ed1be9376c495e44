"""National ID and Iqama numbers: prefix, length, digits and the Luhn check digit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from hawiya.registry.id_numbers import (
    check_digit,
    is_valid_id_number,
    normalise_id_number,
    parse_id_number,
    validate_family_record_number,
    validate_id_number,
)

prefixes = st.sampled_from("12")
eight_digits = st.text(alphabet="0123456789", min_size=8, max_size=8)

pytestmark = pytest.mark.usefixtures("english")


@st.composite
def valid_id_numbers(draw: st.DrawFn) -> str:
    first_nine = draw(prefixes) + draw(eight_digits)
    return first_nine + check_digit(first_nine)


def _code(value: str) -> str | None:
    try:
        validate_id_number(value)
    except ValidationError as exc:
        return exc.code
    return None


@pytest.mark.parametrize("number", ["1058529940", "1001244019"])
def test_known_real_numbers_pass(number: str) -> None:
    assert is_valid_id_number(number)
    validate_id_number(number)


@given(valid_id_numbers())
def test_every_generated_number_passes(number: str) -> None:
    assert is_valid_id_number(number)
    validate_id_number(number)
    assert parse_id_number(number) == number


@given(valid_id_numbers(), st.integers(min_value=0, max_value=9), st.integers(min_value=1, max_value=9))
def test_any_single_digit_substitution_is_caught(number: str, position: int, shift: int) -> None:
    wrong_digit = str((int(number[position]) + shift) % 10)
    mistyped = number[:position] + wrong_digit + number[position + 1 :]
    assert mistyped != number
    assert not is_valid_id_number(mistyped)
    with pytest.raises(ValidationError):
        validate_id_number(mistyped)


@given(valid_id_numbers(), st.integers(min_value=0, max_value=8))
def test_adjacent_transpositions_are_caught_except_zero_and_nine(number: str, position: int) -> None:
    """Luhn's known blind spot: swapping neighbouring 0 and 9 keeps the sum. Every other swap of
    two different digits is caught."""
    a, b = number[position], number[position + 1]
    swapped = number[:position] + b + a + number[position + 2 :]
    if a == b or {a, b} == {"0", "9"}:
        assert is_valid_id_number(swapped)
    else:
        assert not is_valid_id_number(swapped)


def test_zero_nine_transposition_is_the_documented_blind_spot() -> None:
    first_nine = "10900000" + "0"
    number = first_nine + check_digit(first_nine)
    swapped = number[:2] + number[3] + number[2] + number[4:]
    assert number[2:4] == "90"
    assert swapped[2:4] == "09"
    assert is_valid_id_number(number)
    assert is_valid_id_number(swapped)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "id_number_required"),
        ("105852994", "id_number_length"),
        ("10585299401", "id_number_length"),
        ("10585X9940", "id_number_not_digits"),
        ("١٠٥٨٥٢٩٩٤٠", "id_number_not_digits"),  # validators see only normalised input
        ("3058529940", "id_number_prefix"),
        ("0058529940", "id_number_prefix"),
        ("1058529941", "id_number_checksum"),
    ],
)
def test_each_way_of_being_wrong_has_its_own_code(value: str, code: str) -> None:
    assert _code(value) == code


def test_each_way_of_being_wrong_has_its_own_message() -> None:
    messages = {}
    for value in ["", "12345", "12345abcde", "3058529940", "1058529941"]:
        with pytest.raises(ValidationError) as caught:
            validate_id_number(value)
        messages[caught.value.code] = caught.value.messages[0]
    assert len(set(messages.values())) == 5
    assert messages["id_number_length"] == "The ID number must be 10 digits; you entered 5."


@pytest.mark.parametrize(
    "typed",
    ["١٠٥٨٥٢٩٩٤٠", "۱۰۵۸۵۲۹۹۴۰", "105 852 9940", "1058-529-940", " 1058529940 ", "\u200e1058529940\u200f"],
)
def test_eastern_digits_spaces_and_hyphens_normalise(typed: str) -> None:
    assert normalise_id_number(typed) == "1058529940"
    assert parse_id_number(typed) == "1058529940"


def test_parse_reports_the_reason_after_normalising() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_id_number("٣٠٥٨٥٢٩٩٤٠")
    assert caught.value.code == "id_number_prefix"


@pytest.mark.parametrize("first_nine", ["12345678", "1234567890", "12345678a"])
def test_check_digit_needs_nine_digits(first_nine: str) -> None:
    with pytest.raises(ValueError, match="nine digits"):
        check_digit(first_nine)


@pytest.mark.parametrize("value", ["", "123456789", "12345678901", "12345abcde"])
def test_family_record_number_must_be_ten_digits(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_family_record_number(value)
    assert caught.value.code == "family_record_number"
