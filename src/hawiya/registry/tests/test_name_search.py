"""The normal form of names for search (registry/name_search.py): pure functions, no database."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hawiya.registry.name_search import MAX_TEXT_LENGTH, normalise_name, search_name_of, search_tokens

from .spelling import arabic_spellings, latin_spellings, name_parts

HARAKAT = [chr(code) for code in range(0x064B, 0x0653)] + ["\u0670"]


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("أحمد", "احمد"),
        ("إبراهيم", "ابراهيم"),
        ("آمنة", "امنه"),
        ("ٱلله", "الله"),
        ("فاطمة", "فاطمه"),
        ("مصطفى", "مصطفي"),
        ("محـــمد", "محمد"),
        ("مُحَمَّد", "محمد"),
        ("رحمٰن", "رحمن"),
        ("یوسف", "يوسف"),  # Farsi yeh from a Persian keyboard
        ("ﷲ", "الله"),  # the ligature: compatibility form unfolded
        ("José", "jose"),
        ("ÉLODIE", "elodie"),
        ("Straße", "strasse"),
        ("Al-Harbi", "alharbi"),
        ("O'Neil", "oneil"),
        ("  Mohammed \t  Al  Otaibi ", "mohammed al otaibi"),
        ("Mohammed,Ali", "mohammed ali"),
        ("\u200fمحمد\u200e", "محمد"),  # bidi marks pasted with the name
        ("a\x00b", "a b"),
        ("", ""),
        ("---", ""),
    ],
)
def test_examples(typed: str, normal: str) -> None:
    assert normalise_name(typed) == normal


def test_a_compound_part_is_stored_joined_and_apart() -> None:
    assert search_name_of(["عبد الله"]) == "عبدالله عبد الله"
    assert search_name_of(["عبدالرحمن"]) == "عبدالرحمن عبد الرحمن"
    assert search_name_of(["Al-Harbi"]) == "alharbi al harbi"
    assert search_name_of(["Abdul Rahman"]) == "abdulrahman abdul rahman"
    # "عبده" is a name of its own, not عبد + ه.
    assert search_name_of(["عبده"]) == "عبده"


def test_the_stored_name_has_each_word_once_in_order() -> None:
    parts = ["محمد", "عبدالله", "محمد", "العتيبي", "Mohammed", "Abdullah", "Mohammed", "Al-Otaibi"]
    assert search_name_of(parts) == ("محمد عبدالله عبد الله العتيبي mohammed abdullah alotaibi al otaibi")
    assert search_name_of(["", "", "Saad"]) == "saad"


def test_query_tokens_are_normal_and_unique() -> None:
    assert search_tokens("أحمد احمد إحمد Ahmed AHMED") == ["احمد", "ahmed"]


@given(st.text(max_size=200))
def test_normal_form_is_stable_and_clean(text: str) -> None:
    normal = normalise_name(text)
    assert normalise_name(normal) == normal
    assert normal == normal.strip()
    assert "  " not in normal
    assert not set(normal) & {"أ", "إ", "آ", "ٱ", "ة", "ى", "\u0640", *HARAKAT, "\x00"}
    assert all(unicodedata.category(char)[0] in "LN" or char == " " for char in normal)
    assert normal == normal.casefold()


@given(st.text(min_size=MAX_TEXT_LENGTH + 1, max_size=MAX_TEXT_LENGTH + 50))
def test_long_text_is_cut_before_the_work(text: str) -> None:
    assert normalise_name(text) == normalise_name(text[:MAX_TEXT_LENGTH])


@given(st.data())
def test_every_arabic_spelling_has_the_same_normal_form(data: st.DataObject) -> None:
    part = data.draw(name_parts("ar"))
    spelling = data.draw(arabic_spellings(part))
    assert normalise_name(spelling).replace(" ", "") == normalise_name(part).replace(" ", "")


@given(st.data())
def test_every_latin_spelling_has_the_same_normal_form(data: st.DataObject) -> None:
    part = data.draw(name_parts("en"))
    spelling = data.draw(latin_spellings(part))
    assert normalise_name(spelling).replace(" ", "") == normalise_name(part).replace(" ", "")


@given(st.data())
def test_every_word_of_a_spelling_is_inside_a_stored_word(data: st.DataObject) -> None:
    """What the SQLite search relies on: each query word is a substring of the stored text, and
    each is a whole stored word (what makes the PostgreSQL similarity 1)."""
    script = data.draw(st.sampled_from(["ar", "en"]))
    part = data.draw(name_parts(script))
    spelling = data.draw(arabic_spellings(part) if script == "ar" else latin_spellings(part))
    stored = search_name_of([part]).split()
    for token in search_tokens(spelling):
        assert token in stored


@given(st.lists(st.text(max_size=40), max_size=8))
def test_the_stored_name_splits_on_one_space_into_its_words(parts: list[str]) -> None:
    """What the PostgreSQL words index relies on (`string_to_array(search_name, ' ')`, migration
    0009): one space between words, none around them, and the words are those of the parts in
    the same normal form as a query's tokens (so a token equals a stored word exactly)."""
    stored = search_name_of(parts)
    words = stored.split(" ") if stored else []
    assert words == stored.split()
    assert all(search_tokens(word) == [word] for word in words)
