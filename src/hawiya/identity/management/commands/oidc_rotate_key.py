"""Rotate the keys that sign ID tokens: `manage.py oidc_rotate_key` makes a new key of each
algorithm (RS256 and ES256), or of the one named with `--algorithm ES256`, that signs from now on
(the previous ones stay in the JWKS); `--prune` deletes retired keys whose tokens have all
expired. Run `--prune` a day after a rotation (or from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hawiya.identity.signing_keys import ALGORITHMS, signing_keys_prune, signing_keys_rotate


class Command(BaseCommand):
    help = "Make new ID-token signing keys (the old ones stay published); --prune removes expired ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prune", action="store_true", help="Only delete retired keys whose tokens have all expired."
        )
        parser.add_argument(
            "--algorithm",
            default=None,
            help=f"Rotate only this algorithm's key ({', '.join(ALGORITHMS)}); default: every algorithm.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        algorithm = options["algorithm"]
        if options["prune"]:
            if algorithm:
                raise CommandError("--prune deletes expired keys of every algorithm; leave out --algorithm.")
            self.stdout.write(f"Deleted {signing_keys_prune()} retired signing key(s).")
            return
        if algorithm is not None and algorithm.upper() not in ALGORITHMS:
            raise CommandError(f"Unknown algorithm {algorithm!r}: choose one of {', '.join(ALGORITHMS)}.")
        for key in signing_keys_rotate(algorithm.upper() if algorithm else None):
            self.stdout.write(f"New signing key {key.kid} ({key.algorithm}) signs from now on.")
