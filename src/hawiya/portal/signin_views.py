"""Sign-in, activation, forgotten password, reauthentication, sign-out and the demo SMS inbox.

Thin pages (docs/design.md §3): parse the form, call one identity service, turn its ApplicationError
into the form's errors, render or redirect (POST-redirect-GET). The journey in progress lives in
the session under CHALLENGE_SESSION_KEY as a small dict:

    {"journey": "sign_in" | "activation" | "reset" | "reauth",
     "challenge": <public token>, "stage": "code" | "create" | "new",
     "methods": [...], "method": "sms" | "totp" | "recovery", "sent": bool,
     "masked_mobile": "…34", "next": "/ar/…"}

Starting a journey replaces the one before. A missing, finished or expired journey sends the
person back to its start page with a message, never to an error page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from hawiya.core import clock
from hawiya.core.client import client_ip, client_user_agent, local_url
from hawiya.core.errors import ApplicationError, ServiceBusy
from hawiya.core.forms import HawiyaForm
from hawiya.identity import errors as identity_errors
from hawiya.identity import services
from hawiya.identity.models import User
from hawiya.identity.selectors import (
    activation_challenge_masked_mobile,
    has_passkey,
    one_time_code_delivery_status,
    relying_party_for_client,
)
from hawiya.identity.sessions import (
    CHALLENGE_SESSION_KEY,
    RECENT_AUTH_SESSION_KEY,
    SIGN_IN_METHOD_SESSION_KEY,
    recent_auth_session_value,
)
from hawiya.identity.signin import session_sign_in
from hawiya.notifications.selectors import sms_outbox_recent
from hawiya.notifications.services import sms_demo_delivery_report

from . import session_keys
from .context_processors import current_language
from .decorators import citizen_required
from .forms import (
    ActivationForm,
    CodeForm,
    CreateAccountForm,
    NewPasswordForm,
    PasswordForm,
    PasswordResetForm,
    SignInForm,
)

LOCKED_UNTIL_SESSION_KEY = session_keys.LOCKED_UNTIL
REAUTH_CHALLENGE_SESSION_KEY = session_keys.REAUTH_CHALLENGE
LAST_ACTIVITY_SESSION_KEY = session_keys.LAST_ACTIVITY

SIGN_IN, ACTIVATION, RESET, REAUTH = "sign_in", "activation", "reset", "reauth"
SMS, TOTP, RECOVERY = "sms", "totp", "recovery"

# Per journey: its start page, code page, "send a new code" action and whether it is neutral
# (activation and reset look the same whether or not the details matched).
JOURNEY_URLS = {
    SIGN_IN: ("portal:sign-in", "portal:sign-in-code", "portal:sign-in-resend"),
    ACTIVATION: ("portal:activate", "portal:activate-code", "portal:activate-resend"),
    RESET: ("portal:password-reset", "portal:password-reset-code", "portal:password-reset-resend"),
    REAUTH: ("portal:reauthenticate", "portal:reauthenticate-code", "portal:reauthenticate-resend"),
}
NEUTRAL = {ACTIVATION, RESET}


# --- Small pieces ---------------------------------------------------------------------------------


def safe_next(request: HttpRequest, value: object) -> str | None:
    """`value` when it is a local URL of this site (never another host or scheme), else None."""
    return local_url(request, value)


def account_home_url() -> str:
    """The "My account" page once it exists, else the home page."""
    try:
        return reverse("portal:account")
    except NoReverseMatch:
        return reverse("portal:home")


def _journey(request: HttpRequest, journey: str, stage: str) -> dict[str, Any] | None:
    data = request.session.get(CHALLENGE_SESSION_KEY)
    if not isinstance(data, dict) or data.get("journey") != journey or data.get("stage") != stage:
        return None
    if not isinstance(data.get("challenge"), str):
        return None
    return data


def _save_journey(request: HttpRequest, data: dict[str, Any]) -> None:
    request.session[CHALLENGE_SESSION_KEY] = data
    request.session.modified = True


def _start_sms_journey(request: HttpRequest, journey: str, challenge: str, *, masked_mobile: str) -> None:
    """Activation and password reset: the code has been sent by SMS, the only method they have."""
    _save_journey(
        request,
        {
            "journey": journey,
            "challenge": challenge,
            "stage": "code",
            "methods": [SMS],
            "method": SMS,
            "sent": True,
            "masked_mobile": masked_mobile,
        },
    )


def _drop_journey(request: HttpRequest) -> None:
    request.session.pop(CHALLENGE_SESSION_KEY, None)


def _start_again(request: HttpRequest, journey: str, message: object | None = None) -> HttpResponse:
    _drop_journey(request)
    messages.error(request, str(message or identity_errors.MESSAGES[identity_errors.CHALLENGE_EXPIRED]))
    return redirect(JOURNEY_URLS[journey][0])


def locked_answer(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    """The locked account's page (any sign-in step, password or passkey), until when it is locked."""
    _drop_journey(request)
    until = error.extra.get("locked_until")
    if isinstance(until, dt.datetime):
        request.session[LOCKED_UNTIL_SESSION_KEY] = until.timestamp()
    return redirect("portal:sign-in-locked")


