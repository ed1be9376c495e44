"""An office's name as a notification carries it: in both languages, the reader's shown."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from hawiya.notifications.templates import bilingual

from .models import Office

# When a request has no office yet (a delivery that never reached one).
ANY_OFFICE = _("your civil-affairs office")


def office_in_notice(office: Office | None) -> dict[str, str]:
    """The office's name for a text message or the notification centre: `{"ar": ..., "en": ...}`,
    so the English message and the English notification centre never show the Arabic name (nor
    the office's code)."""
    if office is None:
        return bilingual(ANY_OFFICE)
    return bilingual(lambda language: office.name_ar if language == "ar" else office.name_en)
