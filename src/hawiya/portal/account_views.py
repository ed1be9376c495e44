"""My account: profile from the register, security history, sessions, sign-in methods, password,
mobile number, connected services.

Every view parses the request, calls one identity service or selector, turns an ApplicationError
into a form error or a message, and renders or redirects (POST-redirect-GET). A missing, foreign
or malformed id is a 404, never a 500 (NotFound → Http404).
"""

from __future__ import annotations

import re
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from hawiya.approvals.selectors import approvals_waiting_count
from hawiya.audit import selectors as audit_selectors
from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.core.client import client_ip, client_user_agent
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.ratelimit import RateLimit
from hawiya.core.text import mask_id_number
from hawiya.identity import errors as identity_errors
from hawiya.identity import selectors, services
from hawiya.identity.models import User
from hawiya.identity.scope_words import scope_words
from hawiya.identity.services import passkeys, relying_parties
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_session_value
from hawiya.registry import selectors as registry_selectors
from hawiya.replacements.selectors import replacement_ids_applied_by

from . import session_keys
from .account_forms import (
    AuthenticatorCodeForm,
    CurrentPasswordForm,
    MobileCodeForm,
    NewMobileForm,
    NewPasswordForm,
    ReauthenticationCodeForm,
)
from .decorators import citizen_of, citizen_required, personal_page, require_recent_auth
from .views import too_many_requests

# What the pages keep in the session between requests (never in the URL).
TOTP_ENROLMENT_SESSION_KEY = "hawiya_account_totp_enrolment"
RECOVERY_CODES_SESSION_KEY = "hawiya_account_recovery_codes"
PASSWORD_CHANGE_SESSION_KEY = "hawiya_account_password_change"  # noqa: S105 (a session key)
# Database ids are 64-bit: anything larger cannot exist (and must not reach the database).
MAX_ID = 2**63 - 1
METHODS = ("sms", "totp", "recovery")
# The forgotten-password journey (built alongside these pages; the first name that exists wins).
PASSWORD_RESET_URL_NAMES = ("password-reset", "password_reset", "password-reset-start", "reset-password")

DETAILS = {
    "sms": gettext_lazy("Text message"),
    "totp": gettext_lazy("Authenticator app"),
    "recovery": gettext_lazy("Recovery code"),
    "passkey": gettext_lazy("Passkey"),
    "password": gettext_lazy("Password"),
    "recovery_codes": gettext_lazy("Recovery codes"),
    "recovery_codes_renewed": gettext_lazy("New recovery codes"),
}

# Short browser names: (pattern, name), the first match wins (Edge and Opera say "Chrome" too).
_BROWSERS = (
    (r"Edg(e|A|iOS)?/", "Edge"),
    (r"OPR/|Opera", "Opera"),
    (r"SamsungBrowser/", "Samsung Internet"),
    (r"Firefox/|FxiOS/", "Firefox"),
    (r"Chrome/|CriOS/|Chromium/", "Chrome"),
    (r"Safari/", "Safari"),
)
_SYSTEMS = (
    (r"Android", "Android"),
    (r"iPhone|iPad|iPod", "iOS"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"Linux", "Linux"),
)


# --- Small pieces ------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # citizen_required lets only signed-in accounts through
        raise Http404("not signed in")
    return user


def _parse_id(value: str) -> int:
    """A database id from the URL, or 404 (non-numeric, zero, or too large to exist)."""
    if not re.fullmatch(r"[0-9]{1,19}", value or ""):
        raise Http404("malformed id")
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise Http404("no such id")
    return number


def short_user_agent(user_agent: str) -> str | SafeString:
    """ "Chrome on Android": enough for a person to recognise their device, never the raw string."""
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, user_agent or "")), "")
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, user_agent or "")), "")
    if browser and system:
        # The Latin names are isolated inside the Arabic sentence (docs/ui.md §3).
        sentence = conditional_escape(_("%(browser)s on %(system)s"))
        return mark_safe(sentence % {"browser": _ltr(browser), "system": _ltr(system)})  # noqa: S308
    if browser or system:
        return _ltr(browser or system)
    return _("Unknown browser")


