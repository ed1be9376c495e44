"""Staff passkeys: a staff member adds a passkey (a security key, or their computer's or phone's
fingerprint or face unlock) beside the authenticator app, and may then use it instead of the app's
code after the password. The rules are identity's (services/passkeys.py, docs/design.md §6c); the
ceremony is the portal's passkeys.js (options as JSON, then the form with the browser's answer).

Adding or removing one needs a sign-in in the last five minutes, like the citizens' changes.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from hawiya.core import clock
from hawiya.core.client import client_ip, client_user_agent
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity import errors as identity_errors
from hawiya.identity.models import Method, User
from hawiya.identity.passkey_answers import passkey_json, passkey_json_error, passkey_options_json
from hawiya.identity.services import passkeys
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_from_session, recent_auth_is_fresh
from hawiya.identity.staff import staff_actor_for

from .decorators import staff_of, staff_page, staff_required
from .forms import StaffPasskeyAnswerForm, StaffPasskeyForm
from .signin_views import SIGN_IN_SESSION_KEY, complete_sign_in, safe_next

REGISTRATION_SESSION_KEY = "hawiya_backoffice_passkey_registration"
SIGN_IN_PASSKEY_SESSION_KEY = "hawiya_backoffice_passkey_sign_in"


def _account(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404("not signed in")
    return user


def _fresh(request: HttpRequest) -> bool:
    last = recent_auth_from_session(request.session.get(RECENT_AUTH_SESSION_KEY))
    return recent_auth_is_fresh(last, clock.now())


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@staff_required()
def passkeys_page(request: HttpRequest) -> HttpResponse:
    """The staff member's passkeys, and the form that adds one (only within five minutes of
    signing in)."""
    user = _account(request)
    form = StaffPasskeyForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if not _fresh(request):
            return redirect("backoffice:passkeys")
        if form.is_valid() and form.cleaned_data["credential"]:
            try:
                passkeys.passkey_register(
                    actor=staff_of(request).actor,
                    user=user,
                    challenge=request.session.pop(REGISTRATION_SESSION_KEY, ""),
                    credential=form.cleaned_data["credential"],
                    name=form.cleaned_data["name"],
                    ip=client_ip(request),
                    user_agent=client_user_agent(request),
                )
            except ApplicationError as exc:
                form.add_application_error(exc)
            else:
                messages.success(
                    request, _("Your passkey is added. You can use it instead of the app's code.")
                )
                return redirect("backoffice:passkeys")
        elif "name" not in form.errors:
            form.errors.pop("credential", None)
            form.add_page_error(identity_errors.MESSAGES[identity_errors.PASSKEY_INVALID])
        status = 400
    context = {"form": form, "passkeys": passkeys.passkeys_of(user=user), "fresh": _fresh(request)}
    return staff_page(request, "backoffice/passkeys.html", context, status=status)


@never_cache
@require_POST
@staff_required()
def passkey_options(request: HttpRequest) -> HttpResponse:
    if not _fresh(request):
        return passkey_json({"error": "reauthentication_required"}, 403)
    options = passkeys.passkey_registration_options(user=_account(request))
    request.session[REGISTRATION_SESSION_KEY] = options.challenge
    return passkey_options_json(options)


@require_POST
@staff_required()
def passkey_remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    if not _fresh(request):
        messages.error(request, _("Sign out and sign in again to change your passkeys."))
        return redirect("backoffice:passkeys")
    try:
        passkeys.passkey_remove(
            actor=staff_of(request).actor,
            user=_account(request),
            passkey_id=passkey_id,
            ip=client_ip(request),
            user_agent=client_user_agent(request),
        )
    except NotFound as exc:
        raise Http404(exc.code) from exc
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The passkey has been removed from your account."))
    return redirect("backoffice:passkeys")


# --- The passkey instead of the app's code, after the password -------------------------------------


def _journey_challenge(request: HttpRequest) -> str | None:
    data = request.session.get(SIGN_IN_SESSION_KEY)
    challenge = data.get("challenge") if isinstance(data, dict) else None
    return challenge if isinstance(challenge, str) else None


@never_cache
@require_POST
def sign_in_options(request: HttpRequest) -> HttpResponse:
    challenge = _journey_challenge(request)
    if challenge is None:
        return passkey_json({"error": identity_errors.CHALLENGE_EXPIRED}, 400)
    try:
        options = passkeys.passkey_second_factor_options(challenge=challenge, ip=client_ip(request))
    except ApplicationError as error:
        return passkey_json_error(error)
    request.session[SIGN_IN_PASSKEY_SESSION_KEY] = options.challenge
    return passkey_options_json(options)


@never_cache
@require_POST
def sign_in(request: HttpRequest) -> HttpResponse:
    challenge = _journey_challenge(request)
    if challenge is None:
        messages.error(request, str(identity_errors.MESSAGES[identity_errors.CHALLENGE_EXPIRED]))
        return redirect("backoffice:sign-in")
    form = StaffPasskeyAnswerForm(request.POST)
    passkey_challenge = request.session.pop(SIGN_IN_PASSKEY_SESSION_KEY, "")
    message: object = identity_errors.MESSAGES[identity_errors.PASSKEY_INVALID]
    if form.is_valid() and form.cleaned_data["credential"]:
        try:
            user = passkeys.passkey_second_factor(
                challenge=challenge,
                passkey_challenge=passkey_challenge if isinstance(passkey_challenge, str) else "",
                credential=form.cleaned_data["credential"],
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
            message = error.message
        else:
            if staff_actor_for(user) is None:  # the account changed since the password step
                request.session.pop(SIGN_IN_SESSION_KEY, None)
                messages.error(request, str(identity_errors.MESSAGES[identity_errors.INVALID_CREDENTIALS]))
                return redirect("backoffice:sign-in")
            data = request.session.get(SIGN_IN_SESSION_KEY) or {}
            next_url = safe_next(request, data.get("next"))
            complete_sign_in(request, user, method=Method.PASSKEY)
            return HttpResponseRedirect(next_url or reverse("backoffice:home"))
    messages.error(request, str(message))
    return redirect("backoffice:sign-in-code")
