"""Digits typed on Arabic phone keyboards.

Phones send Eastern Arabic (٠-٩) and Persian (۰-۹) digits. They are turned into 0-9 before any
validation or storage (docs/ui.md §3); validators then match [0-9] only, never \\d, which accepts them.
"""

from __future__ import annotations

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_SEPARATORS = str.maketrans(
    "", "", " \t\u00a0-\u2010\u2011\u2012\u2013\u2212_.\u200e\u200f\u202a\u202b\u202c\u2066\u2067\u2068\u2069"
)


def western_digits(value: str) -> str:
    """Eastern Arabic and Persian digits as 0-9; everything else unchanged."""
    return value.translate(_DIGITS)


def normalise_number(value: str) -> str:
    """An identifier as typed → its digits: Western digits, no spaces, hyphens or bidi marks."""
    return western_digits(value).translate(_SEPARATORS)
