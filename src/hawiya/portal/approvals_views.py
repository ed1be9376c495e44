"""App approvals (number matching): the signed-in citizen's waiting requests, each with the party
that asks, what for, and three numbers to tap (the approvals app has the rules, docs/design.md §6).

The page works without JavaScript (a reload shows new requests); approvals.js polls `pending` every
few seconds and swaps in the list, rendered here, when it changed, so a request a party just sent
appears on the open page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from hawiya.approvals import errors
from hawiya.approvals.models import ApprovalRequest, ApprovalStatus
from hawiya.approvals.selectors import approvals_waiting_for
from hawiya.approvals.services import approval_answer
from hawiya.core.client import client_ip, client_user_agent
from hawiya.core.errors import ApplicationError
from hawiya.identity.models import User
from hawiya.identity.selectors import has_passkey
from hawiya.identity.services import passkeys

from . import session_keys
from .decorators import citizen_actor, citizen_required, personal_page

LIST_TEMPLATE = "portal/account/includes/approvals_list.html"
# How often the open page asks for new requests (seconds): a party's user is waiting.
POLL_SECONDS = 4


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or user.person_id is None:
        raise Http404("not signed in")
    return user


def _card(row: ApprovalRequest, language: str) -> dict[str, Any]:
    # The logo is served by the provider's own view, as on the consent and sign-in pages
    # (MEDIA_URL is not served: `logo.url` would be a broken image).
    logo_url = (
        reverse("oauth2_provider:party-logo", args=[row.party.application.client_id])
        if row.party.logo
        else ""
    )
    return {
        "id": row.public_id,
        "party": row.party.display_name(language),
        "logo_url": logo_url,
        "purpose": row.purpose(language),
        "choices": list(row.choices),
        "expires_at": row.expires_at,
    }


def _list_context(request: HttpRequest) -> dict[str, Any]:
    language = request.LANGUAGE_CODE
    user = _user(request)
    rows = approvals_waiting_for(user=user)
    return {
        "cards": [_card(row, language) for row in rows],
        "ids": [row.public_id for row in rows],
        # A holder of a passkey confirms the number with it (passkeys.js), where the browser can.
        "passkey": has_passkey(user=user),
    }


@citizen_required
@require_http_methods(["GET", "HEAD"])
def approvals(request: HttpRequest) -> HttpResponse:
    """The waiting requests, oldest first (usually one)."""
    context = _list_context(request)
    context["poll_seconds"] = POLL_SECONDS
    return personal_page(request, "portal/account/approvals.html", context)


@citizen_required
@require_http_methods(["GET"])
def approvals_pending(request: HttpRequest) -> JsonResponse:
    """The poll of the open page: the waiting requests' ids and the list as HTML (the page's own
    template, so the words are in the page's language)."""
    context = _list_context(request)
    html = render_to_string(LIST_TEMPLATE, context, request=request)
    response = JsonResponse({"ids": context["ids"], "html": html})
    response["Cache-Control"] = "no-store"
    return response


_ENDED = {
    ApprovalStatus.COMPLETED: (messages.SUCCESS, gettext_lazy("You approved the request of %(party)s.")),
    ApprovalStatus.REJECTED: (
        messages.INFO,
        gettext_lazy("You refused the request of %(party)s. It cannot be approved now."),
    ),
    ApprovalStatus.EXPIRED: (
        messages.WARNING,
        gettext_lazy("The request of %(party)s had expired. Ask them to send it again."),
    ),
}


def _passkey_refusal(request: HttpRequest, user: User) -> str | None:
    """When the number came with a passkey's answer, that answer must be the holder's own passkey
    (as when confirming it is you): the refusal's message, or None. Without one (no WebAuthn in
    the browser, no passkey) the number alone answers, as before."""
    credential = request.POST.get("credential", "")
    if not credential:
        return None
    challenge = session_keys.pop_text(request.session, session_keys.PASSKEY_REAUTH)
    try:
        passkeys.passkey_reauthenticate(
            user=user,
            challenge=challenge,
            credential=credential,
            ip=client_ip(request),
            user_agent=client_user_agent(request),
        )
    except ApplicationError as exc:
        return str(exc.message)
    return None


@citizen_required
@require_POST
def approval_answer_view(request: HttpRequest, approval_id: str) -> HttpResponse:
    """A number tapped (`number`) or "Deny" (`deny`): the request ends; back to the list."""
    user = _user(request)
    number: int | None = None
    if "deny" not in request.POST:
        # passkeys.js sends the tapped number as `confirmed_number`, with the passkey's answer.
        raw = request.POST.get("number") or request.POST.get("confirmed_number", "")
        if not (raw.isascii() and raw.isdigit() and len(raw) == 2):
            messages.error(request, _("Choose one of the three numbers, or deny the request."))
            return redirect("portal:account-approvals")
        number = int(raw)
        refusal = _passkey_refusal(request, user)
        if refusal is not None:
            messages.error(request, refusal)
            return redirect("portal:account-approvals")
    try:
        row = approval_answer(actor=citizen_actor(request), user=user, approval_id=approval_id, number=number)
    except ApplicationError as exc:
        if exc.code == errors.NOT_FOUND:
            raise Http404("no such request") from None
        messages.error(request, str(exc.message))
        return redirect("portal:account-approvals")
    level, text = _ENDED[ApprovalStatus(row.status)]
    messages.add_message(request, level, str(text) % {"party": row.party.display_name(request.LANGUAGE_CODE)})
    return redirect("portal:account-approvals")
