"""Citizen portal pages: the shell (home, service start pages, footer pages, errors) and probes."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_safe

from hawiya.core.areas import STAFF_HOME, in_staff_area
from hawiya.core.client import local_url
from hawiya.replacements.requirements import requirements_by_kind

from . import display
from .catalogue import SERVICES, service_by_slug
from .context_processors import DEFAULT_SUPPORT_PHONE
from .page_cache import anonymous_page

logger = logging.getLogger(__name__)

# "/" only ever sends people to one of these: the cookie's value is looked up, never echoed.
LANGUAGE_HOMES = {"ar": "/ar/", "en": "/en/"}

# Each footer page shows its own last-updated date (DGA), separate from the platform's.
CONTENT_PAGES: dict[str, dt.date] = {
    "privacy": dt.date(2026, 11, 23),
    "cookies": dt.date(2026, 11, 23),
    "accessibility": dt.date(2026, 11, 23),
    "terms": dt.date(2026, 11, 23),
    "contact": dt.date(2026, 11, 23),
}
SERVICE_PAGES_UPDATED = dt.date(2026, 11, 23)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def root(request: HttpRequest) -> HttpResponse:
    """Send "/" to the language last used (the cookie set by remember_language), Arabic by default."""
    remembered = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    response = HttpResponseRedirect(LANGUAGE_HOMES.get(remembered, LANGUAGE_HOMES["ar"]))
    patch_vary_headers(response, ["Cookie"])
    return response


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers and bookmark tools ask for whatever the page links: the icon
    in the static files (hashed name in production), so it is never a 404."""
    response = HttpResponseRedirect(static("portal/favicon.ico"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing else, so a slow database never restarts it."""
    return _no_store(JsonResponse({"status": "ok"}))


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: the default database answers `SELECT 1`. Failure is a 503, never a 500 or a trace."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        # Whatever broke (DatabaseError, OperationalError, a driver error), the probe answers
        # "not ready"; the detail goes to the log, never to the caller.
        logger.warning("readyz: database check failed", exc_info=True)
        return _no_store(JsonResponse({"status": "unavailable", "database": "error"}, status=503))
    return _no_store(JsonResponse({"status": "ok", "database": "ok"}))


@anonymous_page
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"services": SERVICES})


@anonymous_page
def service_start(request: HttpRequest, slug: str) -> HttpResponse:
    service = service_by_slug(slug)
    if service is None:
        raise Http404("unknown service")
    context = {
        "service": service,
        "related_services": [other for other in SERVICES if other.slug != service.slug],
        # What to bring to the office, by kind of document (replacements.requirements).
        "kind_requirements": requirements_by_kind(),
        "page_updated": SERVICE_PAGES_UPDATED,
    }
    return render(request, service.template, context)


@anonymous_page
def content_page(request: HttpRequest, page: str) -> HttpResponse:
    if page not in CONTENT_PAGES:
        raise Http404("unknown page")
    context = {
        "page_updated": CONTENT_PAGES[page],
        "cookie_names": {
            "session": settings.SESSION_COOKIE_NAME,
            "csrf": settings.CSRF_COOKIE_NAME,
            "language": settings.LANGUAGE_COOKIE_NAME,
            "display": display.COOKIE_NAME,
        },
    }
    return render(request, f"portal/content/{page}.html", context)


@require_safe
def display_settings(request: HttpRequest) -> HttpResponse:
    """The footer's accessibility tools (a GET form, so they work without JavaScript and need no
    CSRF cookie): remember the text size or contrast chosen, then go back to the page, at the
    tools. The cookie is written only when something other than the defaults is chosen."""
    current = display.display_from_cookie(request.COOKIES.get(display.COOKIE_NAME))
    chosen = current.changed(text_size=request.GET.get("text_size"), contrast=request.GET.get("contrast"))
    target = local_url(request, request.GET.get("next")) or reverse("portal:home")
    if "#" not in target:
        target = f"{target}#display-tools"
    response = HttpResponseRedirect(target)
    if chosen.is_default:
        if display.COOKIE_NAME in request.COOKIES:
            response.delete_cookie(display.COOKIE_NAME, samesite="Lax")
    else:
        response.set_cookie(
            display.COOKIE_NAME,
            chosen.cookie_value,
            max_age=display.COOKIE_AGE,
            secure=bool(settings.SESSION_COOKIE_SECURE),
            httponly=True,
            samesite="Lax",
        )
    return _no_store(response)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "portal/errors/400.html", status=400)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "portal/errors/403.html", status=403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "portal/errors/404.html", status=404)


def too_many_requests(request: HttpRequest, *, retry_after: int | None = None) -> HttpResponse:
    """429 for an account past a per-window limit of its own (PDFs, audit-proof downloads): the
    "too many documents requested" page in the request's language, with `Retry-After` when the
    caller gives the seconds to wait. Not a handler: the views that count the limit answer it."""
    response = render(request, "portal/errors/429.html", status=429)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _staff_home_if_staff_area(request: HttpRequest) -> str:
    """The staff home's address when the failed request was for a back-office page, else "" (any
    failure here means the portal's page: this is the 500 page, it must not fail in turn)."""
    try:
        return reverse(STAFF_HOME) if in_staff_area(request) else ""
    except Exception:
        return ""


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """500: rendered without the request or context processors, which may be what failed. In the
    staff area it says so (the "Staff" marker, the staff home, no citizens' phone line)."""
    try:
        stylesheet = static("portal/hawiya.css")
    except Exception:
        # A missing static manifest must not turn the error page itself into a second error.
        stylesheet = ""
    template = loader.get_template("portal/errors/500.html")
    context = {
        "stylesheet": stylesheet,
        "support_phone": getattr(settings, "HAWIYA_SUPPORT_PHONE", DEFAULT_SUPPORT_PHONE),
        "staff_home": _staff_home_if_staff_area(request),
    }
    return HttpResponse(template.render(context), status=500)
