"""Portal middleware: answer the load balancer's and the orchestrator's probes whatever the Host;
remember the language a person last read in, so "/" sends them back to it;
sign out a person idle for 15 minutes; answer "try again in a moment" when Hawiya is at a limit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import resolve, reverse
from django.utils.translation import get_language_from_path

from hawiya.core import clock
from hawiya.core.errors import ServiceBusy
from hawiya.core.guard import API_PREFIX
from hawiya.identity.models import User
from hawiya.identity.services.sessions import SessionEnd, user_session_end, user_session_touch

from . import session_keys

SameSite = Literal["Lax", "Strict", "None", False] | None


def probes(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """/healthz and /readyz before anything that reads the Host header: a load balancer's check
    and Kubernetes' probes address the node by its own IP, which is (rightly) not in
    ALLOWED_HOSTS, and would otherwise get 400. Nothing else is served this way."""
    # Here, not at the top: the views import the context processors, which import this module.
    from .views import healthz, readyz

    answers = {"/healthz": healthz, "/readyz": readyz}

    def middleware(request: HttpRequest) -> HttpResponse:
        probe = answers.get(request.path_info)
        if probe is None:
            return get_response(request)
        # Named as the URL resolver would, so the request log and the metrics know it is a probe.
        request.resolver_match = resolve(request.path_info)
        return probe(request)

    return middleware


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


def _timestamp(value: object) -> float | None:
    return None if isinstance(value, bool) or not isinstance(value, int | float) else float(value)


IDLE_TIMEOUT = dt.timedelta(minutes=15)
IDLE_WARNING_BEFORE = dt.timedelta(minutes=2)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
# The last-activity stamp (and the recorded session's "last seen") is written at most this often.
ACTIVITY_RESOLUTION = dt.timedelta(minutes=1)
# Sent by a page's script on the requests it makes by itself (not the person's activity).
BACKGROUND_HEADER = "X-Hawiya-Background"


def idle_timeout(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Sign out a person idle for 15 minutes, or signed in for 12 hours; note activity at most
    once a minute.

    Place after AuthenticationMiddleware and MessageMiddleware. The 12-hour limit is counted from
    the first signed-in request of the session (login() keeps the session's data when it rotates
    the key, and logout() flushes it). A timed-out session ends like a sign-out (user_session_end:
    a citizen's connected parties are told). A timed-out request goes to the sign-in page, which
    says why; a GET comes back to the same page after signing in again.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return get_response(request)
        session = request.session
        now = clock.now().timestamp()
        last = _timestamp(session.get(session_keys.LAST_ACTIVITY))
        signed_in_at = _timestamp(session.get(session_keys.SIGNED_IN_AT))
        if signed_in_at is None:
            session[session_keys.SIGNED_IN_AT] = now
        idle = last is not None and now - last > IDLE_TIMEOUT.total_seconds()
        too_long = signed_in_at is not None and now - signed_in_at > ABSOLUTE_TIMEOUT.total_seconds()
        if idle or too_long:
            # Staff accounts (no person) sign in again at the back-office's own page.
            sign_in = (
                "portal:sign-in" if getattr(user, "person_id", None) is not None else "backoffice:sign-in"
            )
            # A citizen's parties are told, as at a sign-out (back-channel logout, by a worker).
            user_session_end(
                session_key=session.session_key,
                user=user if isinstance(user, User) else None,
                reason=SessionEnd.TIMED_OUT,
            )
            logout(request)
            query = {"timeout": "1" if idle else "session"}
            if request.method in ("GET", "HEAD"):
                query["next"] = request.get_full_path()
            return HttpResponseRedirect(f"{reverse(sign_in)}?{urlencode(query)}")
        # A page's background poll (approvals.js) is not the person's activity: it would keep an
        # open page signed in for ever.
        background = request.headers.get(BACKGROUND_HEADER) == "1"
        if not background and (last is None or now - last >= ACTIVITY_RESOLUTION.total_seconds()):
            session[session_keys.LAST_ACTIVITY] = now
            if session.session_key:
                user_session_touch(session_key=session.session_key)
        return get_response(request)

    return middleware


class ServiceBusyMiddleware:
    """A view that met a limit of Hawiya's own (core.errors.ServiceBusy: all the password-hashing
    slots of this process taken) answers 503 with Retry-After: the "try again in a moment" page,
    or the API's JSON error. Never a 500, and nothing the person typed is lost (they go back)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ServiceBusy):
            return None
        response: HttpResponse
        if request.path.startswith(API_PREFIX):
            response = JsonResponse({"code": exception.code, "message": str(exception.message)})
        else:
            response = render(request, "portal/errors/503.html", {"message": exception.message})
        response["Cache-Control"] = "no-store"
        return exception.answer(response)
