"""The public REST API, version 1 (django-ninja; OpenAPI at /api/v1/openapi.json, docs at
/api/v1/docs). One router module per subject; each endpoint parses, calls one service or
selector, and answers errors as JSON `{"code", "message"}` with a stable code."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from hawiya.core.errors import ApplicationError

from .payments import router as payments_router

api = NinjaAPI(
    title="Hawiya API",
    version="1",
    description="National digital identity and civil-affairs services.",
    urls_namespace="api-v1",
)


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(
        request, {"code": exc.code, "message": str(exc.message)}, status=int(exc.status_code)
    )


api.add_router("/payments/", payments_router)
