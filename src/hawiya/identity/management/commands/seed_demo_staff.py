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
from hawiya.identity.demo_staff import DEMO_STAFF, DEMO_STAFF_PASSWORD
from hawiya.identity.models import AuthenticatorApp, User
from hawiya.identity.staff import staff_member_create
from hawiya.registry.models import Office


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
