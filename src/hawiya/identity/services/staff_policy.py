"""Which staff roles must sign in with a passkey: chosen by administrators in the back-office
(backoffice/staff_security_views.py) and read at every staff sign-in through
`selectors.roles_requiring_passkey` (with the server's HAWIYA_STAFF_PASSKEY_ROLES as a floor).

The write takes the acting `Actor`, checks that it may (a staff member holding
`identity.manage_staff_security`, a superuser of the admin site without a role, or Hawiya itself),
and records `staff_policy.changed` in the same transaction. Setting what is already set changes
nothing and records nothing. An administrator cannot require a passkey of their own role while
they have none: they would be bound by a rule they cannot yet follow (add a passkey first).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor, ActorKind
from hawiya.audit.services import audit_record
from hawiya.core import clock

from .. import errors
from ..models import Passkey, StaffRole, StaffRolePolicy, User
from ..staff import PERM_MANAGE_STAFF_SECURITY, STAFF_FORBIDDEN, StaffActor, StaffForbidden, staff_actor_for

OBJECT_TYPE = "identity.staffrolepolicy"


@dataclass(frozen=True)
class StaffPolicyChange:
    """The role's policy after the call, and whether the call changed it."""

    role: str
    passkey_required: bool
    changed: bool


def _require_manager(actor: Actor) -> StaffActor | None:
    """The acting staff member (None for Hawiya itself or a superuser without a role), or
    StaffForbidden for anybody whose role does not hold manage_staff_security."""
    if actor.kind == ActorKind.SYSTEM:
        return None
    if actor.kind == ActorKind.STAFF and actor.user_id is not None:
        user = User.objects.filter(pk=actor.user_id, is_active=True).first()
        if user is not None:
            staff = staff_actor_for(user)
            if staff is not None and staff.has(PERM_MANAGE_STAFF_SECURITY):
                return staff
            if staff is None and user.person_id is None and user.is_superuser:
                return None
    raise StaffForbidden(STAFF_FORBIDDEN, _("Your role does not allow this action."))


def staff_role_policy_set(*, actor: Actor, role: str, passkey_required: bool) -> StaffPolicyChange:
    """Require (or stop requiring) a passkey at sign-in of the members of `role`.

    Raises StaffForbidden (not an administrator), `staff_role_invalid` (no such role) and
    `staff_policy_self_lockout` (requiring it of the actor's own role while they have no passkey).
    """
    staff = _require_manager(actor)
    if role not in StaffRole.values:
        raise errors.error(errors.STAFF_ROLE_INVALID, field="role")
    with transaction.atomic():
        policy = StaffRolePolicy.objects.select_for_update().filter(role=role).first()
        old = bool(policy and policy.passkey_required)
        if old == passkey_required:
            return StaffPolicyChange(role=role, passkey_required=old, changed=False)
        if (
            passkey_required
            and staff is not None
            and staff.role == role
            and not Passkey.objects.filter(user_id=staff.user_id).exists()
        ):
            raise errors.error(errors.STAFF_POLICY_SELF_LOCKOUT, field="role")
        if policy is None:
            policy = StaffRolePolicy(role=role)
        policy.passkey_required = passkey_required
        policy.updated_at = clock.now()
        policy.updated_by_id = actor.user_id if actor.kind != ActorKind.SYSTEM else None
        policy.save()
        audit_record(
            actor=actor,
            action="staff_policy.changed",
            object_type=OBJECT_TYPE,
            object_id=policy.pk,
            detail={
                "role": role,
                "old": {"passkey_required": old},
                "new": {"passkey_required": passkey_required},
            },
        )
    return StaffPolicyChange(role=role, passkey_required=passkey_required, changed=True)
