"""The administrators' relying-party pages (under /<lang>/staff/parties/): the list, register,
change, suspend and resume (each through a confirmation page), and a new client secret.

A new secret is shown once: the service returns it, the view keeps it in the session only until
the secret page has been shown (popped there, like new recovery codes), and it is never stored
anywhere readable. Views parse, call one selector or service, and render; the services check the
permission again (`identity.manage_relying_parties`) and write the audit trail.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity import selectors
from hawiya.identity.models import RelyingParty
from hawiya.identity.scope_words import scope_words
from hawiya.identity.services import relying_parties as services
from hawiya.identity.staff import PERM_MANAGE_RELYING_PARTIES, StaffForbidden

from .decorators import staff_of, staff_page, staff_required
from .parties_forms import PartyForm

manage_parties = staff_required(PERM_MANAGE_RELYING_PARTIES)
# The secret just made, between the action and the page that shows it once.
SECRET_SESSION_KEY = "hawiya_staff_party_secret"  # noqa: S105 (a session key)


def _party(party_id: int) -> RelyingParty:
    try:
        return selectors.relying_party_get(party_id=party_id)
    except NotFound:
        raise Http404("party") from None


def _guarded(call: Any) -> Any:
    """Run a service call: a role that may not is 403, a missing party 404 (the page guard
    checked already; this is the service's own check)."""
    try:
        return call()
    except StaffForbidden:
        raise PermissionDenied from None
    except NotFound:
        raise Http404("party") from None


def _show_secret_once(request: HttpRequest, result: services.PartyWithSecret) -> HttpResponse:
    if not result.client_secret:
        return redirect("backoffice:parties")
    request.session[SECRET_SESSION_KEY] = {"party": result.party.pk, "secret": result.client_secret}
    return redirect("backoffice:party-secret", party_id=result.party.pk)


def _row(party: RelyingParty) -> dict[str, Any]:
    return {
        "party": party,
        "client_id": party.application.client_id,
        "redirect_uris": party.application.redirect_uris.split(),
        "scopes": scope_words(party.allowed_scopes),
    }


@manage_parties
@require_safe
def parties(request: HttpRequest) -> HttpResponse:
    """Every relying party: names, client id, how it authenticates, whether it is suspended."""
    rows = [_row(party) for party in selectors.relying_parties_all()]
    return staff_page(request, "backoffice/parties/list.html", {"rows": rows})


def _form_page(
    request: HttpRequest, form: PartyForm, party: RelyingParty | None, status: int = 200
) -> HttpResponse:
    context = {"form": form, "party": party}
    return staff_page(request, "backoffice/parties/form.html", context, status=status)


@manage_parties
@require_http_methods(["GET", "HEAD", "POST"])
def party_register(request: HttpRequest) -> HttpResponse:
    """Register a party; a client secret, if it uses one, is shown once on the next page."""
    staff = staff_of(request)
    if request.method != "POST":
        return _form_page(request, PartyForm(), None)
    form = PartyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _form_page(request, form, None, status=400)
    try:
        result = _guarded(lambda: services.party_register(actor=staff.actor, **form.service_arguments()))
    except ApplicationError as error:
        form.add_application_error(error)
        return _form_page(request, form, None, status=400)
    messages.success(request, _("The service is registered."))
    return _show_secret_once(request, result)


@manage_parties
@require_http_methods(["GET", "HEAD", "POST"])
def party_edit(request: HttpRequest, party_id: int) -> HttpResponse:
    """Change a party (its client id stays)."""
    staff = staff_of(request)
    party = _party(party_id)
    if request.method != "POST":
        return _form_page(request, PartyForm(initial=PartyForm.initial_from(party), editing=True), party)
    form = PartyForm(request.POST, request.FILES, editing=True)
    if not form.is_valid():
        return _form_page(request, form, party, status=400)
    try:
        result = _guarded(
            lambda: services.party_update(actor=staff.actor, party_id=party.pk, **form.service_arguments())
        )
    except ApplicationError as error:
        form.add_application_error(error)
        return _form_page(request, form, party, status=400)
    messages.success(request, _("The service's details are saved."))
    return _show_secret_once(request, result)


@manage_parties
@require_safe
def party_secret(request: HttpRequest, party_id: int) -> HttpResponse:
    """The client secret just made, once: the session forgets it as the page is built."""
    party = _party(party_id)
    kept = request.session.get(SECRET_SESSION_KEY)
    secret = ""
    if isinstance(kept, dict) and kept.get("party") == party.pk:
        secret = str(kept.get("secret", ""))
        del request.session[SECRET_SESSION_KEY]
    context = {"party": party, "client_id": party.application.client_id, "secret": secret}
    return staff_page(request, "backoffice/parties/secret.html", context)


# --- Suspend, resume, new secret: a confirmation page, then POST ------------------------------

DONE = {
    "suspend": gettext_lazy("The service is suspended. Its tokens no longer work."),
    "resume": gettext_lazy("The service is active again."),
}


def _confirm(request: HttpRequest, party_id: int, action: str) -> HttpResponse:
    staff = staff_of(request)
    party = _party(party_id)
    context = {"party": party, "action": action, "client_id": party.application.client_id}
    if request.method != "POST":
        return staff_page(request, "backoffice/parties/confirm.html", context)
    try:
        if action == "rotate":
            result = _guarded(lambda: services.party_rotate_secret(actor=staff.actor, party_id=party.pk))
            messages.success(request, _("A new client secret is made. The old one no longer works."))
            return _show_secret_once(request, result)
        change = services.party_suspend if action == "suspend" else services.party_resume
        _guarded(lambda: change(actor=staff.actor, party_id=party.pk))
    except ApplicationError as error:
        context["error"] = error.message
        return staff_page(request, "backoffice/parties/confirm.html", context, status=400)
    messages.success(request, str(DONE[action]))
    return redirect(reverse("backoffice:parties"))


@manage_parties
@require_http_methods(["GET", "HEAD", "POST"])
def party_suspend(request: HttpRequest, party_id: int) -> HttpResponse:
    return _confirm(request, party_id, "suspend")


@manage_parties
@require_http_methods(["GET", "HEAD", "POST"])
def party_resume(request: HttpRequest, party_id: int) -> HttpResponse:
    return _confirm(request, party_id, "resume")


@manage_parties
@require_http_methods(["GET", "HEAD", "POST"])
def party_rotate_secret(request: HttpRequest, party_id: int) -> HttpResponse:
    return _confirm(request, party_id, "rotate")
