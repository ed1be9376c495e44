"""Staff: who an officer, supervisor or administrator is when a service acts for them.

Pages build a `StaffActor` once per request (`staff_actor_for`) and pass it to the domain
services, which check the permission they need (`require`) and the office of the object
(`require_office`) themselves: a page that forgot a check still cannot act outside its office.
An object of another office is answered as "not found", like a missing one (existence never leaks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.registry.models import Office

from .demo_staff import demo_staff_secret
from .models import StaffMembership, StaffRole, User

PERM_WORK_CASES = "identity.work_cases"
PERM_COUNTER_IDENTITY = "identity.counter_identity"
PERM_MANAGE_OFFICE = "identity.manage_office"
PERM_VIEW_DASHBOARD = "identity.view_dashboard"
PERM_ALL_OFFICES = "identity.all_offices"
PERM_MANAGE_RELYING_PARTIES = "identity.manage_relying_parties"
PERM_MANAGE_STAFF_SECURITY = "identity.manage_staff_security"

# The permissions each role's group holds (migration 0003 creates the groups, 0007 adds
# manage_relying_parties, 0013 manage_staff_security; keep the newest migration's copy in step,
# test_staff.py checks it).
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    StaffRole.OFFICER: ("work_cases", "counter_identity"),
    StaffRole.SUPERVISOR: ("work_cases", "counter_identity", "manage_office", "view_dashboard"),
    StaffRole.ADMINISTRATOR: (
        "manage_office",
        "view_dashboard",
        "all_offices",
        "manage_relying_parties",
        "manage_staff_security",
    ),
}

STAFF_FORBIDDEN = "staff_forbidden"
STAFF_NOT_FOUND = "staff_object_not_found"


class StaffForbidden(ApplicationError):
    """The role does not allow this action (pages answer 403)."""

    status_code = 403


@dataclass(frozen=True)
class StaffActor:
    """A signed-in staff member, as the services see them: opaque ids and codes only."""

    user_id: int
    role: str
    office_id: int | None
    office_code: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    ip: str | None = None

    @property
    def actor(self) -> Actor:
        """Who acts, for the services and the audit trail: the account, role, office and address."""
        return Actor.staff(self.user_id, role=self.role, office_code=self.office_code, ip=self.ip)

    def has(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        """Raise StaffForbidden unless the role holds `permission` (e.g. PERM_WORK_CASES)."""
        if not self.has(permission):
            raise StaffForbidden(STAFF_FORBIDDEN, _("Your role does not allow this action."))

    def sees_office(self, office_id: int | None) -> bool:
        return self.has(PERM_ALL_OFFICES) or (office_id is not None and office_id == self.office_id)

    def require_office(self, office_id: int | None) -> None:
        """Raise NotFound unless the object's office is the actor's (or the actor sees all)."""
        if not self.sees_office(office_id):
            raise NotFound(STAFF_NOT_FOUND, _("This was not found at your office."))


def staff_actor_for(user: Any, *, ip: str | None = None) -> StaffActor | None:
    """The staff actor of a signed-in account, or None for citizens and inactive accounts, and
    for the demo staff accounts outside demo mode (their password and authenticator secrets are
    published in the README: a database once seeded in demo mode must not keep them as a way in)."""
    found = staff_actor_and_office_for(user, ip=ip)
    return found[0] if found is not None else None


def staff_actor_and_office_for(
    user: Any, *, ip: str | None = None
) -> tuple[StaffActor, Office | None] | None:
    """`staff_actor_for`, with the office row its membership query read along (None for staff
    of no office): a page's header shows the office's name without reading the row again."""
    if not isinstance(user, User) or not user.is_active or user.person_id is not None:
        return None
    if not getattr(settings, "DEMO", False) and demo_staff_secret(user.username) is not None:
        return None
    membership = StaffMembership.objects.select_related("office").filter(user=user).first()
    if membership is None:
        return None
    permissions = frozenset(
        f"{app}.{codename}"
        for app, codename in Permission.objects.filter(group__user=user).values_list(
            "content_type__app_label", "codename"
        )
    )
    actor = StaffActor(
        user_id=user.pk,
        role=membership.role,
        office_id=membership.office_id,
        office_code=membership.office.code if membership.office else "",
        permissions=permissions,
        ip=ip,
    )
    return actor, membership.office


def staff_member_create(
    *,
    username: str,
    password: str,
    role: str,
    office: Office | None,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Create a staff account in its role's group (used by the demo seed and tests; in production
    administrators create staff in the admin, which must put them in the same group)."""
    with transaction.atomic():
        user = User.objects.create_user(
            username=username.lower(), password=password, first_name=first_name, last_name=last_name
        )
        StaffMembership.objects.create(user=user, role=role, office=office)
        user.groups.add(staff_role_group(role))
    return user


def staff_role_group(role: str) -> Group:
    """The role's group with its permissions (made again if a test database flush removed it)."""
    group, created = Group.objects.get_or_create(name=role)
    if created:
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="identity", codename__in=ROLE_PERMISSIONS[role])
        )
    return group
