"""Staff roles: the groups' permissions, the StaffActor checks services rely on."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from hawiya.core.errors import NotFound
from hawiya.identity.models import StaffMembership, StaffRole
from hawiya.identity.staff import (
    PERM_ALL_OFFICES,
    PERM_MANAGE_OFFICE,
    PERM_WORK_CASES,
    ROLE_PERMISSIONS,
    StaffForbidden,
    staff_actor_for,
    staff_member_create,
)
from hawiya.identity.tests.factories import make_account, make_staff
from hawiya.registry.models import Office
from hawiya.registry.tests.factories import make_office

pytestmark = pytest.mark.django_db


def test_the_migration_and_the_code_give_each_role_the_same_permissions() -> None:
    # The newest migration that changes the groups holds the whole table (0003 made the groups).
    migration = importlib.import_module("hawiya.identity.migrations.0013_staff_role_policy")
    assert {role: set(perms) for role, perms in migration.ROLE_PERMISSIONS.items()} == {
        str(role): set(perms) for role, perms in ROLE_PERMISSIONS.items()
    }
    for role, perms in ROLE_PERMISSIONS.items():
        assert set(Group.objects.get(name=role).permissions.values_list("codename", flat=True)) == set(perms)


def test_an_officer_works_cases_of_their_own_office_only() -> None:
    office, other = make_office(), make_office()
    officer = make_staff(role=StaffRole.OFFICER, office=office)
    officer.require(PERM_WORK_CASES)
    officer.require_office(office.pk)
    with pytest.raises(NotFound):
        officer.require_office(other.pk)
    with pytest.raises(StaffForbidden):
        officer.require(PERM_MANAGE_OFFICE)


def test_an_administrator_sees_every_office_but_does_not_work_cases() -> None:
    admin = make_staff(role=StaffRole.ADMINISTRATOR, office=None)
    assert admin.has(PERM_ALL_OFFICES)
    admin.require_office(make_office().pk)
    with pytest.raises(StaffForbidden):
        admin.require(PERM_WORK_CASES)


def test_the_audit_fields_name_the_role_and_office_never_the_person() -> None:
    office = make_office()
    officer = make_staff(role=StaffRole.SUPERVISOR, office=office, ip="192.0.2.7")
    assert officer.actor.columns() == (f"user:{officer.user_id}", "supervisor", office.code, "192.0.2.7")


def test_citizens_and_deactivated_staff_are_not_staff() -> None:
    assert staff_actor_for(make_account()) is None
    user = staff_member_create(
        username="Former.Officer", password="x" * 12, role="officer", office=make_office()
    )
    assert user.username == "former.officer"
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert staff_actor_for(user) is None


def test_an_officer_must_have_an_office_and_an_administrator_none() -> None:
    office: Office = make_office()
    with pytest.raises(IntegrityError), transaction.atomic():
        staff_member_create(username="no.office", password="x" * 12, role="officer", office=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        staff_member_create(username="admin.office", password="x" * 12, role="administrator", office=office)
    assert not StaffMembership.objects.filter(user__username__in=["no.office", "admin.office"]).exists()


def test_the_demo_staff_are_seeded_once_and_only_in_demo_mode() -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command
    from django.test import override_settings

    for code in ("riyadh-north", "jeddah-central"):
        make_office(code=code)
    with override_settings(DEMO=False), pytest.raises(CommandError):
        call_command("seed_demo_staff", stdout=StringIO())
    with override_settings(DEMO=True):
        out = StringIO()
        call_command("seed_demo_staff", stdout=out)
        assert "4 created" in out.getvalue()
        call_command("seed_demo_staff", stdout=out)
        assert "0 created" in out.getvalue()
    roles = dict(StaffMembership.objects.values_list("user__username", "role"))
    assert roles == {
        "officer.riyadh": "officer",
        "supervisor.riyadh": "supervisor",
        "officer.jeddah": "officer",
        "admin.hawiya": "administrator",
    }