def complete_sign_in(request: HttpRequest, user: User, method: str) -> None:
    """What every sign-in does after the service said yes (identity/signin.py, sessions.py)."""
    session_sign_in(request, user, method=method)
    request.session[LAST_ACTIVITY_SESSION_KEY] = clock.now().timestamp()
    _drop_journey(request)


def _send_first_code(request: HttpRequest, data: dict[str, Any]) -> None:
    """Sign-in and reauthentication: text the code at once when SMS is the first method."""
    if data["method"] != SMS:
        return
    try:
        services.sign_in_send_sms_code(
            challenge=data["challenge"], ip=client_ip(request), user_agent=client_user_agent(request)
        )
    except ApplicationError as error:
        # Shown on the code page; "send a new code" and the other methods stay offered.
        messages.error(request, str(error.message))
        return
    data["sent"] = True


# --- Sign-in --------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(
        request, request.POST.get("next") if request.method == "POST" else request.GET.get("next")
    )
    busy: ServiceBusy | None = None
    if request.method == "POST":
        form = SignInForm(request.POST)
        if form.is_valid():
            try:
                challenge = services.sign_in_start(
                    login=form.cleaned_data["login"],
                    password=form.cleaned_data["password"],
                    ip=client_ip(request),
                    user_agent=client_user_agent(request),
                )
            except ServiceBusy as error:
                # Every hashing slot taken: the form again, with what was typed, as a 503.
                form.add_page_error(error.message)
                busy = error
            except ApplicationError as error:
                if error.code == identity_errors.ACCOUNT_LOCKED:
                    return locked_answer(request, error)
                form.add_page_error(error.message)
            else:
                data = {
                    "journey": SIGN_IN,
                    "challenge": challenge.challenge,
                    "stage": "code",
                    "methods": list(challenge.methods),
                    "method": challenge.methods[0],
                    "sent": False,
                    "masked_mobile": challenge.masked_mobile,
                    "next": next_url or "",
                }
                _send_first_code(request, data)
                _save_journey(request, data)
                return redirect("portal:sign-in-code")
    else:
        # A relying party's login_hint (an ID number) fills in the first field (oidc app).
        hint = request.GET.get("login_hint", "")
        initial = {"next": next_url or "", **({"login": hint} if hint.isdigit() and len(hint) == 10 else {})}
        form = SignInForm(initial=initial)
    response = render(request, "portal/identity/sign_in.html", sign_in_context(form, next_url, request))
    return busy.answer(response) if busy else response


