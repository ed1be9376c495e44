"""What every page-based sign-in does once the service said yes (portal and back-office alike)."""

from __future__ import annotations

from django.contrib.auth import login
from django.http import HttpRequest

from hawiya.core import clock
from hawiya.core.client import client_ip, client_user_agent

from .models import User
from .services.sessions import user_session_record
from .sessions import RECENT_AUTH_SESSION_KEY, SIGN_IN_METHOD_SESSION_KEY, recent_auth_session_value


def session_sign_in(request: HttpRequest, user: User, *, method: str = "") -> None:
    """Log `user` in (Django rotates the session key), record the session in the account's list
    of devices, and stamp the authentication as recent (for `require_recent_auth`). `method` is
    the second factor used (sms, totp, recovery): relying parties learn it as `amr`."""
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    session_key = request.session.session_key
    if session_key is None:
        request.session.save()
        session_key = request.session.session_key
    user_session_record(
        user=user, session_key=str(session_key), ip=client_ip(request), user_agent=client_user_agent(request)
    )
    request.session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(clock.now())
    request.session[SIGN_IN_METHOD_SESSION_KEY] = method
