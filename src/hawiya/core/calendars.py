"""Dates shown in both calendars: Gregorian and Hijri (Umm al-Qura).

Hawiya stores Gregorian dates; wherever a date matters to a citizen it is shown in both
(docs/ui.md §3), e.g. "13 سبتمبر 2026م (2 ربيع الثاني 1448هـ)". Umm al-Qura covers 1924-08-01 to
2077-11-16 only: outside it the Hijri part is left out rather than guessed.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.utils.translation import get_language
from hijridate import Gregorian, Hijri

from hawiya.core.clock import RIYADH


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (or earlier); 29 February becomes the 28th in common years
    (an ID card's validity, an age)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


GREGORIAN_MONTHS = {
    "ar": [
        "يناير",
        "فبراير",
        "مارس",
        "أبريل",
        "مايو",
        "يونيو",
        "يوليو",
        "أغسطس",
        "سبتمبر",
        "أكتوبر",
        "نوفمبر",
        "ديسمبر",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}


def _language(language: str | None) -> Literal["ar", "en"]:
    return "ar" if (language or get_language() or "ar").startswith("ar") else "en"


def to_hijri(value: dt.date) -> Hijri | None:
    """The Umm al-Qura date, or None outside the calendar's range."""
    try:
        return Gregorian(value.year, value.month, value.day).to_hijri()
    except (OverflowError, ValueError):
        return None


def from_hijri(year: int, month: int, day: int) -> dt.date:
    """Gregorian date of a Hijri one; ValueError/OverflowError for an impossible or out-of-range day."""
    gregorian = Hijri(year, month, day).to_gregorian()
    # hijridate answers with its own date subclass; database drivers want a plain date.
    return dt.date(gregorian.year, gregorian.month, gregorian.day)


def format_gregorian(value: dt.date, *, precision: str = "day", language: str | None = None) -> str:
    lang = _language(language)
    suffix = "م" if lang == "ar" else ""
    month = GREGORIAN_MONTHS[lang][value.month - 1]
    if precision == "year":
        return f"{value.year}{suffix}"
    if precision == "month":
        return f"{month} {value.year}{suffix}"
    return f"{value.day} {month} {value.year}{suffix}"


def format_hijri(value: dt.date, *, precision: str = "day", language: str | None = None) -> str | None:
    lang = _language(language)
    hijri = to_hijri(value)
    if hijri is None:
        return None
    suffix = "هـ" if lang == "ar" else " AH"
    month = hijri.month_name(lang)
    if precision == "year":
        return f"{hijri.year}{suffix}"
    if precision == "month":
        return f"{month} {hijri.year}{suffix}"
    return f"{hijri.day} {month} {hijri.year}{suffix}"


def format_dual(
    value: dt.date | None, *, precision: str = "day", hijri_first: bool = False, language: str | None = None
) -> str:
    """Both calendars, the register's own first: "2 ربيع الثاني 1448هـ (13 سبتمبر 2026م)"."""
    if value is None:
        return ""
    gregorian = format_gregorian(value, precision=precision, language=language)
    hijri = format_hijri(value, precision=precision, language=language)
    if hijri is None:
        return gregorian
    first, second = (hijri, gregorian) if hijri_first else (gregorian, hijri)
    return f"{first} ({second})"


def civil_date(value: dt.date) -> dt.date:
    """The date a person sees: an aware datetime is a moment, read in Riyadh (a 23:30 UTC
    appointment falls on the next day there); a plain date is itself."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(RIYADH).date()
        return value.date()
    return value


def format_dual_moment(value: dt.datetime, *, language: str | None = None) -> str:
    """A moment in Riyadh time, in both calendars and with the clock time:
    "1 مارس 2026م (11 رمضان 1447هـ) الساعة 11:00" / "1 March 2026 (11 Ramadan 1447 AH) at 11:00".

    The one place that writes a moment for a person: text messages, the notification centre,
    the security history and the staff audit tables all use it."""
    lang = _language(language)
    local = value.astimezone(RIYADH) if value.tzinfo is not None else value
    date = format_dual(local.date(), language=lang)
    time = local.strftime("%H:%M")
    return f"{date} الساعة {time}" if lang == "ar" else f"{date} at {time}"
