"""Personal names as the register holds them: every part in Arabic script and in Latin script.

The Arabic name is what Civil Affairs prints; the English one is the passport transliteration.
A name typed in the wrong script is the most common slip at a counter, so each field checks its
script and says which one it expects.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Inside a name part: a space between words ("عبد الله"), a hyphen or an apostrophe ("Al-Harbi",
# "Ma'an"). Tatweel is allowed because some records carry it.
_JOINERS = frozenset(" -'\u2019\u0640")


def _letters_of(value: str, script: str) -> bool:
    has_letter = False
    # Composed form, so "é" typed as e + combining accent is one Latin letter.
    for char in unicodedata.normalize("NFC", value):
        if char in _JOINERS:
            continue
        category = unicodedata.category(char)
        if category[0] not in "LM" or not unicodedata.name(char, "").startswith(script):
            return False
        has_letter = has_letter or category[0] == "L"
    return has_letter


def validate_arabic_name(value: str) -> None:
    """A name part in Arabic letters (diacritics allowed), no digits or Latin letters."""
    if not _letters_of(value.strip(), "ARABIC"):
        raise ValidationError(_("Write this name in Arabic letters."), code="name_not_arabic")


def validate_latin_name(value: str) -> None:
    """A name part in Latin letters (accents, hyphens and apostrophes allowed), no digits."""
    if not _letters_of(value.strip(), "LATIN"):
        raise ValidationError(_("Write this name in English (Latin) letters."), code="name_not_latin")
