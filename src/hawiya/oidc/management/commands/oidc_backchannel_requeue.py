"""`manage.py oidc_backchannel_requeue`: hand overdue back-channel logouts to the worker again. The
minute jobs (`manage.py run_periodic`) already do this; the command is for an operator who wants
it now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hawiya.identity.backchannel_logout import backchannel_logout_sweep


class Command(BaseCommand):
    help = "Re-queue back-channel logouts whose worker hand-over was lost or whose worker died."

    def handle(self, *args: Any, **options: Any) -> None:
        count = len(backchannel_logout_sweep())
        if options["verbosity"] >= 1:
            self.stdout.write(f"Re-queued {count} back-channel logout(s).")
