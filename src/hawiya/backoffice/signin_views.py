"""Staff sign-in: username and password, then the authenticator app's code (identity's
`sign_in_start` / `sign_in_verify`, method totp). Sign-out, and the back-office home.

Only staff accounts get in: a citizen's account with the right password is refused with the
wrong-credentials message, so this page never tells whose password was right. In demo mode
the code page shows the demo account's current code, as the demo SMS inbox does for citizens.
The journey lives in the session under SIGN_IN_SESSION_KEY: {"challenge", "username", "next"}.
"""

from __future__ import annotations

from typing import Any

import pyotp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from hawiya.core.client import client_ip, client_user_agent, local_url
from hawiya.core.errors import ApplicationError, ServiceBusy
from hawiya.identity import errors as identity_errors
from hawiya.identity import services as identity_services
from hawiya.identity.demo_staff import demo_staff_secret
from hawiya.identity.models import Method, User
from hawiya.identity.selectors import (
    sign_in_challenge_has_passkey,
    sign_in_challenge_is_staff,
    sign_in_challenge_needs_passkey,
)
from hawiya.identity.signin import session_sign_in
from hawiya.identity.staff import PERM_VIEW_DASHBOARD, PERM_WORK_CASES, staff_actor_for

from .decorators import staff_of, staff_page, staff_required
from .forms import StaffCodeForm, StaffSignInForm

SIGN_IN_SESSION_KEY = "hawiya_backoffice_sign_in"


def safe_next(request: HttpRequest, value: object) -> str | None:
    """`value` when it is a local back-office URL of this site, else None."""
    return local_url(request, value, under="/staff/")


def _journey(request: HttpRequest) -> dict[str, Any] | None:
    data = request.session.get(SIGN_IN_SESSION_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("challenge"), str):
        return None
    return data


def _wrong_credentials() -> str:
    return str(identity_errors.MESSAGES[identity_errors.INVALID_CREDENTIALS])


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if staff_actor_for(request.user) is not None:
        return redirect("backoffice:home")
    busy: ServiceBusy | None = None
    if request.method == "POST":
        form = StaffSignInForm(request.POST)
        if form.is_valid():
            try:
                challenge = identity_services.sign_in_start(
                    login=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                    ip=client_ip(request),
                    user_agent=client_user_agent(request),
                )
            except ServiceBusy as error:
                # Every hashing slot taken: the form again, with what was typed, as a 503.
                form.add_page_error(error.message)
                busy = error
            except ApplicationError as error:
                form.add_page_error(error.message)
            else:
                if not sign_in_challenge_is_staff(challenge=challenge.challenge):
                    form.add_page_error(_wrong_credentials())
                elif Method.TOTP not in challenge.methods:
                    form.add_page_error(
                        _("This account has no authenticator app. Ask an administrator to set one up.")
                    )
                else:
                    request.session[SIGN_IN_SESSION_KEY] = {
                        "challenge": challenge.challenge,
                        "username": form.cleaned_data["username"].strip().lower(),
                        "next": safe_next(request, form.cleaned_data.get("next")) or "",
                    }
                    return redirect("backoffice:sign-in-code")
    else:
        form = StaffSignInForm(initial={"next": safe_next(request, request.GET.get("next")) or ""})
    # A form shown again with its errors is a 400 (a wrong password included), never a 200.
    response = staff_page(
        request, "backoffice/sign_in.html", {"form": form}, status=400 if form.errors else 200
    )
    return busy.answer(response) if busy else response


def _demo_code(data: dict[str, Any]) -> str:
    """The demo account's current authenticator code, in demo mode only ("" otherwise)."""
    if not getattr(settings, "DEMO", False):
        return ""
    secret = demo_staff_secret(str(data.get("username") or ""))
    return pyotp.TOTP(secret).now() if secret else ""


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    data = _journey(request)
    if data is None:
        messages.error(request, str(identity_errors.MESSAGES[identity_errors.CHALLENGE_EXPIRED]))
        return redirect("backoffice:sign-in")
    form = StaffCodeForm(request.POST or None)
    # The roles an administrator chose (/staff/security/roles/) and the server's floor.
    passkey_only = sign_in_challenge_needs_passkey(challenge=data["challenge"])
    if request.method == "POST" and passkey_only:
        # The role signs in with a passkey: the app's code is not checked (nor counted).
        form = StaffCodeForm()
        form.add_page_error(_("Your role signs in with a passkey. Use your passkey below."))
    elif request.method == "POST" and form.is_valid():
        try:
            user = identity_services.sign_in_verify(
                challenge=data["challenge"],
                code=form.cleaned_data["code"],
                method=Method.TOTP,
                ip=client_ip(request),
                user_agent=client_user_agent(request),
            )
        except ApplicationError as error:
            if error.code in (
                identity_errors.CHALLENGE_EXPIRED,
                identity_errors.ACCOUNT_LOCKED,
                identity_errors.ACCOUNT_BLOCKED,
            ):
                request.session.pop(SIGN_IN_SESSION_KEY, None)
                messages.error(request, str(error.message))
                return redirect("backoffice:sign-in")
            form.add_application_error(error)
        else:
            if staff_actor_for(user) is None:  # the account changed since the password step
                request.session.pop(SIGN_IN_SESSION_KEY, None)
                messages.error(request, _wrong_credentials())
                return redirect("backoffice:sign-in")
            next_url = safe_next(request, data.get("next"))
            complete_sign_in(request, user)
            return HttpResponseRedirect(next_url or reverse("backoffice:home"))
    context = {
        "form": form,
        "demo_code": _demo_code(data),
        # A staff member with a passkey may use it instead (passkey_views.sign_in).
        "has_passkey": sign_in_challenge_has_passkey(challenge=data["challenge"]),
        "passkey_only": passkey_only,
    }
    return staff_page(request, "backoffice/sign_in_code.html", context, status=400 if form.errors else 200)


def complete_sign_in(request: HttpRequest, user: User, *, method: str = "") -> None:
    session_sign_in(request, user, method=method)
    request.session.pop(SIGN_IN_SESSION_KEY, None)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    session_key = request.session.session_key
    if session_key:
        identity_services.user_session_end(session_key=session_key)
    was_signed_in = request.user.is_authenticated
    logout(request)
    if was_signed_in:
        messages.success(request, _("You have signed out."))
    return redirect("backoffice:sign-in")


@never_cache
@require_http_methods(["GET", "HEAD"])
@staff_required()
def home(request: HttpRequest) -> HttpResponse:
    """Officers and supervisors start on their day; administrators on the supervisor dashboard."""
    staff = staff_of(request)
    if staff.has(PERM_WORK_CASES):
        return redirect("backoffice:day")
    if staff.has(PERM_VIEW_DASHBOARD):
        try:
            return redirect(reverse("backoffice:supervisor-dashboard"))
        except NoReverseMatch:
            pass
    return staff_page(request, "backoffice/home.html", {})