def sign_in_context(
    form: SignInForm, next_url: str | None, request: HttpRequest | None = None
) -> dict[str, Any]:
    """What the sign-in page shows (also after a refused passkey, passkey_views.sign_in)."""
    return {
        "form": form,
        "timed_out": request.GET.get("timeout") if request is not None else None,
        "next_url": next_url or "",
        **_flow_party(next_url),
    }


def _flow_party(next_url: str | None) -> dict[str, str]:
    """When the sign-in is a step of a relying party's request (next is /oidc/authorize/...), the
    party's name in the page language (the page says "Sign in to <party> with Hawiya") and, when
    the party has a logo, the client id the oidc app serves it under (`party_logo_client_id`)."""
    none = {"party_name": "", "party_logo_client_id": ""}
    if not next_url:
        return none
    parts = urlsplit(next_url)
    if parts.path != "/oidc/authorize/":
        return none
    client_id = parse_qs(parts.query).get("client_id", [""])[0]
    party = relying_party_for_client(client_id=client_id) if client_id else None
    if party is None:
        return none
    return {
        "party_name": party.display_name(get_language() or "ar"),
        "party_logo_client_id": client_id if party.logo else "",
    }


@never_cache
@require_safe
def sign_in_locked(request: HttpRequest) -> HttpResponse:
    stamp = request.session.get(LOCKED_UNTIL_SESSION_KEY)
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        return redirect("portal:sign-in")
    until = dt.datetime.fromtimestamp(stamp, tz=dt.UTC).astimezone(clock.RIYADH)
    return render(request, "portal/identity/locked.html", {"locked_until": until})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    was_signed_in = request.user.is_authenticated
    # The parties the citizen signed in to are told by a worker; the sign-out never waits.
    services.user_session_end(
        session_key=request.session.session_key,
        user=request.user if isinstance(request.user, User) else None,
        reason=services.SessionEnd.SIGNED_OUT,
    )
    logout(request)
    if was_signed_in:
        messages.success(request, _("You have signed out."))
    return redirect("portal:home")


# --- The code page, shared by the four journeys ----------------------------------------------------


def _method_for(request: HttpRequest, data: dict[str, Any], asked: object) -> str:
    methods = data.get("methods") or [SMS]
    if isinstance(asked, str) and asked in methods:
        return asked
    method = data.get("method")
    return method if isinstance(method, str) and method in methods else methods[0]


def _render_code_page(
    request: HttpRequest, journey: str, data: dict[str, Any], form: HawiyaForm, method: str, status: int = 200
) -> HttpResponse:
    start, code_url, resend_url = JOURNEY_URLS[journey]
    delivery = None
    if journey not in NEUTRAL and method == SMS and data.get("sent"):
        delivery = one_time_code_delivery_status(challenge=data["challenge"])
    other_methods = [name for name in data.get("methods") or [SMS] if name != method]
    context = {
        "form": form,
        "journey": journey,
        "method": method,
        "other_methods": other_methods,
        "needs_send": method == SMS and not data.get("sent"),
        "masked_mobile": data.get("masked_mobile") or "",
        "mobile_last_digits": (data.get("masked_mobile") or "")[-2:],
        "delivery": delivery,
        "code_url": reverse(code_url),
        "resend_url": reverse(resend_url),
        "start_url": reverse(start),
        "neutral": journey in NEUTRAL,
    }
    return render(request, "portal/identity/code.html", context, status=status)


