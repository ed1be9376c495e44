"""Small pieces of text a person reads, written once: masked numbers, lists, isolated values.

- `mask_mobile` / `mask_id_number`: enough of a number to recognise one's own, no more.
- `join_list`: "أ، ب، ج" in Arabic, "a, b, c" in English (the Arabic comma is U+060C).
- `isolate`: a value inside plain text (an SMS, the notification centre) wrapped in Unicode
  isolates, so that the bidi algorithm cannot reorder it with the words around it: "•••34" or
  "2026-03-01" inside Arabic, an Arabic office name inside English. Pages use `<bdi>` instead
  (the `ltr` and `bdi` template filters).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Literal

from django.utils.translation import get_language

MASK = "•"
ARABIC_COMMA = "،"

# Unicode 6.3 isolates (UAX #9): LRI opens a left-to-right isolate, FSI one whose direction is
# taken from its first strong character; PDI closes either.
LRI = "\u2066"
FSI = "\u2068"
PDI = "\u2069"

Direction = Literal["ltr", "auto"]


def mask_mobile(e164: str) -> str:
    """•••••••• and the last two digits of a mobile number."""
    return MASK * 8 + e164[-2:]


def mask_id_number(id_number: str, *, shown_at_end: int = 2, show_first: bool = True) -> str:
    """An ID number with its middle hidden: "1•••••••16" (the first digit says citizen or
    resident). Officers see a little more ("••••••1234": `shown_at_end=4, show_first=False`)."""
    first = id_number[:1] if show_first else ""
    hidden = len(id_number) - len(first) - shown_at_end
    if hidden < 1:
        return MASK * len(id_number)
    return first + MASK * hidden + id_number[-shown_at_end:]


def _is_arabic(language: str | None) -> bool:
    return (language or get_language() or "ar").startswith("ar")


def list_separator(language: str | None = None) -> str:
    """The separator of a list in `language` (default: the active one)."""
    return f"{ARABIC_COMMA} " if _is_arabic(language) else ", "


def join_list(items: Iterable[object], language: str | None = None) -> str:
    """Items joined with the list separator of `language`: "أ، ب" / "a, b"."""
    return list_separator(language).join(str(item) for item in items if str(item))


def has_right_to_left(text: str) -> bool:
    """Whether `text` holds a right-to-left letter (Arabic, Hebrew…)."""
    return any(unicodedata.bidirectional(char) in {"R", "AL"} for char in text)


def isolate(text: str, direction: Direction = "auto") -> str:
    """`text` between isolates: LRI…PDI for a value that reads left to right (a code, a date
    written in digits, a masked number), FSI…PDI for text of either direction (a name)."""
    if not text:
        return text
    return f"{LRI if direction == 'ltr' else FSI}{text}{PDI}"


def isolate_in(text: str, language: str) -> str:
    """`text` as it must appear inside a sentence of `language`.

    In Arabic every value is isolated (left to right when it holds no Arabic letter). In English a
    value is isolated only when it holds right-to-left letters: English text with no isolate stays
    in the 7-bit SMS alphabet, three times as many characters a segment.
    """
    if not text:
        return text
    if has_right_to_left(text):
        return isolate(text, "auto")
    if _is_arabic(language):
        return isolate(text, "ltr")
    return text
