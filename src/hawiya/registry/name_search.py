"""Names as search compares them: one normal form for Arabic and Latin script, pure functions.

A name is typed many ways for the same person: أحمد / احمد / إحمد, فاطمة / فاطمه, مصطفى / مصطفي,
with tatweel (محـمد) or diacritics (مُحَمَّد); "José" / "jose", "Al-Harbi" / "al harbi" / "ALHARBI".
`normalise_name` maps every such variant to one form, and `Person.search_name` stores the
register's names in it, so that a search compares like with like through one indexed column.

Arabic: hamza forms of alef (أ إ آ) and alef wasla (ٱ) become ا; ة becomes ه; ى becomes ي;
the Persian keyboard's ک and ی become ك and ي; tatweel and every mark (harakat U+064B-U+065F,
superscript alef U+0670, Quranic marks) are removed. Removing the hamza mark also folds ؤ into
و and ئ into ي: it only widens what matches, on both sides alike.
Latin: compatibility forms unfolded (NFKD), accents removed, case folded ("ß" → "ss").
Both: hyphens, apostrophes and invisible format characters (bidi marks, ZWNJ) join the letters
around them ("Al-Harbi" → "alharbi"); any other character that is not a letter or a digit
separates words; runs of spaces become one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

# After NFKD: letters that keep their own code point but are spelled interchangeably in names.
_LETTERS: Final = str.maketrans(
    {
        "\u0671": "\u0627",  # ٱ alef wasla → ا
        "\u0629": "\u0647",  # ة taa marbuta → ه
        "\u0649": "\u064a",  # ى alef maqsura → ي
        "\u06a9": "\u0643",  # ک keheh (Persian keyboards) → ك
        "\u06cc": "\u064a",  # ی Farsi yeh → ي
        "\u0640": None,  # ـ tatweel
    }
)
# Inside a word: they join the letters on either side instead of separating words.
_JOINERS: Final = frozenset("-'\u2010\u2011\u2012\u2013\u2014\u2018\u2019\u02bc\u02bb`\u00b4")
# Hyphens also separate the words of a stored compound part ("Al-Harbi" → "al", "harbi").
_HYPHENS: Final = str.maketrans(dict.fromkeys("-\u2010\u2011\u2012\u2013\u2014", " "))
# "عبد" + a name of God is one part written joined or apart (عبدالله / عبد الله).
_ABD: Final = "\u0639\u0628\u062f"
# The longest text worth normalising: a whole four-part name in both scripts is under 600
# characters; anything longer is cut before the work (a pasted page must not cost seconds).
MAX_TEXT_LENGTH: Final = 1_000


def normalise_name(text: str) -> str:
    """Any name text (a part, a full name, a search query) → its normal form: words of
    lower-case letters without marks, separated by single spaces."""
    text = text[:MAX_TEXT_LENGTH]
    out: list[str] = []
    for char in unicodedata.normalize("NFKD", text).translate(_LETTERS):
        category = unicodedata.category(char)
        if category[0] == "M" or category == "Cf" or char in _JOINERS:
            continue  # marks (accents, harakat, hamza above/below), bidi marks, hyphens
        if category[0] in "LN":
            out.append(char)
        else:
            out.append(" ")
    return " ".join("".join(out).casefold().split())


def search_tokens(query: str) -> list[str]:
    """The words of a query in normal form, each once, in the order typed."""
    return list(dict.fromkeys(normalise_name(query).split()))


@lru_cache(maxsize=65_536)
def _part_words(part: str) -> tuple[str, ...]:
    """A stored name part's words: "عبد الله" and "عبدالله" → ("عبدالله", "عبد", "الله"), so
    that the joined and the separate spelling of a compound part both match whole words;
    "Al-Harbi" likewise ("alharbi", "al", "harbi"). Cached: the seeder writes millions of rows
    from a few thousand distinct parts."""
    separate = normalise_name(part.translate(_HYPHENS)).split()
    if len(separate) == 1 and separate[0].startswith(_ABD) and len(separate[0]) > len(_ABD) + 1:
        separate = [_ABD, separate[0][len(_ABD) :]]
    if len(separate) <= 1:
        return tuple(separate)
    return ("".join(separate), *separate)


def search_name_of(parts: Iterable[str]) -> str:
    """The stored search text of a person: every word of every name part, in both scripts,
    each once (`Person.search_name`)."""
    words: dict[str, None] = {}
    for part in parts:
        if part:
            words.update(dict.fromkeys(_part_words(part)))
    return " ".join(words)
