"""{% load hawiya %}: dual_date, dual_date_hijri and ltr."""

import datetime as dt

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils import translation


def render(source: str, **context: object) -> str:
    return Template("{% load hawiya %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ar", "13 سبتمبر 2026م (2 ربيع الثاني 1448هـ)"),
        # Autoescaped like any template value: the apostrophe of the transliteration is an entity.
        ("en", "13 September 2026 (2 Rabi&#x27; al-Thani 1448 AH)"),
    ],
)
def test_dual_date_shows_gregorian_then_hijri_in_the_active_language(language, expected):
    with translation.override(language):
        assert render("{{ d|dual_date }}", d=dt.date(2026, 9, 13)) == expected


def test_dual_date_hijri_puts_the_hijri_date_first():
    with translation.override("ar"):
        assert (
            render("{{ d|dual_date_hijri }}", d=dt.date(2026, 9, 13))
            == "2 ربيع الثاني 1448هـ (13 سبتمبر 2026م)"
        )


def test_dual_date_precision():
    with translation.override("ar"):
        assert render('{{ d|dual_date:"year" }}', d=dt.date(2026, 9, 13)) == "2026م (1448هـ)"
        assert render('{{ d|dual_date_hijri:"month" }}', d=dt.date(2026, 9, 13)).startswith(
            "ربيع الثاني 1448هـ"
        )


def test_dual_date_uses_the_riyadh_date_of_an_aware_datetime():
    # 22:30 UTC on 12 September is 01:30 on 13 September in Riyadh.
    moment = dt.datetime(2026, 9, 12, 22, 30, tzinfo=dt.UTC)
    with translation.override("en"):
        assert render("{{ d|dual_date }}", d=moment).startswith("13 September 2026")


def test_dual_date_outside_umm_al_qura_shows_gregorian_only():
    with translation.override("en"):
        assert render("{{ d|dual_date }}", d=dt.date(1900, 1, 1)) == "1 January 1900"


def test_dual_date_of_nothing_is_empty():
    assert render("{{ d|dual_date }}", d=None) == ""


def test_dual_date_refuses_an_unknown_precision():
    with pytest.raises(TemplateSyntaxError):
        render('{{ d|dual_date:"week" }}', d=dt.date(2026, 9, 13))


def test_ltr_isolates_and_escapes():
    assert render("{{ v|ltr }}", v="+966 50 123 4567") == '<bdi dir="ltr">+966 50 123 4567</bdi>'
    assert render("{{ v|ltr }}", v="<b>1</b>") == '<bdi dir="ltr">&lt;b&gt;1&lt;/b&gt;</bdi>'
    assert render("{{ v|ltr }}", v=1234567890) == '<bdi dir="ltr">1234567890</bdi>'
    assert render("{{ v|ltr }}", v=None) == ""


def test_ltr_inside_arabic_text_keeps_the_sentence_order():
    with translation.override("ar"):
        out = render("رقم الطلب {{ v|ltr }} قيد المعالجة", v="RPL-2026-000123")
    assert out == 'رقم الطلب <bdi dir="ltr">RPL-2026-000123</bdi> قيد المعالجة'
