"""Remember the language a person last read in, so "/" sends them back to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language_from_path

SameSite = Literal["Lax", "Strict", "None", False] | None


def remember_language(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Set the language cookie whenever the URL's prefix (/ar/, /en/) differs from it.

    The URL is the source of truth (a shared link opens in its language); the cookie only serves
    the bare "/" and is written only when it changes, so most responses carry no Set-Cookie.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        language = get_language_from_path(request.path_info)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=cast(SameSite, settings.LANGUAGE_COOKIE_SAMESITE),
            )
        return response

    return middleware
