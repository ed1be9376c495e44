"""Saudi mobile numbers as people type them → E.164; landlines and foreign numbers refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from hawiya.core.text import mask_mobile
from hawiya.registry.phones import normalise_mobile, validate_mobile

pytestmark = pytest.mark.usefixtures("english")


@pytest.mark.parametrize(
    "typed",
    [
        "0501234567",
        "501234567",
        "+966501234567",
        "00966501234567",
        "050 123 4567",
        "050-123-4567",
        "+966 50 123 4567",
        "٠٥٠١٢٣٤٥٦٧",
        "٠٥٠-١٢٣-٤٥٦٧",
        "۰۵۰۱۲۳۴۵۶۷",
        "\u200e+966 50 123 4567\u200f",
    ],
)
def test_every_common_way_of_typing_a_mobile_gives_e164(typed: str) -> None:
    assert normalise_mobile(typed) == "+966501234567"


@pytest.mark.parametrize(
    ("typed", "code", "message"),
    [
        ("", "mobile_required", "Enter a mobile number."),
        ("   ", "mobile_required", "Enter a mobile number."),
        (
            "0112345678",
            "mobile_not_mobile",
            "This is a landline number; enter a mobile number that can receive text messages.",
        ),
        (
            "+447911123456",
            "mobile_not_saudi",
            "This is not a Saudi number; enter a Saudi mobile number, like 05X XXX XXXX.",
        ),
        (
            "0020101234567",
            "mobile_not_saudi",
            "This is not a Saudi number; enter a Saudi mobile number, like 05X XXX XXXX.",
        ),
        ("05012", "mobile_invalid", "Enter a Saudi mobile number, like 05X XXX XXXX."),
        ("0521234567", "mobile_invalid", "Enter a Saudi mobile number, like 05X XXX XXXX."),
        ("050ABCDEFG", "mobile_invalid", "Enter a Saudi mobile number, like 05X XXX XXXX."),
        ("phone", "mobile_invalid", "Enter a Saudi mobile number, like 05X XXX XXXX."),
    ],
)
def test_wrong_numbers_are_refused_with_their_own_message(typed: str, code: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalise_mobile(typed)
    assert caught.value.code == code
    assert caught.value.messages == [message]


def test_stored_numbers_must_already_be_e164() -> None:
    validate_mobile("+966501234567")
    with pytest.raises(ValidationError) as caught:
        validate_mobile("0501234567")
    assert caught.value.code == "mobile_not_e164"


def test_stored_landline_is_refused_as_a_landline() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_mobile("+966112345678")
    assert caught.value.code == "mobile_not_mobile"


def test_mask_shows_only_the_last_two_digits() -> None:
    assert mask_mobile("+966501234567") == "••••••••67"
