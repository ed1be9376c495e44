"""Hawiya's URLs plus `/bench/bare/`, a view that returns a fixed JSON body: the baseline the
OIDC endpoints are compared with (the same server, the same middleware, no work of its own)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, path

from hawiya.config.urls import (  # noqa: F401 - the error handlers are looked up on this module
    handler400,
    handler403,
    handler404,
    handler500,
)
from hawiya.config.urls import urlpatterns as hawiya_urlpatterns


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "sub": "bench"})


urlpatterns: list[URLPattern | URLResolver] = [path("bench/bare/", bare), *hawiya_urlpatterns]
