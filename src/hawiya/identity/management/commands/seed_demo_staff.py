"""`manage.py seed_demo_staff`: the demo staff accounts the README lists (demo mode only).

Each signs in with a password and an authenticator-app code; the demo secrets are fixed so the
back-office sign-in page can show the current code in demo mode (never outside it).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from hawiya.core import clock
from hawiya.identity.models import AuthenticatorApp, StaffRole, User
from hawiya.identity.staff import staff_member_create
from hawiya.registry.models import Office

DEMO_STAFF_PASSWORD = "hawiya-demo-staff"  # noqa: S105 (demo mode only, printed in the README)
# username, role, office code, first name, last name, base32 TOTP secret (demo only)
DEMO_STAFF: tuple[tuple[str, str, str | None, str, str, str], ...] = (
    ("officer.riyadh", StaffRole.OFFICER, "riyadh-north", "Majed", "Al-Harbi", "JBSWY3DPEHPK3PXPOFFICERA"),
    (
        "supervisor.riyadh",
        StaffRole.SUPERVISOR,
        "riyadh-north",
        "Huda",
        "Al-Saud",
        "JBSWY3DPEHPK3PXPSUPERVIS",
    ),
    ("officer.jeddah", StaffRole.OFFICER, "jeddah-central", "Omar", "Al-Zahrani", "JBSWY3DPEHPK3PXPOFFICERJ"),
    ("admin.hawiya", StaffRole.ADMINISTRATOR, None, "Lama", "Al-Qahtani", "JBSWY3DPEHPK3PXPADMINIST"),
)


def demo_staff_secret(username: str) -> str | None:
    """The fixed demo secret of a demo staff account (None for any other account)."""
    return next((row[5] for row in DEMO_STAFF if row[0] == username), None)


class Command(BaseCommand):
    help = "Create the demo staff accounts (demo mode only); existing ones are left as they are."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError("demo staff exist in demo mode only (HAWIYA_DEMO=1)")
        created = 0
        for username, role, office_code, first, last, secret in DEMO_STAFF:
            if User.objects.filter(username=username).exists():
                continue
            office = Office.objects.filter(code=office_code).first() if office_code else None
            if office_code and office is None:
                self.stderr.write(f"office {office_code} is missing: {username} not created")
                continue
            with transaction.atomic():
                user = staff_member_create(
                    username=username,
                    password=DEMO_STAFF_PASSWORD,
                    role=role,
                    office=office,
                    first_name=first,
                    last_name=last,
                )
                AuthenticatorApp.objects.create(user=user, secret=secret, confirmed_at=clock.now())
            created += 1
        self.stdout.write(f"demo staff: {created} created")
