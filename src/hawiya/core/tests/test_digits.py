"""Digits typed on Arabic keyboards become 0-9; identifiers lose spaces, hyphens and bidi marks."""

from __future__ import annotations

import pytest

from hawiya.core.digits import normalise_number, western_digits


def test_eastern_arabic_digits_become_western() -> None:
    assert western_digits("٠١٢٣٤٥٦٧٨٩") == "0123456789"


def test_persian_digits_become_western() -> None:
    assert western_digits("۰۱۲۳۴۵۶۷۸۹") == "0123456789"


def test_western_digits_leave_everything_else_alone() -> None:
    assert western_digits("رقم ١٢ - abc") == "رقم 12 - abc"


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("105 852 9940", "1058529940"),
        ("1058-529-940", "1058529940"),
        ("1058\u2013529\u2212940", "1058529940"),
        ("1058\u00a0529\t940", "1058529940"),
        ("\u200e١٠٥٨٥٢٩٩٤٠\u200f", "1058529940"),
        ("\u2066105.852.9940\u2069", "1058529940"),
        ("+966 50", "+96650"),
        ("", ""),
    ],
)
def test_normalise_number_keeps_only_what_identifies(typed: str, digits: str) -> None:
    assert normalise_number(typed) == digits
