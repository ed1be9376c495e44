"""Passkeys' pages (identity/services/passkeys.py): add, rename and remove them from "Sign-in
methods"; sign in with one; confirm it is you with one before a sensitive change.

Every ceremony is two requests: passkeys.js POSTs to an options view (JSON answer; the challenge
is kept in the session and, hashed, in the database), calls the browser, then submits the page's
form with the browser's answer in a hidden field. The form's view checks it through the service
and answers with an ordinary page: a redirect, or the page again with the error summary (400).
Garbage in the hidden field is a form error, never a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from hawiya.audit.actors import Actor
from hawiya.core.client import client_ip, client_user_agent
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity import errors as identity_errors
from hawiya.identity.models import Method, Passkey, User
from hawiya.identity.passkey_answers import passkey_json_error, passkey_options_json
from hawiya.identity.services import passkeys
from hawiya.identity.sessions import (
    RECENT_AUTH_SESSION_KEY,
    SIGN_IN_METHOD_SESSION_KEY,
    recent_auth_session_value,
)

from . import session_keys
from .account_forms import PasskeyAddForm, PasskeyAssertionForm, PasskeyNameForm
from .decorators import citizen_required, personal_page, require_recent_auth
from .forms import SignInForm
from .signin_views import account_home_url, complete_sign_in, locked_answer, safe_next, sign_in_context

MAX_ID = 2**63 - 1


def account_of(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # citizen_required lets only signed-in accounts through
        raise Http404("not signed in")
    return user


def _parse_id(value: str) -> int:
    if not value.isdigit() or len(value) > 19 or not 0 < int(value) <= MAX_ID:
        raise Http404("malformed id")
    return int(value)


# --- My account: add, rename, remove ----------------------------------------------------------


@require_recent_auth
@require_POST
def passkey_options(request: HttpRequest) -> HttpResponse:
    """The options for navigator.credentials.create(), as JSON (passkeys.js asks for them)."""
    options = passkeys.passkey_registration_options(user=account_of(request))
    request.session[session_keys.PASSKEY_REGISTRATION] = options.challenge
    return passkey_options_json(options)


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def passkey_add(request: HttpRequest) -> HttpResponse:
    """What a passkey is, a name for it, and the button that makes it (passkeys.js); without
    WebAuthn in the browser the page says so instead of offering the button."""
    user = account_of(request)
    form = PasskeyAddForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if not form.cleaned_data["credential"]:
                form.add_page_error(_("Your browser did not make a passkey. Try again."))
            else:
                try:
                    passkeys.passkey_register(
                        actor=Actor.citizen(user.pk, ip=client_ip(request)),
                        user=user,
                        challenge=request.session.pop(session_keys.PASSKEY_REGISTRATION, ""),
                        credential=form.cleaned_data["credential"],
                        name=form.cleaned_data["name"],
                        ip=client_ip(request),
                        user_agent=client_user_agent(request),
                    )
                except ApplicationError as exc:
                    form.add_application_error(exc)
                else:
                    messages.success(
                        request,
                        _(
                            "Your passkey is added. Next time, sign in with your fingerprint, "
                            "face or screen lock."
                        ),
                    )
                    return redirect("portal:account-methods")
        elif "credential" in form.errors:
            # The hidden field has no place on the page: its error is the page's.
            del form.errors["credential"]
            form.add_page_error(identity_errors.MESSAGES[identity_errors.PASSKEY_INVALID])
        status = 400
    return personal_page(request, "portal/account/passkey_add.html", {"form": form}, status=status)


def _own_passkey(user: User, passkey_id: str) -> Passkey:
    number = _parse_id(passkey_id)
    found = next((item for item in passkeys.passkeys_of(user=user) if item.pk == number), None)
    if found is None:
        raise Http404("no such passkey")
    return found


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def passkey_rename(request: HttpRequest, passkey_id: str) -> HttpResponse:
    user = account_of(request)
    passkey = _own_passkey(user, passkey_id)
    form = PasskeyNameForm(request.POST if request.method == "POST" else None, initial={"name": passkey.name})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                passkeys.passkey_rename(
                    actor=Actor.citizen(user.pk, ip=client_ip(request)),
                    user=user,
                    passkey_id=passkey.pk,
                    name=form.cleaned_data["name"],
                )
            except NotFound as exc:
                raise Http404(exc.code) from exc
            except ApplicationError as exc:
                form.add_application_error(exc)
            else:
                messages.success(request, _("The passkey has been renamed."))
                return redirect("portal:account-methods")
        status = 400
    return personal_page(
        request, "portal/account/passkey_rename.html", {"form": form, "passkey": passkey}, status=status
    )


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def passkey_remove(request: HttpRequest, passkey_id: str) -> HttpResponse:
    """A confirmation page stating the consequence, then the removal (never the last way in)."""
    user = account_of(request)
    passkey = _own_passkey(user, passkey_id)
    if request.method != "POST":
        return personal_page(request, "portal/account/passkey_remove_confirm.html", {"passkey": passkey})
    try:
        passkeys.passkey_remove(
            actor=Actor.citizen(user.pk, ip=client_ip(request)),
            user=user,
            passkey_id=passkey.pk,
            ip=client_ip(request),
            user_agent=client_user_agent(request),
        )
    except NotFound as exc:
        raise Http404(exc.code) from exc
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("portal:account-methods")
    messages.success(request, _("The passkey has been removed from your account."))
    return redirect("portal:account-methods")


# --- Sign in with a passkey ----------------------------------------------------------------------


@never_cache
@require_POST
def sign_in_options(request: HttpRequest) -> HttpResponse:
    """Options for navigator.credentials.get() at sign-in (no account named: the browser offers
    the passkeys it holds for this site). Throttled per IP like other sign-in starts."""
    try:
        options = passkeys.passkey_authentication_options(user=None, ip=client_ip(request))
    except ApplicationError as error:
        return passkey_json_error(error)
    request.session[session_keys.PASSKEY_SIGN_IN] = options.challenge
    return passkey_options_json(options)


@never_cache
@require_POST
def sign_in(request: HttpRequest) -> HttpResponse:
    """The browser's answer: signed in with the passkey alone (it is two factors in one)."""
    next_url = safe_next(request, request.POST.get("next"))
    form = PasskeyAssertionForm(request.POST)
    challenge = session_keys.pop_text(request.session, session_keys.PASSKEY_SIGN_IN)
    message: object = identity_errors.MESSAGES[identity_errors.PASSKEY_INVALID]
    if form.is_valid() and form.cleaned_data["credential"]:
        try:
            user = passkeys.passkey_sign_in(
                challenge=challenge,
                credential=form.cleaned_data["credential"],
                ip=client_ip(request),
                user_agent=client_user_agent(request),
            )
        except ApplicationError as error:
            if error.code == identity_errors.ACCOUNT_LOCKED:
                return locked_answer(request, error)
            message = error.message
        else:
            complete_sign_in(request, user, Method.PASSKEY)
            return HttpResponseRedirect(next_url or account_home_url())
    page_form = SignInForm(initial={"next": next_url or ""})
    page_form.add_page_error(message)
    return render(request, "portal/identity/sign_in.html", sign_in_context(page_form, next_url), status=400)


