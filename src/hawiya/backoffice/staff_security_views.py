"""The administrators' staff-security page (under /<lang>/staff/security/roles/): for each staff
role, how many members have a passkey, and whether they must sign in with it; requiring it (or
no longer) goes through a confirmation page.

Views parse, call one selector or service and render; the service checks the permission again
(`identity.manage_staff_security`) and writes the audit trail. A role the server's configuration
(HAWIYA_STAFF_PASSKEY_ROLES) requires it of is shown so, without a form: the page cannot lift it.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from hawiya.core.errors import ApplicationError
from hawiya.identity import selectors
from hawiya.identity.services import staff_policy as services
from hawiya.identity.staff import PERM_MANAGE_STAFF_SECURITY, StaffForbidden

from .decorators import staff_of, staff_page, staff_required

manage_staff_security = staff_required(PERM_MANAGE_STAFF_SECURITY)
CHOICES = {"require": True, "release": False}


def _row(role: str) -> selectors.StaffRolePolicyRow:
    for row in selectors.staff_role_policies():
        if row.role == role:
            return row
    raise Http404("role")


@manage_staff_security
@require_safe
def roles(request: HttpRequest) -> HttpResponse:
    """Every staff role, its members with and without a passkey, and its sign-in rule."""
    return staff_page(request, "backoffice/security/roles.html", {"rows": selectors.staff_role_policies()})


@manage_staff_security
@require_http_methods(["GET", "HEAD", "POST"])
def role_policy(request: HttpRequest, role: str) -> HttpResponse:
    """Confirm, then require (choice=require) or stop requiring (choice=release) a passkey."""
    staff = staff_of(request)
    row = _row(role)
    if request.method == "POST":
        choice = request.POST.get("choice", "")  # a POST says what it does: no default
    else:
        choice = request.GET.get("choice", "release" if row.required_by_policy else "require")
    context = {"row": row, "choice": choice, "error": ""}
    if choice not in CHOICES:
        context["error"] = _("Choose whether the role must sign in with a passkey.")
        context["choice"] = ""
        return staff_page(request, "backoffice/security/confirm.html", context, status=400)
    if request.method != "POST":
        return staff_page(request, "backoffice/security/confirm.html", context)
    try:
        result = services.staff_role_policy_set(
            actor=staff.actor, role=row.role, passkey_required=CHOICES[choice]
        )
    except StaffForbidden:
        raise PermissionDenied from None
    except ApplicationError as error:
        context["error"] = error.message
        return staff_page(request, "backoffice/security/confirm.html", context, status=400)
    if not result.changed:
        messages.info(request, _("Nothing changed: the role was already set so."))
    elif result.passkey_required:
        messages.success(
            request,
            _("%(role)s: members with a passkey must now sign in with it.") % {"role": row.label},
        )
    else:
        messages.success(
            request,
            _("%(role)s: members may again sign in with the authenticator app's code.") % {"role": row.label},
        )
    return redirect("backoffice:staff-security-roles")