def _ltr(value: str) -> SafeString:
    return format_html('<bdi dir="ltr">{}</bdi>', value)


def _qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG (no external request, works without JavaScript)."""
    svg: str = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="black", light="white")
    return svg


def _first_url(names: tuple[str, ...]) -> str:
    """The first of these portal URLs that exists ("" if none does yet)."""
    for name in names:
        try:
            return reverse(f"portal:{name}")
        except NoReverseMatch:
            continue
    return ""


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return personal_page(request, f"portal/account/{template}", context, status)


# --- My account --------------------------------------------------------------------------------


@citizen_required
@require_http_methods(["GET", "HEAD"])
def account(request: HttpRequest) -> HttpResponse:
    """Greeting, the profile from the register, the person's documents with their status and
    expiry, the mobile number, links to security pages."""
    user = _user(request)
    profile = selectors.account_profile_for_user(user=user)
    if profile is None:
        raise Http404("no person")
    person = profile.person
    # TODO(audit): revealing the full ID number should be written to the audit trail (docs/ui.md §6).
    reveal = request.GET.get("reveal") == "id"
    context = {
        "person": person,
        "address": profile.address,
        "id_number_shown": person.id_number if reveal else mask_id_number(person.id_number),
        "id_revealed": reveal,
        "hijri_first": person.date_of_birth_calendar == "hijri",
        "mobile_last_digits": person.mobile[-2:] if person.mobile else "",
        "is_saudi": person.nationality == "SA",
        "documents": registry_selectors.documents_held_by(person=person, today=clock.today()),
        "approvals_waiting": approvals_waiting_count(user=user),
    }
    return _render(request, "account.html", context)


# --- Security: history and sessions ------------------------------------------------------------


@citizen_required
@require_http_methods(["GET", "HEAD"])
def security(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    events = selectors.security_events_for_user(user=user, limit=50)
    parties = selectors.parties_of_sign_ins(events)
    language = (translation.get_language() or "").split("-")[0]
    sessions = selectors.user_sessions_for_user(user=user)
    current_key = request.session.session_key
    context = {
        "events": [
            {
                "event": event,
                "detail": (
                    parties[event.detail].display_name(language)
                    if event.kind == "party_sign_in" and event.detail in parties
                    else DETAILS.get(event.detail, "")
                ),
                "browser": short_user_agent(event.user_agent),
                "reportable": event.kind != "report_not_me" and event.reported_at is None,
            }
            for event in events
        ],
        "sessions": [
            {
                "session": session,
                "browser": short_user_agent(session.user_agent),
                "is_current": session.session_key == current_key,
            }
            for session in sessions
        ],
        "other_sessions": sum(1 for session in sessions if session.session_key != current_key),
    }
    return _render(request, "security.html", context)


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def report_event(request: HttpRequest, event_id: str) -> HttpResponse:
    """ "This wasn't me": a confirmation page stating the consequence, then the report."""
    user = _user(request)
    number = _parse_id(event_id)
    if request.method != "POST":
        try:
            event = selectors.security_event_for_user(user=user, event_id=number)
        except NotFound as exc:
            raise Http404(exc.code) from exc
        context = {"event": event, "browser": short_user_agent(event.user_agent)}
        return _render(request, "report_confirm.html", context)
    try:
        services.security_event_report(
            user=user, event_id=number, ip=client_ip(request), user_agent=client_user_agent(request)
        )
    except NotFound as exc:
        raise Http404(exc.code) from exc
    # Every session of the account has ended, this one too: sign out here as well.
    logout(request)
    return redirect("portal:account-reported")


@require_http_methods(["GET", "HEAD"])
def reported(request: HttpRequest) -> HttpResponse:
    """After "this wasn't me": what happened and how to get back in (the person is signed out)."""
    return _render(request, "reported.html", {"reset_url": _first_url(PASSWORD_RESET_URL_NAMES)})


@require_recent_auth
@require_POST
def session_revoke(request: HttpRequest, session_id: str) -> HttpResponse:
    user = _user(request)
    number = _parse_id(session_id)
    try:
        services.session_revoke(user=user, session_id=number)
    except NotFound as exc:
        raise Http404(exc.code) from exc
    store = request.session
    if store.session_key is not None and not store.exists(store.session_key):
        # The session ended was this one (the list never offers it, but a crafted form can).
        logout(request)
        return redirect("portal:home")
    messages.success(request, _("The other device has been signed out."))
    return redirect("portal:account-security")


@require_recent_auth
@require_POST
def sessions_revoke_all(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    ended = services.sessions_revoke_all(user=user, except_session_key=request.session.session_key)
    if ended:
        messages.success(
            request, _("Every other device has been signed out. This device is still signed in.")
        )
    else:
        messages.info(request, _("No other device was signed in."))
    return redirect("portal:account-security")


# --- Sign-in methods ---------------------------------------------------------------------------


@citizen_required
@require_http_methods(["GET", "HEAD"])
def methods(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    state = selectors.sign_in_methods_for_user(user=user)
    context = {
        "methods": state,
        "mobile_last_digits": state.masked_mobile[-2:] if state.masked_mobile else "",
        "passkeys": passkeys.passkeys_of(user=user),
    }
    return _render(request, "methods.html", context)


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def sms_lock(request: HttpRequest) -> HttpResponse:
    """Lock sign-in codes by text message (a lost phone): a confirmation page, then the lock."""
    user = _user(request)
    if request.method != "POST":
        state = selectors.sign_in_methods_for_user(user=user)
        context = {
            "methods": state,
            "mobile_last_digits": state.masked_mobile[-2:] if state.masked_mobile else "",
            "no_other_method": not state.authenticator_active and not state.recovery_codes_left,
        }
        return _render(request, "sms_lock_confirm.html", context)
    try:
        services.sign_in_method_lock(
            user=user, method="sms", ip=client_ip(request), user_agent=client_user_agent(request)
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("portal:account-methods")
    messages.success(
        request, _("Sign-in codes by text message are locked. No code will be sent to your mobile.")
    )
    return redirect("portal:account-methods")


@require_recent_auth
@require_POST
def sms_unlock(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        services.sign_in_method_unlock(
            user=user, method="sms", ip=client_ip(request), user_agent=client_user_agent(request)
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("portal:account-methods")
    messages.success(request, _("Sign-in codes by text message are unlocked."))
    return redirect("portal:account-methods")


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def authenticator_start(request: HttpRequest) -> HttpResponse:
    """What you need, then a new secret (stored encrypted, unconfirmed; the session only notes
    that a set-up is under way, never the secret)."""
    user = _user(request)
    if request.method != "POST":
        return _render(request, "authenticator_start.html", {})
    try:
        services.authenticator_enrol(user=user)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("portal:account-methods")
    request.session[TOTP_ENROLMENT_SESSION_KEY] = True
    return redirect("portal:account-authenticator-set-up")


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def authenticator_set_up(request: HttpRequest) -> HttpResponse:
    """The three numbered steps: scan the QR code (or type the key), then confirm with a code."""
    user = _user(request)
    enrolment = (
        services.authenticator_enrolment_pending(user=user)
        if request.session.get(TOTP_ENROLMENT_SESSION_KEY)
        else None
    )
    if enrolment is None:
        request.session.pop(TOTP_ENROLMENT_SESSION_KEY, None)
        return redirect("portal:account-authenticator-start")
    form = AuthenticatorCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.authenticator_confirm(
                user=user,
                code=form.cleaned_data["code"],
                ip=client_ip(request),
                user_agent=client_user_agent(request),
            )
        except ApplicationError as exc:
            if exc.code in (
                identity_errors.AUTHENTICATOR_NOT_FOUND,
                identity_errors.AUTHENTICATOR_ALREADY_ACTIVE,
            ):
                request.session.pop(TOTP_ENROLMENT_SESSION_KEY, None)
                messages.error(request, str(exc.message))
                return redirect("portal:account-methods")
            form.add_application_error(exc)
        else:
            request.session.pop(TOTP_ENROLMENT_SESSION_KEY, None)
            messages.success(request, _("Your authenticator app is set up. You can use it to sign in."))
            return redirect("portal:account-methods")
    context = {
        "form": form,
        "qr_svg": _qr_svg(enrolment.provisioning_uri),
        "secret_groups": enrolment.secret_groups,
    }
    return _render(request, "authenticator_set_up.html", context, status=200)


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def authenticator_remove(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method != "POST":
        state = selectors.sign_in_methods_for_user(user=user)
        if not state.authenticator_active and not state.authenticator_pending:
            return redirect("portal:account-methods")
        return _render(request, "authenticator_remove_confirm.html", {"methods": state})
    try:
        services.authenticator_remove(user=user, ip=client_ip(request), user_agent=client_user_agent(request))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("portal:account-methods")
    request.session.pop(TOTP_ENROLMENT_SESSION_KEY, None)
    messages.success(request, _("The authenticator app has been removed from your account."))
    return redirect("portal:account-methods")


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """Before generating: what recovery codes are, and that new ones cancel the old ones."""
    user = _user(request)
    if request.method != "POST":
        state = selectors.sign_in_methods_for_user(user=user)
        return _render(request, "recovery_codes_start.html", {"methods": state})
    new_codes = services.recovery_codes_generate(
        user=user, ip=client_ip(request), user_agent=client_user_agent(request)
    )
    # Kept only until the next page shows them (once): see recovery_codes_show.
    request.session[RECOVERY_CODES_SESSION_KEY] = new_codes
    return redirect("portal:account-recovery-codes-show")


@citizen_required
@require_http_methods(["GET", "HEAD"])
def recovery_codes_show(request: HttpRequest) -> HttpResponse:
    """The new codes, shown once: they leave the session as this page is rendered."""
    shown = request.session.pop(RECOVERY_CODES_SESSION_KEY, None)
    if not isinstance(shown, list) or not shown:
        messages.info(
            request,
            _(
                "Recovery codes are shown only once, when they are made. "
                "To see new codes, generate a new set."
            ),
        )
        return redirect("portal:account-methods")
    return _render(request, "recovery_codes_show.html", {"codes": [str(code) for code in shown]})


# --- Change password ---------------------------------------------------------------------------


def _password_state(request: HttpRequest) -> dict[str, Any] | None:
    state = request.session.get(PASSWORD_CHANGE_SESSION_KEY)
    if not isinstance(state, dict) or not isinstance(state.get("challenge"), str):
        return None
    return state


def _send_sms_code(request: HttpRequest, state: dict[str, Any]) -> ApplicationError | None:
    try:
        services.sign_in_send_sms_code(
            challenge=state["challenge"], ip=client_ip(request), user_agent=client_user_agent(request)
        )
    except ApplicationError as exc:
        return exc
    state["sms_sent"] = True
    return None


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def password_current(request: HttpRequest) -> HttpResponse:
    """Change password, page 1 of 3: the current password (reauthentication_start)."""
    user = _user(request)
    form = CurrentPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            challenge = services.reauthentication_start(
                user=user,
                password=form.cleaned_data["password"],
                ip=client_ip(request),
                user_agent=client_user_agent(request),
            )
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            state: dict[str, Any] = {
                "challenge": challenge.challenge,
                "methods": list(challenge.methods),
                "method": challenge.methods[0],
                "last_digits": challenge.masked_mobile[-2:] if challenge.masked_mobile else "",
                "sms_sent": False,
                "verified": False,
            }
            problem = _send_sms_code(request, state) if state["method"] == "sms" else None
            request.session[PASSWORD_CHANGE_SESSION_KEY] = state
            if problem is not None:
                messages.error(request, str(problem.message))
            return redirect("portal:account-password-code")
    return _render(request, "password_current.html", {"form": form})


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def password_code(request: HttpRequest) -> HttpResponse:
    """Change password, page 2 of 3: the code (reauthentication_verify); or another method / a resend."""
    user = _user(request)
    state = _password_state(request)
    if state is None:
        return redirect("portal:account-password")
    method = str(state["method"]) if state.get("method") in METHODS else "sms"
    form = ReauthenticationCodeForm(method=method)
    if request.method == "POST":
        action = request.POST.get("action", "verify")
        if action.startswith("use-") and action[4:] in state.get("methods", []):
            state["method"] = action[4:]
            problem = (
                _send_sms_code(request, state) if state["method"] == "sms" and not state["sms_sent"] else None
            )
            request.session[PASSWORD_CHANGE_SESSION_KEY] = state
            if problem is not None:
                messages.error(request, str(problem.message))
            return redirect("portal:account-password-code")
        if action == "resend" and method == "sms":
            problem = _send_sms_code(request, state)
            request.session[PASSWORD_CHANGE_SESSION_KEY] = state
            if problem is not None:
                messages.error(request, str(problem.message))
            else:
                messages.success(request, _("We have sent a new code. The previous code no longer works."))
            return redirect("portal:account-password-code")
        form = ReauthenticationCodeForm(request.POST, method=method)
        if form.is_valid():
            try:
                authenticated_at = services.reauthentication_verify(
                    user=user,
                    challenge=state["challenge"],
                    code=form.cleaned_data["code"],
                    method=method,
                    ip=client_ip(request),
                    user_agent=client_user_agent(request),
                )
            except ApplicationError as exc:
                if exc.code == identity_errors.CHALLENGE_EXPIRED:
                    request.session.pop(PASSWORD_CHANGE_SESSION_KEY, None)
                    messages.error(request, str(exc.message))
                    return redirect("portal:account-password")
                form.add_application_error(exc)
            else:
                state["verified"] = True
                request.session[PASSWORD_CHANGE_SESSION_KEY] = state
                request.session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(authenticated_at)
                return redirect("portal:account-password-new")
    context = {
        "form": form,
        "method": method,
        "other_methods": [other for other in state.get("methods", []) if other != method],
        "last_digits": state.get("last_digits", ""),
    }
    return _render(request, "password_code.html", context)


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def password_new(request: HttpRequest) -> HttpResponse:
    """Change password, page 3 of 3: the new password (password_change), then a success banner."""
    user = _user(request)
    state = _password_state(request)
    if state is None or not state.get("verified"):
        return redirect("portal:account-password")
    form = NewPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        old_key = request.session.session_key
        try:
            services.password_change(
                user=user,
                challenge=state["challenge"],
                new_password=form.cleaned_data["new_password"],
                ip=client_ip(request),
                user_agent=client_user_agent(request),
                keep_session_key=old_key,
            )
        except ApplicationError as exc:
            if exc.code == identity_errors.REAUTHENTICATION_REQUIRED:
                request.session.pop(PASSWORD_CHANGE_SESSION_KEY, None)
                messages.error(request, str(exc.message))
                return redirect("portal:account-password")
            if exc.code == identity_errors.PASSWORD_INVALID:
                for message in exc.extra.get("errors") or [exc.message]:
                    form.add_error("new_password", str(message))
            else:
                form.add_application_error(exc)
        else:
            request.session.pop(PASSWORD_CHANGE_SESSION_KEY, None)
            # The password is part of the session hash: keep this session, under a new key.
            update_session_auth_hash(request, user)
            new_key = request.session.session_key
            if old_key and new_key and old_key != new_key:
                services.user_session_rekey(user=user, old_session_key=old_key, new_session_key=new_key)
            messages.success(
                request,
                _(
                    "Your password has been changed. Every other device has been signed out, "
                    "and we have sent you a text message."
                ),
            )
            return redirect("portal:account")
    return _render(request, "password_new.html", {"form": form})


# --- Change mobile number ----------------------------------------------------------------------
# Page 1 (behind require_recent_auth) takes the new number and sends a code to the current one;
# page 2 checks it and sends a code to the new number; page 3 checks that and changes the number.
# Without the current phone (text messages locked) or without a number on record, the change is
# made at a civil-affairs office: the pages explain that instead of showing a form error.

_IN_PERSON_ERRORS = (
    identity_errors.MOBILE_CHANGE_IN_PERSON,
    identity_errors.NO_MOBILE,
    identity_errors.METHOD_LOCKED,  # one_time_code_send's word for locked text messages
)
_MOBILE_STEPS = {"current": "account-mobile-current-code", "new": "account-mobile-new-code"}


def _mobile_state(request: HttpRequest, step: str) -> dict[str, Any] | None:
    """The journey in the session, if it is at `step`."""
    state = request.session.get(session_keys.MOBILE_CHANGE)
    if not isinstance(state, dict) or not isinstance(state.get("challenge"), str):
        return None
    if state.get("step") != step:
        return None
    return state


def _mobile_save(request: HttpRequest, started: services.MobileChangeStep) -> None:
    request.session[session_keys.MOBILE_CHANGE] = {
        "challenge": started.challenge,
        "step": started.step,
        "current_digits": started.masked_current[-2:] if started.masked_current else "",
        "new_digits": started.masked_new[-2:] if started.masked_new else "",
    }


def _mobile_restart(request: HttpRequest, message: object) -> HttpResponse:
    """Back to page 1 with the reason (an expired or finished journey, or none at all)."""
    request.session.pop(session_keys.MOBILE_CHANGE, None)
    messages.error(request, str(message))
    return redirect("portal:account-mobile")


def _mobile_in_person(request: HttpRequest, reason: str) -> HttpResponse:
    """The office route, for a person without the current phone or without a number on record."""
    request.session.pop(session_keys.MOBILE_CHANGE, None)
    return _render(request, "mobile_in_person.html", {"reason": reason})


def _mobile_in_person_reason(code: str) -> str:
    return "no_mobile" if code == identity_errors.NO_MOBILE else "locked"


_MOBILE_NOT_STARTED = gettext_lazy(
    "Your mobile number change has not started or has expired. Enter the new number to start again."
)


@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def mobile_change(request: HttpRequest) -> HttpResponse:
    """Change mobile number, page 1 of 3: the two codes, the office route, the new number."""
    user = _user(request)
    state = selectors.sign_in_methods_for_user(user=user)
    if not state.masked_mobile:
        return _mobile_in_person(request, "no_mobile")
    if state.sms_locked:
        return _mobile_in_person(request, "locked")
    form = NewMobileForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            started = services.mobile_change_start(
                user=user,
                new_mobile=form.cleaned_data["new_mobile"],
                ip=client_ip(request),
                user_agent=client_user_agent(request),
            )
        except ApplicationError as exc:
            if exc.code in _IN_PERSON_ERRORS:
                return _mobile_in_person(request, _mobile_in_person_reason(exc.code))
            form.add_application_error(exc)
        else:
            _mobile_save(request, started)
            return redirect("portal:account-mobile-current-code")
    context = {"form": form, "current_digits": state.masked_mobile[-2:]}
    return _render(request, "mobile_start.html", context)


@citizen_required
@require_http_methods(["GET", "HEAD"])
def mobile_in_person(request: HttpRequest) -> HttpResponse:
    """How the number is changed at a civil-affairs office (linked from the code pages)."""
    return _render(request, "mobile_in_person.html", {"reason": ""})


def _mobile_code_page(request: HttpRequest, step: str) -> HttpResponse:
    """Pages 2 and 3: the code sent to the current (`step` "current") or the new number, or a resend."""
    user = _user(request)
    state = _mobile_state(request, step)
    if state is None:
        return _mobile_restart(request, _MOBILE_NOT_STARTED)
    here = _MOBILE_STEPS[step]
    form = MobileCodeForm()
    if request.method == "POST":
        if request.POST.get("action") == "resend":
            try:
                services.one_time_code_send(
                    challenge=state["challenge"], ip=client_ip(request), user_agent=client_user_agent(request)
                )
            except ApplicationError as exc:
                if exc.code == identity_errors.CHALLENGE_EXPIRED:
                    return _mobile_restart(request, exc.message)
                if exc.code in _IN_PERSON_ERRORS:
                    return _mobile_in_person(request, _mobile_in_person_reason(exc.code))
                messages.error(request, str(exc.message))
            else:
                messages.success(request, _("We have sent a new code. The previous code no longer works."))
            return redirect(f"portal:{here}")
        form = MobileCodeForm(request.POST)
        if form.is_valid():
            arguments: dict[str, Any] = {
                "user": user,
                "challenge": state["challenge"],
                "code": form.cleaned_data["code"],
                "ip": client_ip(request),
                "user_agent": client_user_agent(request),
            }
            try:
                if step == "current":
                    next_step = services.mobile_change_verify_current(**arguments)
                else:
                    services.mobile_change_complete(**arguments)
            except ApplicationError as exc:
                if exc.code == identity_errors.CHALLENGE_EXPIRED:
                    return _mobile_restart(request, exc.message)
                if exc.code in _IN_PERSON_ERRORS:
                    return _mobile_in_person(request, _mobile_in_person_reason(exc.code))
                form.add_application_error(exc)
            else:
                if step == "current":
                    _mobile_save(request, next_step)
                    return redirect("portal:account-mobile-new-code")
                request.session.pop(session_keys.MOBILE_CHANGE, None)
                messages.success(request, _("Your mobile number was changed. We told your previous number."))
                return redirect("portal:account")
    context = {
        "form": form,
        "step": step,
        "current_digits": state.get("current_digits", ""),
        "new_digits": state.get("new_digits", ""),
    }
    return _render(request, "mobile_code.html", context)


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def mobile_current_code(request: HttpRequest) -> HttpResponse:
    """Change mobile number, page 2 of 3: the code sent to the current number."""
    return _mobile_code_page(request, "current")


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def mobile_new_code(request: HttpRequest) -> HttpResponse:
    """Change mobile number, page 3 of 3: the code sent to the new number, then a success banner."""
    return _mobile_code_page(request, "new")


# --- Who accessed my data ------------------------------------------------------------------------

ACCESS_HISTORY_PAGE_SIZE = 25
# What the person reads for each audited action of staff or a courier; anything else is the
# generic label (a new action code never shows a raw code to a citizen).
ACCESS_ACTION_LABELS: dict[str, Any] = {
    "person.record_viewed": gettext_lazy("Looked at your record"),
    "person.photo_viewed": gettext_lazy("Looked at your photo on file"),
    "person.counter_lookup": gettext_lazy("Looked up your record at the counter"),
    "person.mobile_changed": gettext_lazy("Changed your mobile number on record"),
    "counter.mobile_rebound": gettext_lazy("Changed your mobile number at the counter"),
    "counter.activation_started": gettext_lazy("Started activating your account at the counter"),
    "counter.identity_check_failed": gettext_lazy("Checked fingerprints at the counter: they did not match"),
    "biometrics.captured": gettext_lazy("Took your photo and fingerprints"),
    "replacement.moved": gettext_lazy("Moved your request to its next step"),
    "appointment.checked_in": gettext_lazy("Checked you in for your appointment"),
    "appointment.completed": gettext_lazy("Closed your appointment"),
    "appointment.no_show": gettext_lazy("Recorded that you missed your appointment"),
    "appointment.cancelled": gettext_lazy("Cancelled your appointment"),
    "document.reissued": gettext_lazy("Issued your new document"),
    "handover_code.issued": gettext_lazy("Sent you a handover code"),
    "handover_code.used": gettext_lazy("Handed your document over with its code"),
    "handover_code.rejected": gettext_lazy("Checked a handover code that was not accepted"),
    "shipment.created": gettext_lazy("Prepared your document for delivery"),
    "shipment.updated": gettext_lazy("Updated the delivery of your document"),
    "shipment.delivered": gettext_lazy("Delivered your document"),
    "bill.refund_requested": gettext_lazy("Asked for your fine to be refunded"),
}
ACCESS_ACTION_GENERIC = gettext_lazy("Looked at or changed your record")
ACCESS_ROLE_LABELS: dict[str, Any] = {
    "officer": gettext_lazy("Officer"),
    "supervisor": gettext_lazy("Supervisor"),
    "administrator": gettext_lazy("Administrator"),
    "courier": gettext_lazy("Courier"),
}


@citizen_required
@require_http_methods(["GET", "HEAD"])
def access_history(request: HttpRequest) -> HttpResponse:
    """Who accessed my data: every staff or courier event about the signed-in person, newest
    first, 25 a page: office, role, action and time. Never the staff member's name or id."""
    person = citizen_of(request)
    page = Paginator(
        audit_selectors.staff_access_for_person(
            person_id=person.pk,
            # Requests made for a child are recorded against the child: show their steps too.
            objects={"replacements.replacement": replacement_ids_applied_by(person=person)},
        ),
        ACCESS_HISTORY_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    events = list(page.object_list)
    offices = registry_selectors.offices_by_code(codes=(event.actor_office for event in events))
    sealed_through = audit_selectors.audit_sealed_through()
    rows = [
        {
            "occurred_at": event.occurred_at,
            "office": offices.get(event.actor_office),
            "role": ACCESS_ROLE_LABELS.get(event.actor_role, ACCESS_ROLE_LABELS["officer"]),
            "action": ACCESS_ACTION_LABELS.get(event.action, ACCESS_ACTION_GENERIC),
            # A proof of a sealed entry about this person themselves (not about a child of theirs).
            "proof_url": reverse("portal:account-access-proof", args=[event.pk])
            if event.pk <= sealed_through and (event.detail or {}).get("person_id") == person.pk
            else None,
        }
        for event in events
    ]
    return _render(request, "access_history.html", {"rows": rows, "page": page})


# A proof not built yet reads its seal's whole batch of events: a person may download this many
# in a window, far more than anyone checks by hand, so one account cannot keep the database busy.
ACCESS_PROOFS_PER_WINDOW = 60
ACCESS_PROOF_WINDOW_SECONDS = 600


@citizen_required
@require_http_methods(["GET", "HEAD"])
def access_proof(request: HttpRequest, event_id: int) -> HttpResponse:
    """The inclusion proof (docs/audit-proof.md) of one sealed "who accessed my data" entry, as a
    JSON download: only for the person the entry is about; 404 for any other entry, or one not
    sealed yet; 429 past ACCESS_PROOFS_PER_WINDOW downloads of the account in the window."""
    limit = RateLimit("portal:audit-proof", ACCESS_PROOFS_PER_WINDOW, ACCESS_PROOF_WINDOW_SECONDS)
    if not limit.hit(str(request.user.pk)).allowed:
        return too_many_requests(request, retry_after=ACCESS_PROOF_WINDOW_SECONDS)
    person = citizen_of(request)
    event = audit_selectors.staff_access_event_for_person(event_id=event_id, person_id=person.pk)
    proof = None if event is None else audit_selectors.audit_inclusion_proof(event)
    if proof is None:
        raise Http404
    response = JsonResponse(proof, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="hawiya-audit-proof-{event_id}.json"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- Connected services (relying parties the holder signed in to with Hawiya) -----------------


def _connection_view(connection: selectors.Connection, language: str) -> dict[str, Any]:
    return {
        "connection": connection,
        "name": connection.party.display_name(language),
        "shared": scope_words(connection.scopes),
    }


@citizen_required
@require_http_methods(["GET", "HEAD"])
def connections(request: HttpRequest) -> HttpResponse:
    """Each service the holder agreed to share data with: what it receives, when it last signed
    them in, and a way to withdraw its access."""
    user = _user(request)
    language = request.LANGUAGE_CODE
    items = [_connection_view(item, language) for item in selectors.connections_for_user(user=user)]
    return _render(request, "connections.html", {"connections": items})


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def connection_revoke(request: HttpRequest, party_id: str) -> HttpResponse:
    """Withdraw a service's access: a confirmation page stating the consequence, then POST."""
    user = _user(request)
    number = _parse_id(party_id)
    try:
        connection = selectors.connection_for_user(user=user, party_id=number)
    except NotFound as exc:
        raise Http404(exc.code) from exc
    name = connection.party.display_name(request.LANGUAGE_CODE)
    if request.method != "POST":
        return _render(request, "connection_revoke.html", _connection_view(connection, request.LANGUAGE_CODE))
    try:
        relying_parties.connection_revoke(
            actor=Actor.citizen(user.pk, ip=client_ip(request)), user=user, party_id=number
        )
    except NotFound as exc:
        raise Http404(exc.code) from exc
    messages.success(
        request,
        _("%(service)s no longer has access to your data. It must ask you again.") % {"service": name},
    )
    return redirect("portal:account-connections")
