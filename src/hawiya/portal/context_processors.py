"""What every portal page needs: demo flag, the language toggle, help contacts, release date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import translate_url
from django.utils.encoding import escape_uri_path
from django.utils.translation import get_language

from hawiya.core.guard import target_too_long
from hawiya.notifications.selectors import inbox_unread_count

from .display import COOKIE_NAME as DISPLAY_COOKIE
from .display import display_from_cookie
from .middleware import IDLE_TIMEOUT, IDLE_WARNING_BEFORE

# The date the platform last changed for citizens (DGA wants it in the footer). Bump on release.
PLATFORM_UPDATED = dt.date(2026, 11, 23)

# Each language is named in itself on the toggle, so a reader of the other language finds it.
LANGUAGE_SELF_NAMES = {"ar": "العربية", "en": "English"}

# The help line and mailbox. The defaults are placeholders (an unassigned number and a reserved
# .example domain) so that the demo never sends people to a real government line.
DEFAULT_SUPPORT_PHONE = "+966 11 000 0000"
DEFAULT_SUPPORT_EMAIL = "help@hawiya.example"


def current_language() -> str:
    return "en" if (get_language() or settings.LANGUAGE_CODE).startswith("en") else "ar"


def _query(request: HttpRequest) -> str:
    return str(request.META.get("QUERY_STRING", ""))


def this_page(request: HttpRequest) -> str:
    """This page's path with its query string, to come back to; the home page when the address is
    longer than a request line may carry (the page guard refuses such a request: its error page
    must not repeat the 100 kB in every link)."""
    if target_too_long(request):
        return f"/{current_language()}/"
    query = _query(request)
    return escape_uri_path(request.path) + (f"?{query}" if query else "")


def same_page_in(request: HttpRequest, language: str) -> str:
    """The URL of this page in `language`, query string kept (this_page's home page for an
    address too long).

    translate_url() reverses the resolved view under the other language. A path that resolves to
    nothing (a 404 page) comes back unchanged, so its language prefix is swapped by hand; the result
    always starts with "/ar/" or "/en/", never another host.
    """
    if target_too_long(request):
        return f"/{language}/"
    full_path = this_page(request)
    translated = translate_url(full_path, language)
    if translated != full_path:
        return translated
    query = _query(request)
    suffix = f"?{query}" if query else ""
    for code in LANGUAGE_SELF_NAMES:
        prefix = f"/{code}/"
        if request.path.startswith(prefix):
            return f"/{language}/{request.path[len(prefix) :]}{suffix}"
    return f"/{language}/"


def greeting_name(request: HttpRequest, language: str) -> str:
    """The signed-in person's first name in the page's language ("مرحبًا، محمد"); "" otherwise."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    person = getattr(user, "person", None)
    if person is None:
        return str(getattr(user, "username", ""))
    name = person.first_name_ar if language == "ar" else person.first_name_en
    return str(name or person.first_name_ar or person.first_name_en or "")


def unread_notifications(request: HttpRequest) -> int | None:
    """The signed-in citizen's unread notification count for the header link; None otherwise."""
    user = getattr(request, "user", None)
    person_id = getattr(user, "person_id", None) if user is not None and user.is_authenticated else None
    if not isinstance(person_id, int):
        return None
    return inbox_unread_count(person_id=person_id)


def portal(request: HttpRequest) -> dict[str, Any]:
    language = current_language()
    other = "en" if language == "ar" else "ar"
    match = getattr(request, "resolver_match", None)
    return {
        "DEMO": bool(settings.DEMO),
        "DGA_REGISTRATION": getattr(settings, "HAWIYA_DGA_REGISTRATION", ""),
        "other_language": {
            "code": other,
            "name": LANGUAGE_SELF_NAMES[other],
            "url": same_page_in(request, other),
        },
        "current_view": match.view_name if match else "",
        "this_page": this_page(request),
        "greeting_name": greeting_name(request, language),
        "inbox_unread": unread_notifications(request),
        "platform_updated": PLATFORM_UPDATED,
        # Seconds after a page load when hawiya.js warns of the idle sign-out (2 minutes before).
        "idle_warning_after": int((IDLE_TIMEOUT - IDLE_WARNING_BEFORE).total_seconds()),
        "support_phone": getattr(settings, "HAWIYA_SUPPORT_PHONE", DEFAULT_SUPPORT_PHONE),
        "support_email": getattr(settings, "HAWIYA_SUPPORT_EMAIL", DEFAULT_SUPPORT_EMAIL),
        # The accessibility tools' choice (text size, contrast), applied as classes on <html>.
        "display": display_from_cookie(request.COOKIES.get(DISPLAY_COOKIE)),
    }
