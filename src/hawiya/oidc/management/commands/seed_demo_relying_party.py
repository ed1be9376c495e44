"""`manage.py seed_demo_relying_party`: the demo party "بنك المثال / Example Bank" (demo mode only;
identity/services/demo_party.py). EXAMPLE_RP_CLIENT_SECRET gives it another secret than the
published one; EXAMPLE_RP_PORT another port than 8001 for its redirect URIs and its security-event
receiver (the port `make example-rp` serves the bank on)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hawiya.audit.actors import Actor
from hawiya.identity.services.demo_party import (
    CLIENT_ID,
    DEFAULT_PORT,
    DEMO_CLIENT_SECRET,
    demo_party_seed,
)


class Command(BaseCommand):
    help = "Register (or reset) the demo relying party example-bank (demo mode only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError("the demo relying party exists in demo mode only (HAWIYA_DEMO=1)")
        secret = os.environ.get("EXAMPLE_RP_CLIENT_SECRET") or DEMO_CLIENT_SECRET
        port_text = os.environ.get("EXAMPLE_RP_PORT") or str(DEFAULT_PORT)
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise CommandError(f"EXAMPLE_RP_PORT is not a port number: {port_text!r}")
        state = demo_party_seed(
            actor=Actor.system("oidc.seed_demo_relying_party"), secret=secret, port=int(port_text)
        )
        self.stdout.write(f"demo relying party {CLIENT_ID}: {state}")
