"""The OpenAPI document, answered before the sessions, CSRF, authentication and messages.

It is public, the same for every caller of a language, and changes only with the code, so a GET
for it needs none of the middleware after this one: they cost more than the answer itself (issue
16: the document at 0.37x /healthz by server CPU with them). The Host header is still checked,
the language is chosen as LocaleMiddleware would (cookie, then Accept-Language), and the request
id, the metrics and the security headers come from the middleware before this one.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import resolve
from django.utils import translation
from django.utils.cache import patch_vary_headers

Middleware = Callable[[HttpRequest], HttpResponse]


def openapi_document(get_response: Middleware) -> Middleware:
    # Here, not at the top: the API's routers import the services, which need the apps ready.
    from .v1 import api

    path = f"{api.get_root_path({})}openapi.json"

    def middleware(request: HttpRequest) -> HttpResponse:
        # Anything else, or with a query string (the guards' limits apply to it), goes the long way.
        if (
            request.path_info != path
            or request.method not in ("GET", "HEAD")
            or request.META.get("QUERY_STRING")
        ):
            return get_response(request)
        request.get_host()  # DisallowedHost (400) for a host not in ALLOWED_HOSTS, as on every page
        language = translation.get_language_from_request(request)
        with translation.override(language):
            body = api.openapi_document()
        # Named as the URL resolver would, so the request log and the metrics know the route.
        request.resolver_match = resolve(request.path_info)
        response = HttpResponse(body, content_type="application/json")
        response.headers["Content-Language"] = language
        response.headers["X-Frame-Options"] = settings.X_FRAME_OPTIONS  # as on every other answer
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response

    return middleware
