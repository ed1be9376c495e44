"""Hypothesis strategies for the ways one name is spelled: the register's own name tables
(population/data.py) and, for each part, its variants in Arabic (hamza forms of alef, ة/ه, ى/ي,
tatweel, diacritics anywhere, عبد written joined or apart) and in Latin script (case, accents,
hyphens and spaces), and a one-letter typo."""

from __future__ import annotations

from hypothesis import strategies as st

from hawiya.registry.name_search import normalise_name
from hawiya.registry.population.data import (
    NATIONALITIES,
    SAUDI_FAMILY_NAMES,
    SAUDI_FEMALE_FIRST_NAMES,
    SAUDI_MALE_FIRST_NAMES,
    NamePair,
)

ALEFS = "اأإآٱ"
TAA_MARBUTA_OR_HAA = "ةه"
YAA_OR_ALEF_MAQSURA = "يى"
TATWEEL = "\u0640"
# Fathatan … sukun (U+064B-U+0652) and the superscript alef.
DIACRITICS = [chr(code) for code in range(0x064B, 0x0653)] + ["\u0670"]
ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
# Precomposed only: a stored name must pass the register's Latin-script validator.
ACCENTED = {
    "a": "áàâäã",
    "e": "éèêë",
    "i": "íìîï",
    "o": "óòôöõ",
    "u": "úùûü",
    "c": "ç",
    "n": "ñ",
    "y": "ýÿ",
}


def _all_names() -> list[NamePair]:
    names = {*SAUDI_MALE_FIRST_NAMES, *SAUDI_FEMALE_FIRST_NAMES, *SAUDI_FAMILY_NAMES}
    for nationality in NATIONALITIES:
        names.update(nationality.male_first_names)
        names.update(nationality.female_first_names)
        names.update(nationality.family_names)
    return sorted(names)


NAMES = _all_names()


def name_parts(script: str) -> st.SearchStrategy[str]:
    """A name part from the register's tables, in Arabic ("ar") or Latin ("en") script."""
    index = 0 if script == "ar" else 1
    return st.sampled_from(sorted({pair[index] for pair in NAMES}))


def name_pairs() -> st.SearchStrategy[NamePair]:
    return st.sampled_from(NAMES)


@st.composite
def arabic_spellings(draw: st.DrawFn, part: str, *, stored: bool = False) -> str:
    """`part` spelled another way. `stored`: a spelling the register accepts (a few marks only,
    so the part stays within its 60 characters)."""
    budget = 3 if stored else 6
    if part.startswith("عبد") and len(part) > 4 and " " not in part:
        part = draw(st.sampled_from([part, "عبد " + part[3:]]))
    elif " " in part:
        part = draw(st.sampled_from([part, part.replace(" ", "")]))
    out: list[str] = []
    for position, char in enumerate(part):
        if char in ALEFS:
            char = draw(st.sampled_from(ALEFS))
        elif char in TAA_MARBUTA_OR_HAA:
            char = draw(st.sampled_from(TAA_MARBUTA_OR_HAA))
        elif char in YAA_OR_ALEF_MAQSURA:
            char = draw(st.sampled_from(YAA_OR_ALEF_MAQSURA))
        out.append(char)
        if char == " " or budget <= 0:
            continue
        marks = draw(st.lists(st.sampled_from(DIACRITICS), max_size=min(2, budget)))
        out.extend(marks)
        budget -= len(marks)
        following = part[position + 1 : position + 2]
        if following and following != " " and budget > 0 and draw(st.booleans()):
            out.append(TATWEEL)
            budget -= 1
    return "".join(out)


@st.composite
def latin_spellings(draw: st.DrawFn, part: str) -> str:
    """`part` in other case, with accents, and its hyphens or spaces written another way."""
    if "-" in part or " " in part:
        joiner = draw(st.sampled_from(["-", " ", ""]))
        part = part.replace("-", " ").replace(" ", joiner)
    out: list[str] = []
    for char in part:
        accents = ACCENTED.get(char.lower(), "")
        if accents and draw(st.booleans()):
            char = draw(st.sampled_from(accents))
        out.append(char.upper() if draw(st.booleans()) else char.lower())
    return "".join(out)


def spellings(part: str, script: str, *, stored: bool = False) -> st.SearchStrategy[str]:
    return arabic_spellings(part, stored=stored) if script == "ar" else latin_spellings(part)


@st.composite
def typos(draw: st.DrawFn, part: str, script: str) -> str:
    """The normal form of `part` with one letter changed to another of its script."""
    word = normalise_name(part).replace(" ", "")
    position = draw(st.integers(min_value=0, max_value=len(word) - 1))
    alphabet = ARABIC_LETTERS if script == "ar" else "abcdefghijklmnopqrstuvwxyz"
    letter = draw(st.sampled_from([letter for letter in alphabet if letter != word[position]]))
    return word[:position] + letter + word[position + 1 :]
