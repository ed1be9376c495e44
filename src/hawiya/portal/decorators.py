"""Guards for citizen pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.core.client import client_ip
from hawiya.identity.models import User
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_from_session, recent_auth_is_fresh
from hawiya.registry.models import Person

View = Callable[..., HttpResponse]


def citizen_required(view: View) -> View:
    """Signed in with a digital identity (an account bound to a person of the register)."""

    @login_required
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request.user, "person_id", None) is None:
            # Staff accounts have no citizen pages; answer as for a page that is not theirs.
            return redirect("portal:home")
        return view(request, *args, **kwargs)

    return guarded


def require_recent_auth(view: View) -> View:
    """Sensitive changes need a sign-in or a fresh code less than five minutes old; otherwise the
    person confirms it is them (portal:reauthenticate) and comes back to the same page."""

    @citizen_required
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        last = recent_auth_from_session(request.session.get(RECENT_AUTH_SESSION_KEY))
        if not recent_auth_is_fresh(last, clock.now()):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('portal:reauthenticate')}?{query}")
        return view(request, *args, **kwargs)

    return guarded


def citizen_of(request: HttpRequest) -> Person:
    """The signed-in person of a view guarded by `citizen_required` (404 otherwise, which the
    guard already prevents: this narrows the type and fails closed)."""
    user = request.user
    if not isinstance(user, User) or user.person is None:
        raise Http404("not signed in")
    return user.person


def citizen_actor(request: HttpRequest) -> Actor:
    """Who acts in a citizen's own step, for the services and the audit trail: their account and
    address (guarded like `citizen_of`)."""
    user = request.user
    if not isinstance(user, User) or user.person is None:
        raise Http404("not signed in")
    return Actor.citizen(user.pk, ip=client_ip(request))


def personal_page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render a page holding personal data: never kept by shared caches or the back-forward cache."""
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response
