"""Guards for back-office pages: a signed-in staff member, optionally holding a permission.

The guard builds the `StaffActor` once (`request.staff`) and the views pass it to the services,
which check the permission and the office again: the page check gives a clear 403 page, the
service check makes a forgotten page check harmless. The office row read with it is kept as
`request.staff_office` (`staff_office_of`), for the header and for naming offices on a page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from hawiya.core.client import client_ip
from hawiya.identity.staff import StaffActor, staff_actor_and_office_for
from hawiya.registry.models import Office

View = Callable[..., HttpResponse]


def staff_required(permission: str | None = None) -> Callable[[View], View]:
    """Signed in as staff (else to the staff sign-in page); with `permission`, 403 without it."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            found = staff_actor_and_office_for(request.user, ip=client_ip(request))
            if found is None:
                if request.user.is_authenticated:
                    # A citizen's account has no back-office: answer as for any page not theirs.
                    raise PermissionDenied
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('backoffice:sign-in')}?{query}")
            staff, office = found
            if permission is not None and not staff.has(permission):
                raise PermissionDenied
            request.staff = staff  # type: ignore[attr-defined]
            request.staff_office = office  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def staff_of(request: HttpRequest) -> StaffActor:
    """The StaffActor of a view guarded by `staff_required`."""
    staff = getattr(request, "staff", None)
    if not isinstance(staff, StaffActor):
        raise PermissionDenied
    return staff


def staff_office_of(request: HttpRequest) -> Office | None:
    """The office row of the StaffActor of a view guarded by `staff_required` (None if none)."""
    office = getattr(request, "staff_office", None)
    staff = getattr(request, "staff", None)
    if isinstance(office, Office) and isinstance(staff, StaffActor) and office.pk == staff.office_id:
        return office
    return None


def staff_page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render a back-office page: personal data, so never cached."""
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response
