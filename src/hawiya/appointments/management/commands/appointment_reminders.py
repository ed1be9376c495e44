"""Send the day-before reminders that are due (also run every minute by `run_periodic`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hawiya.appointments.services.sweeps import appointment_reminders_send_due


class Command(BaseCommand):
    help = "Text a reminder to everyone whose appointment is tomorrow and has not been reminded."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = appointment_reminders_send_due()
        if options["verbosity"] >= 1:
            self.stdout.write(f"appointment reminders sent: {sent}")
