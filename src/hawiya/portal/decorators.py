"""Guards for citizen pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from hawiya.core import clock
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_from_session, recent_auth_is_fresh

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
