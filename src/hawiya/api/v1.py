"""The public REST API, version 1 (django-ninja; OpenAPI at /api/v1/openapi.json, docs at
/api/v1/docs). One router module per subject; each endpoint parses, calls one service or
selector, and answers errors as JSON `{"code", "message"}` with a stable code."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.responses import Response

from hawiya.core.errors import ApplicationError, ServiceBusy

from .approvals import router as approvals_router
from .courier import router as courier_router
from .document_status import router as document_status_router
from .payments import router as payments_router
from .sms import router as sms_router


class HawiyaAPI(NinjaAPI):
    """The OpenAPI document is built once per process, root path and language, not at every
    request: it changes only with the code, and a deployment restarts the processes. Building it
    cost ~30 ms a request, 150 times a health check (issue 16: OpenAPI at 0.06x the bare view).
    Its JSON text is kept too (`openapi_document`): encoding 29 kB again was a third of what a
    request for it still cost."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.schemas: dict[tuple[str, str], OpenAPISchema] = {}
        self.documents: dict[tuple[str, str], bytes] = {}

    def openapi_document(self) -> bytes:
        """The OpenAPI document as JSON, in the active language: what ninja's openapi.json view
        answers, encoded once."""
        key = (self.get_root_path({}), translation.get_language() or "")
        if key not in self.documents:
            self.documents[key] = Response(self.get_openapi_schema(path_prefix=key[0])).content
        return self.documents[key]

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        prefix = path_prefix if path_prefix is not None else self.get_root_path(path_params or {})
        key = (prefix, translation.get_language() or "")
        if key not in self.schemas:
            self.schemas[key] = super().get_openapi_schema(path_prefix=prefix, path_params=path_params)
        return self.schemas[key]


api = HawiyaAPI(
    title="Hawiya API",
    version="1",
    description="National digital identity and civil-affairs services.",
    urls_namespace="api-v1",
)


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return _error_response(request, exc)


@api.exception_handler(ServiceBusy)
def service_busy(request: HttpRequest, exc: ServiceBusy) -> HttpResponse:
    """Hawiya at its own limit (not an ApplicationError): 503 with Retry-After, same shape."""
    return _error_response(request, exc)


def _error_response(request: HttpRequest, exc: ApplicationError | ServiceBusy) -> HttpResponse:
    response = api.create_response(
        request, {"code": exc.code, "message": str(exc.message)}, status=int(exc.status_code)
    )
    # An error that needs a header names it (WWW-Authenticate on 401/403, Retry-After on 429/503).
    for name, value in getattr(exc, "headers", {}).items():
        response[name] = value
    return response


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A body, query or path that does not fit the schema: 422 with the same `{code, message}`
    shape as every other error, plus where (`errors`: location and kind only, never the value)."""
    return api.create_response(
        request,
        {
            "code": "request_invalid",
            "message": str(_("The request does not have the expected fields or values.")),
            "errors": [
                {"loc": [str(part) for part in error.get("loc", ())], "type": str(error.get("type", ""))}
                for error in exc.errors
            ],
        },
        status=422,
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Ninja's own refusals (a body that is not JSON, e.g. a form post or a truncated document)
    in the same `{code, message}` shape, never its bare `{"detail": ...}`."""
    if exc.status_code == 400:
        code, message = "request_malformed", _("The request body is not valid JSON.")
    else:
        code, message = "request_refused", _("The request was refused.")
    return api.create_response(request, {"code": code, "message": str(message)}, status=exc.status_code)


api.add_router("/payments/", payments_router)
api.add_router("/courier/", courier_router)
api.add_router("/sms/", sms_router)
api.add_router("/document-status", document_status_router)
api.add_router("/approvals", approvals_router)
