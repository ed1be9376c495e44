"""What every back-office page needs for its header: the signed-in staff member, their role and
office (templates/backoffice/base.html), none outside the back-office and for citizens; and
whether the page is in the staff area at all (`staff_area`), for the shared error pages. The
office's name comes from the row the page's guard read with the actor (decorators.py); it is
read here only on a page without that guard."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from hawiya.appointments.selectors import office_get
from hawiya.core.areas import in_staff_area
from hawiya.core.errors import NotFound
from hawiya.identity.models import StaffRole
from hawiya.identity.staff import (
    PERM_COUNTER_IDENTITY,
    PERM_MANAGE_OFFICE,
    PERM_MANAGE_RELYING_PARTIES,
    PERM_MANAGE_STAFF_SECURITY,
    PERM_VIEW_DASHBOARD,
    PERM_WORK_CASES,
    StaffActor,
)

from .decorators import staff_office_of


def staff(request: HttpRequest) -> dict[str, Any]:
    actor = getattr(request, "staff", None)
    if not isinstance(actor, StaffActor):
        return {"staff_area": in_staff_area(request)}
    office_name = ""
    office = staff_office_of(request)  # read with the actor by the page's guard
    if office is not None:
        office_name = str(office)
    elif actor.office_id is not None:
        try:
            office_name = str(office_get(office_id=actor.office_id))
        except NotFound:
            office_name = actor.office_code
    try:
        role_label = str(StaffRole(actor.role).label)
    except ValueError:
        role_label = actor.role
    return {
        "staff_area": True,  # the guard of a back-office view set the actor
        "staff": actor,
        "staff_role_label": role_label,
        "staff_office_name": office_name,
        # What the navigation offers (docs/ui.md §6): each link only to a role that may use it.
        "staff_can": {
            "work_cases": actor.has(PERM_WORK_CASES),
            "counter": actor.has(PERM_COUNTER_IDENTITY),
            "manage_office": actor.has(PERM_MANAGE_OFFICE),
            "dashboard": actor.has(PERM_VIEW_DASHBOARD),
            "relying_parties": actor.has(PERM_MANAGE_RELYING_PARTIES),
            "staff_security": actor.has(PERM_MANAGE_STAFF_SECURITY),
        },
    }
