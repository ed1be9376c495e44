"""Which staff roles must sign in with a passkey: the administrators' service (permission, audit,
idempotence, no self-lockout) and the selector with the server's configuration as a floor."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core.errors import ApplicationError
from hawiya.identity import errors, selectors
from hawiya.identity.models import Passkey, StaffRole, StaffRolePolicy, User
from hawiya.identity.services.staff_policy import staff_role_policy_set
from hawiya.identity.staff import StaffActor, StaffForbidden
from hawiya.identity.tests.factories import make_staff
from hawiya.registry.tests.factories import make_office

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_floor(settings: Any) -> None:
    settings.HAWIYA_STAFF_PASSKEY_ROLES = []


def give_passkey(staff: StaffActor) -> None:
    Passkey.objects.create(
        user=User.objects.get(pk=staff.user_id),
        credential_id=secrets.token_urlsafe(16),
        user_handle=secrets.token_urlsafe(16),
        public_key=b"\x00",
        name="key",
    )


def administrator() -> StaffActor:
    return make_staff(role=StaffRole.ADMINISTRATOR, office=None)


def test_an_administrator_requires_a_passkey_of_a_role_and_it_is_audited() -> None:
    admin = administrator()
    result = staff_role_policy_set(actor=admin.actor, role=StaffRole.OFFICER, passkey_required=True)
    assert result.changed
    assert result.passkey_required
    assert selectors.roles_requiring_passkey() == {"officer"}
    policy = StaffRolePolicy.objects.get(role="officer")
    assert policy.updated_by_id == admin.user_id
    event = AuditEvent.objects.get(action="staff_policy.changed")
    assert event.detail == {
        "role": "officer",
        "old": {"passkey_required": False},
        "new": {"passkey_required": True},
    }

    released = staff_role_policy_set(actor=admin.actor, role=StaffRole.OFFICER, passkey_required=False)
    assert released.changed
    assert not released.passkey_required
    assert selectors.roles_requiring_passkey() == frozenset()
    assert AuditEvent.objects.filter(action="staff_policy.changed").count() == 2


def test_setting_what_is_already_set_changes_and_records_nothing() -> None:
    admin = administrator()
    staff_role_policy_set(actor=admin.actor, role=StaffRole.SUPERVISOR, passkey_required=True)
    again = staff_role_policy_set(actor=admin.actor, role=StaffRole.SUPERVISOR, passkey_required=True)
    assert not again.changed
    assert again.passkey_required
    assert AuditEvent.objects.filter(action="staff_policy.changed").count() == 1
    # Not required and never set: no row, no event.
    nothing = staff_role_policy_set(actor=admin.actor, role=StaffRole.OFFICER, passkey_required=False)
    assert not nothing.changed
    assert not StaffRolePolicy.objects.filter(role="officer").exists()
    assert AuditEvent.objects.filter(action="staff_policy.changed").count() == 1


@pytest.mark.parametrize("role", [StaffRole.OFFICER, StaffRole.SUPERVISOR])
def test_other_roles_and_citizens_may_not(role: str) -> None:
    office = make_office()
    staff = make_staff(role=role, office=office)
    with pytest.raises(StaffForbidden):
        staff_role_policy_set(actor=staff.actor, role=StaffRole.OFFICER, passkey_required=True)
    account = User.objects.create_user(username="citizenish", password="x-long-password-1")
    with pytest.raises(StaffForbidden):
        staff_role_policy_set(actor=Actor.citizen(account.pk), role=StaffRole.OFFICER, passkey_required=True)
    assert not StaffRolePolicy.objects.exists()
    assert not AuditEvent.objects.filter(action="staff_policy.changed").exists()


def test_an_unknown_role_is_a_clear_error() -> None:
    with pytest.raises(ApplicationError) as raised:
        staff_role_policy_set(actor=administrator().actor, role="janitor", passkey_required=True)
    assert raised.value.code == errors.STAFF_ROLE_INVALID
    assert not StaffRolePolicy.objects.exists()


def test_an_administrator_without_a_passkey_cannot_require_one_of_their_own_role() -> None:
    admin = administrator()
    with pytest.raises(ApplicationError) as raised:
        staff_role_policy_set(actor=admin.actor, role=StaffRole.ADMINISTRATOR, passkey_required=True)
    assert raised.value.code == errors.STAFF_POLICY_SELF_LOCKOUT
    with translation.override("en"):
        assert "Add a passkey to your own account first" in str(raised.value.message)
    with translation.override("ar"):
        assert "أضف مفتاح مرور إلى حسابك أولًا" in str(raised.value.message)
    assert selectors.roles_requiring_passkey() == frozenset()
    # Another role is fine; and once they have a passkey, their own role too.
    staff_role_policy_set(actor=admin.actor, role=StaffRole.OFFICER, passkey_required=True)
    give_passkey(admin)
    staff_role_policy_set(actor=admin.actor, role=StaffRole.ADMINISTRATOR, passkey_required=True)
    assert selectors.roles_requiring_passkey() == {"officer", "administrator"}


def test_the_servers_configuration_is_a_floor_the_policy_cannot_lift(settings: Any) -> None:
    settings.HAWIYA_STAFF_PASSKEY_ROLES = ["supervisor", "nonsense"]
    assert selectors.roles_requiring_passkey() == {"supervisor"}
    admin = administrator()
    staff_role_policy_set(actor=admin.actor, role=StaffRole.SUPERVISOR, passkey_required=True)
    staff_role_policy_set(actor=admin.actor, role=StaffRole.SUPERVISOR, passkey_required=False)
    assert selectors.roles_requiring_passkey() == {"supervisor"}
    rows = {row.role: row for row in selectors.staff_role_policies()}
    assert rows["supervisor"].required_by_settings
    assert rows["supervisor"].required
    assert not rows["officer"].required


def test_the_page_counts_members_with_and_without_a_passkey() -> None:
    office = make_office()
    with_key = make_staff(role=StaffRole.OFFICER, office=office)
    make_staff(role=StaffRole.OFFICER, office=office)
    give_passkey(with_key)
    give_passkey(with_key)  # two passkeys are still one member
    rows = {row.role: row for row in selectors.staff_role_policies()}
    assert (rows["officer"].with_passkey, rows["officer"].without_passkey) == (1, 1)
    assert (rows["supervisor"].with_passkey, rows["supervisor"].without_passkey) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_migration_0013_gives_administrators_the_permission_and_goes_back_cleanly() -> None:
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    staff_role_group = Group.objects.get_or_create(name="administrator")[0]
    executor = MigrationExecutor(connection)
    executor.migrate([("identity", "0012_passkeys")])
    try:
        assert not staff_role_group.permissions.filter(codename="manage_staff_security").exists()
    finally:
        # Back to the newest state of every app, as the tests after this one need it.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        executor.loader.build_graph()
    assert staff_role_group.permissions.filter(codename="manage_staff_security").exists()
    assert StaffRolePolicy.objects.count() == 0
