"""`manage.py sms_requeue_stalled`: hand overdue SMS messages to the worker again (run it every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hawiya.notifications.services import sms_requeue_stalled


class Command(BaseCommand):
    help = "Re-queue SMS messages whose worker hand-over was lost or whose worker died while sending."

    def handle(self, *args: Any, **options: Any) -> None:
        count = sms_requeue_stalled()
        if options["verbosity"] >= 1:
            self.stdout.write(f"Re-queued {count} stalled SMS message(s).")
