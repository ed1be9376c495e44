"""Administrators choose which staff roles must sign in with a passkey: the policy table, and the
permission (manage_staff_security) added to the administrator group.

ROLE_PERMISSIONS below is the whole table as it stands after this migration (identity.staff
keeps the live one; tests/test_staff.py checks that the two agree).
"""

from typing import Any

import django.db.models.deletion
from django.apps.registry import Apps
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

import hawiya.core.clock

# A copy, not an import: a migration must keep meaning what it meant when it was written.
ROLE_PERMISSIONS = {
    "officer": ("work_cases", "counter_identity"),
    "supervisor": ("work_cases", "counter_identity", "manage_office", "view_dashboard"),
    "administrator": (
        "manage_office",
        "view_dashboard",
        "all_offices",
        "manage_relying_parties",
        "manage_staff_security",
    ),
}
ADDED = {"administrator": ("manage_staff_security",)}


def _permissions(apps: Apps) -> Any:
    # Permissions are normally created after all migrations (post_migrate); make them now.
    config: Any = apps.get_app_config("identity")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    return apps.get_model("auth", "Permission")


def add_permission(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    permission_model = _permissions(apps)
    group_model = apps.get_model("auth", "Group")
    for role, codenames in ADDED.items():
        group, _created = group_model.objects.get_or_create(name=role)
        group.permissions.add(
            *permission_model.objects.filter(content_type__app_label="identity", codename__in=codenames)
        )


def remove_permission(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    permission_model = apps.get_model("auth", "Permission")
    for role, codenames in ADDED.items():
        for group in apps.get_model("auth", "Group").objects.filter(name=role):
            group.permissions.remove(
                *permission_model.objects.filter(content_type__app_label="identity", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0012_passkeys"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="staffmembership",
            options={
                "permissions": (
                    ("work_cases", "Work replacement requests at their office"),
                    ("counter_identity", "Re-bind a mobile number or activate an identity at the counter"),
                    ("manage_office", "Change an office's schedule, capacity and holidays"),
                    ("view_dashboard", "See an office's dashboard and export it"),
                    ("all_offices", "Act on every office, not only their own"),
                    ("manage_relying_parties", "Register, change and suspend relying parties"),
                    ("manage_staff_security", "Choose which staff roles must sign in with a passkey"),
                ),
                "verbose_name": "staff membership",
                "verbose_name_plural": "staff memberships",
            },
        ),
        migrations.CreateModel(
            name="StaffRolePolicy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "role",
                    models.CharField(
                        choices=[("officer", "Officer"), ("supervisor", "Supervisor"), ("administrator", "Administrator")],
                        max_length=16,
                        unique=True,
                        verbose_name="role",
                    ),
                ),
                ("passkey_required", models.BooleanField(default=False, verbose_name="passkey required")),
                ("updated_at", models.DateTimeField(default=hawiya.core.clock.now, verbose_name="updated at")),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="updated by",
                    ),
                ),
            ],
            options={"verbose_name": "staff role policy", "verbose_name_plural": "staff role policies"},
        ),
        migrations.RunPython(add_permission, remove_permission),
    ]