def _code_page(request: HttpRequest, journey: str) -> HttpResponse:
    data = _journey(request, journey, "code")
    if data is None:
        return _start_again(request, journey)
    if request.method != "POST":
        method = _method_for(request, data, request.GET.get("method"))
        return _render_code_page(
            request, journey, data, CodeForm(initial={"method": method}, recovery=method == RECOVERY), method
        )
    method = _method_for(request, data, request.POST.get("method"))
    form = CodeForm(request.POST, recovery=method == RECOVERY)
    if not form.is_valid():
        return _render_code_page(request, journey, data, form, method)
    code = form.cleaned_data["code"]
    ip, agent = client_ip(request), client_user_agent(request)
    try:
        if journey == SIGN_IN:
            user = services.sign_in_verify(
                challenge=data["challenge"], code=code, method=method, ip=ip, user_agent=agent
            )
            next_url = safe_next(request, data.get("next"))
            complete_sign_in(request, user, method)
            return HttpResponseRedirect(next_url or account_home_url())
        if journey == REAUTH:
            now = services.reauthentication_verify(
                user=cast(User, request.user),
                challenge=data["challenge"],
                code=code,
                method=method,
                ip=ip,
                user_agent=agent,
            )
            next_url = safe_next(request, data.get("next"))
            request.session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(now)
            request.session[SIGN_IN_METHOD_SESSION_KEY] = method
            request.session[REAUTH_CHALLENGE_SESSION_KEY] = data["challenge"]
            _drop_journey(request)
            return HttpResponseRedirect(next_url or account_home_url())
        if journey == ACTIVATION:
            services.activation_verify(challenge=data["challenge"], code=code, ip=ip)
            data["stage"] = "create"
            _save_journey(request, data)
            return redirect("portal:activate-create")
        services.password_reset_verify(challenge=data["challenge"], code=code, ip=ip)
        data["stage"] = "new"
        _save_journey(request, data)
        return redirect("portal:password-reset-new")
    except ApplicationError as error:
        if error.code == identity_errors.CHALLENGE_EXPIRED:
            return _start_again(request, journey)
        if error.code == identity_errors.ACCOUNT_LOCKED:
            return locked_answer(request, error)
        if error.code == identity_errors.ACCOUNT_BLOCKED:
            return _start_again(request, journey, error.message)
        form.add_application_error(error)
        return _render_code_page(request, journey, data, form, method)


def _resend(request: HttpRequest, journey: str) -> HttpResponse:
    data = _journey(request, journey, "code")
    if data is None:
        return _start_again(request, journey)
    try:
        services.one_time_code_send(
            challenge=data["challenge"], ip=client_ip(request), user_agent=client_user_agent(request)
        )
    except ApplicationError as error:
        if error.code == identity_errors.CHALLENGE_EXPIRED:
            return _start_again(request, journey)
        if error.code == identity_errors.ACCOUNT_LOCKED:
            return locked_answer(request, error)
        if error.code == identity_errors.ACCOUNT_BLOCKED:
            return _start_again(request, journey, error.message)
        form = CodeForm(initial={"method": SMS})
        form.add_page_error(error.message)
        return _render_code_page(request, journey, data, form, SMS)
    data["sent"] = True
    data["method"] = SMS
    _save_journey(request, data)
    messages.success(request, _("We sent a new code. Codes sent before it no longer work."))
    return redirect(JOURNEY_URLS[journey][1])


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    return _code_page(request, SIGN_IN)


@require_POST
def sign_in_resend(request: HttpRequest) -> HttpResponse:
    return _resend(request, SIGN_IN)


# --- Activation -----------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def activate(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ActivationForm(request.POST)
        if form.is_valid():
            try:
                sent = services.activation_start(
                    id_number=form.cleaned_data["id_number"],
                    date_of_birth=form.cleaned_data["date_of_birth"],
                    mobile=form.cleaned_data["mobile"],
                    ip=client_ip(request),
                    language=current_language(),
                )
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                _start_sms_journey(request, ACTIVATION, sent.challenge, masked_mobile=sent.masked_mobile)
                return redirect("portal:activate-code")
    else:
        form = ActivationForm()
    return render(request, "portal/identity/activate.html", {"form": form})


