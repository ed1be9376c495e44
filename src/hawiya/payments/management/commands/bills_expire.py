"""`manage.py bills_expire`: expire bills unpaid after 72 hours and end their requests."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hawiya.payments.services import bills_expire_due


class Command(BaseCommand):
    help = "Expire bills unpaid 72 hours after they were issued; their requests end with an SMS."

    def handle(self, *args: Any, **options: Any) -> None:
        count = bills_expire_due()
        if options["verbosity"] >= 1:
            self.stdout.write(f"Expired {count} bill(s).")
