"""Rotate the key that signs ID tokens: `manage.py oidc_rotate_key` makes a new RS256 key that
signs from now on (the previous ones stay in the JWKS); `--prune` deletes retired keys whose
tokens have all expired. Run `--prune` a day after a rotation (or from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hawiya.identity.signing_keys import signing_key_create, signing_keys_prune


class Command(BaseCommand):
    help = "Make a new ID-token signing key (the old ones stay published); --prune removes expired ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prune", action="store_true", help="Only delete retired keys whose tokens have all expired."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["prune"]:
            self.stdout.write(f"Deleted {signing_keys_prune()} retired signing key(s).")
            return
        key = signing_key_create()
        self.stdout.write(f"New signing key {key.kid} ({key.algorithm}) signs from now on.")