@never_cache
@require_safe
def activate_continue(request: HttpRequest, challenge: str) -> HttpResponse:
    """An activation an officer started at the counter (after checking the person's fingerprints),
    opened on the person's phone from the QR code on the officer's screen: the code step of the
    same journey. The code itself went by SMS to the mobile on record, so the QR alone is not
    enough. An unknown or finished challenge starts again."""
    masked = activation_challenge_masked_mobile(challenge=challenge)
    if masked is None:
        return _start_again(request, ACTIVATION)
    _start_sms_journey(request, ACTIVATION, challenge, masked_mobile=masked)
    return redirect("portal:activate-code")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def activate_code(request: HttpRequest) -> HttpResponse:
    return _code_page(request, ACTIVATION)


@require_POST
def activate_resend(request: HttpRequest) -> HttpResponse:
    return _resend(request, ACTIVATION)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def activate_create(request: HttpRequest) -> HttpResponse:
    data = _journey(request, ACTIVATION, "create")
    if data is None:
        return _start_again(request, ACTIVATION)
    if request.method == "POST":
        form = CreateAccountForm(request.POST)
        if form.is_valid():
            try:
                user = services.activation_complete(
                    challenge=data["challenge"],
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                    accepted_terms=form.cleaned_data["accepted_terms"],
                    ip=client_ip(request),
                    user_agent=client_user_agent(request),
                )
            except ApplicationError as error:
                if error.code == identity_errors.CHALLENGE_EXPIRED:
                    return _start_again(request, ACTIVATION)
                if error.code == identity_errors.ALREADY_ACTIVATED:
                    _drop_journey(request)
                    messages.error(request, str(error.message))
                    return redirect("portal:sign-in")
                _add_password_errors(form, error)
            else:
                # The person has just proved the ID number, date of birth, mobile and password:
                # they are signed in straight away.
                complete_sign_in(request, user, "sms")  # activation proved the number by SMS
                return redirect("portal:activate-done")
    else:
        form = CreateAccountForm()
    return render(request, "portal/identity/create_account.html", {"form": form})


def _add_password_errors(form: HawiyaForm, error: ApplicationError) -> None:
    every = error.extra.get("errors")
    if error.code == identity_errors.PASSWORD_INVALID and isinstance(every, list) and every:
        for message in every:
            form.add_error("password", str(message))
        return
    form.add_application_error(error)


