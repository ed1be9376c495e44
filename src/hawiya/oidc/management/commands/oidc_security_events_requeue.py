"""`manage.py oidc_security_events_requeue`: hand overdue security events (signals streams) to the
worker again (run it every minute, beside oidc_backchannel_requeue)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hawiya.identity.security_signals import security_event_sweep


class Command(BaseCommand):
    help = "Re-queue security events whose worker hand-over was lost or whose worker died."

    def handle(self, *args: Any, **options: Any) -> None:
        count = len(security_event_sweep())
        if options["verbosity"] >= 1:
            self.stdout.write(f"Re-queued {count} security event(s).")
