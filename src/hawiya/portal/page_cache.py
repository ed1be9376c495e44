"""Whole pages for visitors who are not signed in, kept by each web process for a minute.

The home page, the services' start pages and the content pages (privacy, terms, help...) are, for
a visitor with no session, made only of the code, the settings, the URL's language and the
accessibility tools' choice: the same bytes for every such visitor. Rendering them cost 3-4 ms of
server CPU against 0.6 for /healthz (issue 16, bench/pages.py); a process now renders each once a
minute per language and display choice.

Kept in the per-process cache `PAGE_CACHE` (settings.CACHES): never in a cache shared with other
processes or with personal data. A request with a session cookie (signed in, or with a message
waiting in its session) or a messages cookie, with a query string, or not a GET/HEAD is rendered
as before. Only a 200 that sets no cookie is kept. The middleware around the view (security
headers, CSP, language cookie) runs on every request, cached or not.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

from .display import COOKIE_NAME as DISPLAY_COOKIE
from .display import display_from_cookie

PAGE_CACHE = "pages"
# A minute: a deployment restarts the processes anyway; this bounds what a settings change missed.
PAGE_SECONDS = 60

View = Callable[..., HttpResponse]


def _cache_key(request: HttpRequest) -> str | None:
    """The key of this request's page, or None when it must be rendered for this visitor."""
    if request.method not in ("GET", "HEAD") or request.META.get("QUERY_STRING"):
        return None
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or CookieStorage.cookie_name in cookies:
        return None
    display = display_from_cookie(cookies.get(DISPLAY_COOKIE)).cookie_value
    # The host is in ALLOWED_HOSTS (checked before any view); the path is the route's own.
    return f"{request.get_host()}|{get_language()}|{display}|{request.path}"


def anonymous_page(view: View) -> View:
    """Serve `view`'s page from the per-process cache to a visitor without a session."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = _cache_key(request)
        if key is None:
            return view(request, *args, **kwargs)
        cache = caches[PAGE_CACHE]
        content = cache.get(key)
        if content is None:
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not response.streaming and not response.cookies:
                cache.set(key, response.content, PAGE_SECONDS)
        else:
            response = HttpResponse(content)
        # Rendered, the page reads the session (for messages), which varies it by cookie; served
        # from here it does not, but a shared cache downstream must still keep the two apart.
        patch_vary_headers(response, ("Cookie",))
        return response

    return wrapper


@receiver(setting_changed)
def _forget_pages(**kwargs: Any) -> None:
    """A page holds settings (the demo banner, the help line): a change in them (tests) drops it.
    A test that replaces CACHES without this cache renders no page with it."""
    if PAGE_CACHE in settings.CACHES:
        caches[PAGE_CACHE].clear()