# --- Confirm it is you with a passkey --------------------------------------------------------------


@never_cache
@citizen_required
@require_POST
def reauthenticate_options(request: HttpRequest) -> HttpResponse:
    """Options naming the holder's own passkeys, to confirm it is them before a sensitive change."""
    try:
        options = passkeys.passkey_authentication_options(user=account_of(request), ip=client_ip(request))
    except ApplicationError as error:
        return passkey_json_error(error)
    request.session[session_keys.PASSKEY_REAUTH] = options.challenge
    return passkey_options_json(options)


@never_cache
@citizen_required
@require_POST
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """The browser's answer: the authentication is recent again (require_recent_auth), as after
    a password and a code, and the person goes back to the page that asked."""
    user = account_of(request)
    next_url = safe_next(request, request.GET.get("next"))
    form = PasskeyAssertionForm(request.POST)
    challenge = session_keys.pop_text(request.session, session_keys.PASSKEY_REAUTH)
    message: object = identity_errors.MESSAGES[identity_errors.PASSKEY_INVALID]
    if form.is_valid() and form.cleaned_data["credential"]:
        try:
            now = passkeys.passkey_reauthenticate(
                user=user,
                challenge=challenge,
                credential=form.cleaned_data["credential"],
                ip=client_ip(request),
                user_agent=client_user_agent(request),
            )
        except ApplicationError as error:
            if error.code == identity_errors.ACCOUNT_LOCKED:
                return locked_answer(request, error)
            message = error.message
        else:
            request.session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(now)
            request.session[SIGN_IN_METHOD_SESSION_KEY] = Method.PASSKEY
            return HttpResponseRedirect(next_url or account_home_url())
    messages.error(request, str(message))
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return redirect(f"{reverse('portal:reauthenticate')}{query}")
