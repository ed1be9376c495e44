"""Template tags shared by every interface app: `{% load hawiya %}`.

- `{{ value|dual_date }}` / `{{ value|dual_date:"month" }}`: Gregorian first, Hijri in brackets.
- `{{ value|dual_date_hijri }}` / `{{ value|dual_date_hijri:"year" }}`: Hijri first, for dates the
  register holds in the Hijri calendar (a citizen's date of birth, UI.md §3).
- `{{ value|ltr }}`: an ID, phone, code or reference inside Arabic text, isolated as
  `<bdi dir="ltr">` so its digits and "+" keep their order (UI.md §3).
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from hawiya.core.calendars import format_dual
from hawiya.core.clock import RIYADH

register = template.Library()

PRECISIONS = frozenset({"day", "month", "year"})


def _civil_date(value: dt.date) -> dt.date:
    # An aware datetime is a moment: the date a person sees is the one in Riyadh, not in UTC
    # (a 23:30 UTC appointment falls on the next day in Riyadh).
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            return value.astimezone(RIYADH).date()
        return value.date()
    return value


def _dual(value: dt.date | None, precision: str, *, hijri_first: bool) -> str:
    if precision not in PRECISIONS:
        # A typo in a template must fail in tests, not print a wrong date to a citizen.
        raise template.TemplateSyntaxError(f"dual_date precision must be one of {sorted(PRECISIONS)}")
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.date):
        raise template.TemplateSyntaxError("dual_date expects a date or a datetime")
    return format_dual(_civil_date(value), precision=precision, hijri_first=hijri_first)


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
