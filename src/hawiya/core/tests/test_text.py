"""Masked numbers, lists in each language's punctuation, and values isolated inside plain text."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

from hawiya.core.text import FSI, LRI, PDI, isolate_in, join_list, mask_id_number, mask_mobile


def test_a_mobile_number_shows_its_last_two_digits_only() -> None:
    assert mask_mobile("+966501234567") == "••••••••67"


@pytest.mark.parametrize(
    ("id_number", "arguments", "masked"),
    [
        ("1234567890", {}, "1•••••••90"),
        ("2234567890", {"shown_at_end": 4, "show_first": False}, "••••••7890"),
        ("123", {}, "•••"),
    ],
)
def test_an_id_number_keeps_only_what_identifies_it_to_its_holder(
    id_number: str, arguments: dict[str, object], masked: str
) -> None:
    assert mask_id_number(id_number, **arguments) == masked  # type: ignore[arg-type]


def test_lists_take_the_arabic_comma_in_arabic() -> None:
    assert join_list(["بطاقة الهوية", "شهادة الميلاد"], "ar") == "بطاقة الهوية، شهادة الميلاد"
    assert join_list(["ID card", "birth certificate"], "en") == "ID card, birth certificate"
    with translation.override("ar"):
        assert join_list(["أ", "ب", "ج"]) == "أ، ب، ج"


def test_in_arabic_a_masked_number_is_isolated_left_to_right() -> None:
    # Without the isolate, "••••••••67" inside Arabic is shown as "67••••••••".
    assert isolate_in("••••••••67", "ar") == f"{LRI}••••••••67{PDI}"
    assert isolate_in("••••••••67", "en") == "••••••••67"


def test_text_with_arabic_letters_is_isolated_in_either_language() -> None:
    assert isolate_in("مكتب الملز", "en") == f"{FSI}مكتب الملز{PDI}"
    assert isolate_in("مكتب الملز 2", "ar") == f"{FSI}مكتب الملز 2{PDI}"


@pytest.mark.parametrize(
    ("language", "rendered"),
    [
        ("ar", "<bdi>مكتب الملز</bdi> · تأخير، غرامة · 13 سبتمبر 2026م (2 ربيع الثاني 1448هـ) الساعة 01:30"),
        (
            "en",
            "<bdi>مكتب الملز</bdi> · late, fine · 13 September 2026 (2 Rabi&#x27; al-Thani 1448 AH) at 01:30",
        ),
    ],
)
def test_template_filters(language: str, rendered: str) -> None:
    template = Template(
        "{% load hawiya %}{{ office|bdi }} · {{ items|join_list }} · {{ moment|dual_datetime }}"
    )
    items = ["تأخير", "غرامة"] if language == "ar" else ["late", "fine"]
    with translation.override(language):
        text = template.render(
            Context(
                {
                    "office": "مكتب الملز",
                    "items": items,
                    "moment": dt.datetime(2026, 9, 12, 22, 30, tzinfo=dt.UTC),
                }
            )
        )
    assert text == rendered