@never_cache
@require_safe
def activate_done(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("portal:sign-in")
    return render(request, "portal/identity/activated.html", {"account_url": account_home_url()})


# --- Forgotten password ---------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = PasswordResetForm(request.POST)
        if form.is_valid():
            try:
                sent = services.password_reset_start(
                    id_number=form.cleaned_data["id_number"],
                    date_of_birth=form.cleaned_data["date_of_birth"],
                    ip=client_ip(request),
                    language=current_language(),
                )
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                # No masked number: showing it would tell a matching request from another.
                _start_sms_journey(request, RESET, sent.challenge, masked_mobile="")
                return redirect("portal:password-reset-code")
    else:
        form = PasswordResetForm()
    return render(request, "portal/identity/password_reset.html", {"form": form})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_code(request: HttpRequest) -> HttpResponse:
    return _code_page(request, RESET)


@require_POST
def password_reset_resend(request: HttpRequest) -> HttpResponse:
    return _resend(request, RESET)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_new(request: HttpRequest) -> HttpResponse:
    data = _journey(request, RESET, "new")
    if data is None:
        return _start_again(request, RESET)
    if request.method == "POST":
        form = NewPasswordForm(request.POST)
        if form.is_valid():
            try:
                services.password_reset_complete(
                    challenge=data["challenge"],
                    password=form.cleaned_data["password"],
                    ip=client_ip(request),
                    user_agent=client_user_agent(request),
                )
            except ApplicationError as error:
                if error.code == identity_errors.CHALLENGE_EXPIRED:
                    return _start_again(request, RESET)
                _add_password_errors(form, error)
            else:
                # Every session of the account ended, this browser's too if it was signed in.
                logout(request)
                request.session[session_keys.PASSWORD_RESET_DONE] = True
                return redirect("portal:password-reset-done")
    else:
        form = NewPasswordForm()
    return render(request, "portal/identity/new_password.html", {"form": form})


@never_cache
@require_safe
def password_reset_done(request: HttpRequest) -> HttpResponse:
    if not request.session.get(session_keys.PASSWORD_RESET_DONE):
        return redirect("portal:password-reset")
    return render(request, "portal/identity/password_reset_done.html")


# --- Reauthentication -----------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@citizen_required
def reauthenticate(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.GET.get("next"))
    if request.method == "POST":
        form = PasswordForm(request.POST)
        if form.is_valid():
            try:
                challenge = services.reauthentication_start(
                    user=cast(User, request.user),
                    password=form.cleaned_data["password"],
                    ip=client_ip(request),
                    user_agent=client_user_agent(request),
                )
            except ApplicationError as error:
                if error.code == identity_errors.ACCOUNT_LOCKED:
                    return locked_answer(request, error)
                form.add_application_error(error)
            else:
                data = {
                    "journey": REAUTH,
                    "challenge": challenge.challenge,
                    "stage": "code",
                    "methods": list(challenge.methods),
                    "method": challenge.methods[0],
                    "sent": False,
                    "masked_mobile": challenge.masked_mobile,
                    "next": next_url or "",
                }
                _send_first_code(request, data)
                _save_journey(request, data)
                return redirect("portal:reauthenticate-code")
    else:
        form = PasswordForm()
    context = {
        "form": form,
        # A holder with a passkey may confirm with it instead (passkey_views.reauthenticate).
        "has_passkey": has_passkey(user=cast(User, request.user)),
        "next_query": urlencode({"next": next_url}) if next_url else "",
    }
    return render(request, "portal/identity/reauthenticate.html", context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@citizen_required
def reauthenticate_code(request: HttpRequest) -> HttpResponse:
    return _code_page(request, REAUTH)


@require_POST
@citizen_required
def reauthenticate_resend(request: HttpRequest) -> HttpResponse:
    return _resend(request, REAUTH)


# --- Demo inbox and CSRF failure ------------------------------------------------------------------


@never_cache
@require_safe
def dev_sms(request: HttpRequest) -> HttpResponse:
    """The demo's text messages (codes in clear): only when settings.DEMO is on at request time."""
    if not getattr(settings, "DEMO", False):
        raise Http404("not in demo mode")
    try:
        outbox = sms_outbox_recent(limit=50)
    except ApplicationError as error:
        raise Http404("not in demo mode") from error
    return render(request, "portal/identity/dev_sms.html", {"outbox": outbox})


@require_POST
def dev_sms_delivered(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    """Demo only: play the operator's signed delivery report for one message, so its code page
    says "Delivered at 10:42" as it would with a real operator."""
    if not getattr(settings, "DEMO", False):
        raise Http404("not in demo mode")
    try:
        sms_demo_delivery_report(reference=reference)
    except ApplicationError as error:
        raise Http404("no such message") from error
    return redirect("portal:dev-sms")


@require_safe
def dev_sms_redirect(request: HttpRequest) -> HttpResponse:
    if not getattr(settings, "DEMO", False):
        raise Http404("not in demo mode")
    language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return redirect(f"/{language if language in ('ar', 'en') else 'ar'}/dev/sms/")


@requires_csrf_token
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: the styled 403 with what to do, never Django's debug page."""
    return render(request, "portal/errors/csrf.html", status=403)


@never_cache
@require_http_methods(["GET", "HEAD"])
def keep_alive(request: HttpRequest) -> HttpResponse:
    """ "Stay signed in" from the idle warning: the idle middleware has just recorded this request
    as activity; 204 while signed in, 401 once the session has ended."""
    return HttpResponse(status=204 if request.user.is_authenticated else 401)
