"""Template tags shared by every interface app: `{% load hawiya %}`.

- `{{ value|dual_date }}` / `{{ value|dual_date:"month" }}`: Gregorian first, Hijri in brackets.
- `{{ value|dual_date_hijri }}` / `{{ value|dual_date_hijri:"year" }}`: Hijri first, for dates the
  register holds in the Hijri calendar (a citizen's date of birth, docs/ui.md §3).
- `{{ moment|dual_datetime }}`: a moment in Riyadh time, both calendars and the clock time
  ("1 March 2026 (11 Ramadan 1447 AH) at 11:00").
- `{{ value|ltr }}`: an ID, phone, code or reference inside Arabic text, isolated as
  `<bdi dir="ltr">` so its digits and "+" keep their order (docs/ui.md §3).
- `{{ value|bdi }}`: text of either direction (an office name) isolated as `<bdi>`.
- `{{ items|join_list }}`: a list joined with "، " in Arabic and ", " in English.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from hawiya.core.calendars import civil_date, format_dual, format_dual_moment
from hawiya.core.text import join_list as _join_list

register = template.Library()

PRECISIONS = frozenset({"day", "month", "year"})


def _dual(value: dt.date | None, precision: str, *, hijri_first: bool) -> str:
    if precision not in PRECISIONS:
        # A typo in a template must fail in tests, not print a wrong date to a citizen.
        raise template.TemplateSyntaxError(f"dual_date precision must be one of {sorted(PRECISIONS)}")
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.date):
        raise template.TemplateSyntaxError("dual_date expects a date or a datetime")
    return format_dual(civil_date(value), precision=precision, hijri_first=hijri_first)


@register.filter
def dual_date(value: dt.date | None, precision: str = "day") -> str:
    """Gregorian date with its Hijri (Umm al-Qura) equivalent, in the active language."""
    return _dual(value, precision, hijri_first=False)


@register.filter
def dual_date_hijri(value: dt.date | None, precision: str = "day") -> str:
    """Hijri date first, Gregorian in brackets."""
    return _dual(value, precision, hijri_first=True)


@register.filter(is_safe=True)
def ltr(value: object) -> SafeString | str:
    """Wrap a left-to-right value in `<bdi dir="ltr">`, escaping it."""
    if value is None or value == "":
        return ""
    return format_html('<bdi dir="ltr">{}</bdi>', value)


@register.filter
def dual_datetime(value: dt.datetime | None) -> str:
    """A moment in Riyadh time: Gregorian date, Hijri in brackets, then the clock time."""
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.datetime):
        raise template.TemplateSyntaxError("dual_datetime expects a datetime")
    return format_dual_moment(value)


@register.filter(is_safe=True)
def bdi(value: object) -> SafeString | str:
    """Wrap text of either direction (a name) in `<bdi>`, escaping it."""
    if value is None or value == "":
        return ""
    return format_html("<bdi>{}</bdi>", value)


@register.filter
def join_list(value: object) -> str:
    """A list joined with the active language's separator ("، " in Arabic)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str) or not isinstance(value, Iterable):
        return str(value)
    return _join_list(value)
