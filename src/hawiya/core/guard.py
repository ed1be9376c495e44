"""Input guards: a NUL byte never reaches a database lookup, and the API never answers HTML.

PostgreSQL refuses text containing the NUL character (U+0000) — even in a `WHERE` — so a `%00`
in a URL, a query, a form field, a header or a JSON string that reached a lookup before any form
or schema looked at it answered 500. No legitimate value of ours contains one, so both guards
refuse the whole request before any view runs:

- `page_guard` (pages): 400, the usual error page in the URL's language (the project's handler400).
- `api_guard` (everything under API_PREFIX): 400 `{"code": "request_malformed", "message"}`. It
  also turns any answer of the API that is not JSON (Django's 404 and 405, a body over the upload
  limit, a 500 page) into the API's JSON error shape, so an API client never parses HTML.

Long values, Eastern Arabic digits and bidi controls are not refused here: the forms and schemas
validate those, and the walker test (tests/test_no_server_errors.py) shows none of them gives a 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

API_PREFIX = "/api/"
NUL = "\x00"
# Gunicorn refuses a request line over 4094 bytes before Django sees it; the embedded and test
# servers do not, so a longer path or query string is refused here alike (a 100 kB search term
# reached SQLite's LIKE, which gives up at 50 kB: a 500 in the admin's search).
MAX_REQUEST_TARGET = 4094
REQUEST_MALFORMED = "request_malformed"
REQUEST_TOO_LARGE = "request_too_large"

Middleware = Callable[[HttpRequest], HttpResponse]


def target_too_long(request: HttpRequest) -> bool:
    """The path and query string together are longer than a request line may carry."""
    return len(request.path) + len(request.META.get("QUERY_STRING", "")) > MAX_REQUEST_TARGET


def _nul_in(values: Iterable[str]) -> bool:
    return any(NUL in value for value in values)


def _nul_in_query_or_form(request: HttpRequest, *, form: bool) -> str:
    """Where a NUL byte is in the URL, the query string, the headers or cookies, or (with `form`)
    the form fields and file names, or the address is too long: "" when nowhere."""
    if NUL in request.path or NUL in request.path_info:
        return "path"
    if target_too_long(request):
        return "address (too long)"
    if _nul_in(request.GET.keys()) or _nul_in(value for values in request.GET.lists() for value in values[1]):
        return "query"
    headers = (
        value for key, value in request.META.items() if key.startswith("HTTP_") and isinstance(value, str)
    )
    if _nul_in(headers):
        return "header"
    if _nul_in(request.COOKIES.keys()) or _nul_in(request.COOKIES.values()):
        return "cookie"
    if form and request.method not in ("GET", "HEAD", "OPTIONS"):
        if _nul_in(request.POST.keys()) or _nul_in(
            value for values in request.POST.lists() for value in values[1]
        ):
            return "form"
        if _nul_in(str(upload.name or "") for uploads in request.FILES.lists() for upload in uploads[1]):
            return "form"
    return ""


def _json_has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(NUL in key or _json_has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(item) for item in value)
    return False


def _nul_in_body(body: bytes) -> bool:
    """A raw NUL byte, or a JSON document with a NUL (`\\u0000`) in a string key or value. A body
    that is not JSON is left to the endpoint (which answers `request_malformed` itself)."""
    if b"\x00" in body:
        return True
    if b"\\u0000" not in body.lower():
        return False
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return _json_has_nul(document)


def page_guard(get_response: Middleware) -> Middleware:
    """Pages: a NUL byte anywhere in the request is answered 400 (the bilingual error page).

    Place after AuthenticationMiddleware and MessageMiddleware (the error page shows the header of
    a signed-in person) and before anything that reads the session's person or the database.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            where = _nul_in_query_or_form(request, form=True)
            if where:
                # Django's request logger records it as a warning (without a traceback: core.logs).
                raise BadRequest(f"Refused input ({where})")
        return get_response(request)

    return middleware


# What an answer of the API that is not JSON becomes (Django's own 404, 405, 413 and 500).
_API_ERRORS: dict[int, tuple[str, Promise]] = {
    400: (REQUEST_MALFORMED, gettext_lazy("The request is not valid.")),
    404: ("not_found", gettext_lazy("There is nothing at this address.")),
    405: ("method_not_allowed", gettext_lazy("This address does not accept this method.")),
    413: (REQUEST_TOO_LARGE, gettext_lazy("The request is too large.")),
    500: ("server_error", gettext_lazy("Something went wrong on our side. Try again later.")),
}
_REFUSED = ("request_refused", gettext_lazy("The request was refused."))


def api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _api_refusal(request: HttpRequest) -> JsonResponse | None:
    where = _nul_in_query_or_form(request, form=False)
    if not where:
        try:
            body = request.body
        except RequestDataTooBig:
            return api_error(413, REQUEST_TOO_LARGE, _("The request is too large."))
        if _nul_in_body(body):
            where = "body"
    if not where:
        return None
    if where.endswith("(too long)"):
        return api_error(400, REQUEST_MALFORMED, _("The address of the request is too long."))
    return api_error(
        400, REQUEST_MALFORMED, _("The request contains a character that is not allowed (a NUL byte).")
    )


def api_guard(get_response: Middleware) -> Middleware:
    """The API (paths under API_PREFIX): a NUL byte anywhere is answered 400 `request_malformed`,
    a body over the upload limit 413 `request_too_large`, and every answer that is not JSON is
    replaced by the JSON error shape `{code, message}` with the same status.

    Place early (before the session and the page guard): the API uses neither cookies nor pages.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return get_response(request)
        refusal = _api_refusal(request)
        if refusal is not None:
            return refusal
        response = get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and not content_type.startswith("application/json"):
            code, message = _API_ERRORS.get(
                response.status_code, _API_ERRORS[500] if response.status_code >= 500 else _REFUSED
            )
            replacement = api_error(response.status_code, code, str(message))
            for header in ("Allow", "Retry-After"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response

    return middleware
