"""Gregorian and Hijri (Umm al-Qura) dates, shown together."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from hawiya.core.calendars import format_dual, format_gregorian, format_hijri, from_hijri, to_hijri


@pytest.mark.parametrize(
    ("gregorian", "hijri"),
    [
        (dt.date(2026, 9, 13), (1448, 4, 2)),  # 2 Rabi al-Thani 1448
        (dt.date(2024, 3, 11), (1445, 9, 1)),  # 1 Ramadan 1445
        (dt.date(2026, 6, 16), (1448, 1, 1)),  # 1 Muharram 1448
        (dt.date(1990, 1, 27), (1410, 7, 1)),  # 1 Rajab, the usual placeholder birthday
        (dt.date(1924, 8, 1), (1343, 1, 1)),  # first day Umm al-Qura covers
        (dt.date(2077, 11, 16), (1500, 12, 30)),  # last day
    ],
)
def test_known_conversions_both_ways(gregorian: dt.date, hijri: tuple[int, int, int]) -> None:
    converted = to_hijri(gregorian)
    assert converted is not None
    assert (converted.year, converted.month, converted.day) == hijri
    assert from_hijri(*hijri) == gregorian


@pytest.mark.parametrize("outside", [dt.date(1924, 7, 31), dt.date(1900, 1, 1), dt.date(2077, 11, 17)])
def test_dates_outside_umm_al_qura_have_no_hijri(outside: dt.date) -> None:
    assert to_hijri(outside) is None
    assert format_hijri(outside, language="en") is None


def test_outside_the_range_the_dual_date_leaves_the_hijri_part_out() -> None:
    assert format_dual(dt.date(1900, 1, 1), language="en") == "1 January 1900"
    assert format_dual(dt.date(1900, 1, 1), language="ar") == "1 يناير 1900م"


@pytest.mark.parametrize(("year", "month", "day"), [(1448, 13, 1), (1600, 1, 1), (1448, 1, 31)])
def test_impossible_hijri_dates_raise(year: int, month: int, day: int) -> None:
    with pytest.raises((ValueError, OverflowError)):
        from_hijri(year, month, day)


def test_dual_date_in_arabic() -> None:
    assert format_dual(dt.date(2026, 9, 13), language="ar") == "13 سبتمبر 2026م (2 ربيع الثاني 1448هـ)"


def test_dual_date_in_english() -> None:
    assert format_dual(dt.date(2026, 9, 13), language="en") == "13 September 2026 (2 Rabi' al-Thani 1448 AH)"


def test_hijri_first_puts_the_register_calendar_first() -> None:
    assert (
        format_dual(dt.date(2026, 9, 13), hijri_first=True, language="ar")
        == "2 ربيع الثاني 1448هـ (13 سبتمبر 2026م)"
    )


@pytest.mark.parametrize(
    ("precision", "english", "arabic"),
    [
        ("year", "1990 (1410 AH)", "1990م (1410هـ)"),
        ("month", "January 1990 (Rajab 1410 AH)", "يناير 1990م (رجب 1410هـ)"),
        ("day", "27 January 1990 (1 Rajab 1410 AH)", "27 يناير 1990م (1 رجب 1410هـ)"),
    ],
)
def test_partial_dates_of_birth_show_only_what_is_known(precision: str, english: str, arabic: str) -> None:
    placeholder = dt.date(1990, 1, 27)
    assert format_dual(placeholder, precision=precision, language="en") == english
    assert format_dual(placeholder, precision=precision, language="ar") == arabic


def test_no_date_shows_nothing() -> None:
    assert format_dual(None) == ""


def test_language_follows_the_active_translation() -> None:
    with translation.override("en"):
        assert format_gregorian(dt.date(2026, 9, 13)) == "13 September 2026"
    with translation.override("ar"):
        assert format_gregorian(dt.date(2026, 9, 13)) == "13 سبتمبر 2026م"
    with translation.override("en-gb"):
        assert format_hijri(dt.date(2026, 9, 13)) == "2 Rabi' al-Thani 1448 AH"


def test_a_moment_is_shown_in_riyadh_in_both_calendars_with_the_clock_time() -> None:
    from hawiya.core.calendars import format_dual_moment

    # 22:30 UTC is 01:30 the next day in Riyadh: the date follows Riyadh, not UTC.
    moment = dt.datetime(2026, 9, 12, 22, 30, tzinfo=dt.UTC)
    assert format_dual_moment(moment, language="ar") == "13 سبتمبر 2026م (2 ربيع الثاني 1448هـ) الساعة 01:30"
    assert (
        format_dual_moment(moment, language="en") == "13 September 2026 (2 Rabi' al-Thani 1448 AH) at 01:30"
    )
