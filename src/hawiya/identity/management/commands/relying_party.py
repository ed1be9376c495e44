"""Manage relying parties from automation, through the same services as the back-office (audited
as `system:oidc.command`).

    manage.py relying_party list
    manage.py relying_party create --name-ar "بنك المثال" --name-en "Example Bank" \\
        --redirect-uri https://bank.example/callback --scope openid --scope profile \\
        [--client-id example-bank] [--auth client_secret_basic|client_secret_post|private_key_jwt] \\
        [--jwks-file keys.json] [--backchannel-logout-uri https://bank.example/logout] \\
        [--id-token-alg RS256|ES256]
    manage.py relying_party id-token-alg <client id> RS256|ES256
    manage.py relying_party signals <client id> [--endpoint https://bank.example/events \\
        --event https://schemas.openid.net/secevent/caep/event-type/session-revoked ...]
        (no endpoint and no event: the party's signals stream ends)
    manage.py relying_party suspend <client id>
    manage.py relying_party resume <client id>
    manage.py relying_party rotate-secret <client id>

`create` and `rotate-secret` print the new client secret once, on its own line
("client_secret: ..."); it cannot be read back afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hawiya.audit.actors import Actor
from hawiya.core.errors import ApplicationError
from hawiya.identity import selectors
from hawiya.identity.models import TokenEndpointAuthMethod
from hawiya.identity.services import relying_parties as services

ACTOR = Actor.system("oidc.command")


class Command(BaseCommand):
    help = "Register, list, suspend, resume or give a new client secret to relying parties."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        commands.add_parser("list", help="Every relying party, one a line.")
        create = commands.add_parser("create", help="Register a relying party.")
        create.add_argument("--name-ar", required=True)
        create.add_argument("--name-en", required=True)
        create.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris")
        create.add_argument("--scope", action="append", dest="scopes", default=None)
        create.add_argument("--client-id", default=None)
        create.add_argument(
            "--auth",
            choices=TokenEndpointAuthMethod.values,
            default=TokenEndpointAuthMethod.CLIENT_SECRET_BASIC,
        )
        create.add_argument("--jwks-file", type=Path, default=None)
        create.add_argument("--backchannel-logout-uri", default="")
        # Checked by the service (its error, in the active language, rather than argparse's).
        create.add_argument(
            "--id-token-alg", default="RS256", help="How its ID tokens are signed: RS256 or ES256."
        )
        alg = commands.add_parser("id-token-alg", help="Choose how a party's ID tokens are signed.")
        alg.add_argument("client_id")
        alg.add_argument("algorithm", help="RS256 or ES256")
        signals = commands.add_parser("signals", help="Set a party's security signals stream.")
        signals.add_argument("client_id")
        signals.add_argument("--endpoint", default="", help="Where its Security Event Tokens are pushed.")
        signals.add_argument(
            "--event", action="append", dest="events", default=None, help="An event type URI."
        )
        for name in ("suspend", "resume", "rotate-secret"):
            one = commands.add_parser(name)
            one.add_argument("client_id")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "list":
                self._list()
            elif action == "create":
                self._create(options)
            elif action == "id-token-alg":
                self._id_token_alg(options["client_id"], options["algorithm"])
            elif action == "signals":
                self._signals(options["client_id"], options["endpoint"], options["events"] or [])
            else:
                self._change(action, options["client_id"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None

    def _list(self) -> None:
        for party in selectors.relying_parties_all():
            state = "suspended" if party.suspended_at else "active"
            scopes = ",".join(party.allowed_scopes)
            self.stdout.write(
                f"{party.application.client_id}\t{state}\t{party.token_endpoint_auth_method}\t{scopes}\t"
                f"{party.name_en}\t{party.id_token_signed_response_alg}"
            )

    def _create(self, options: dict[str, Any]) -> None:
        jwks = options["jwks_file"].read_text() if options["jwks_file"] else None
        result = services.party_register(
            actor=ACTOR,
            name_ar=options["name_ar"],
            name_en=options["name_en"],
            redirect_uris=options["redirect_uris"],
            allowed_scopes=options["scopes"] or ["openid"],
            token_endpoint_auth_method=options["auth"],
            jwks=jwks,
            backchannel_logout_uri=options["backchannel_logout_uri"],
            client_id=options["client_id"],
            id_token_signed_response_alg=options["id_token_alg"],
        )
        self.stdout.write(f"client_id: {result.party.application.client_id}")
        if result.client_secret:
            self.stdout.write(f"client_secret: {result.client_secret}")

    def _id_token_alg(self, client_id: str, algorithm: str) -> None:
        party = selectors.relying_party_by_client_id(client_id=client_id)
        party = services.party_set_id_token_alg(actor=ACTOR, party_id=party.pk, algorithm=algorithm)
        self.stdout.write(f"{client_id}: ID tokens signed with {party.id_token_signed_response_alg}")

    def _signals(self, client_id: str, endpoint: str, events: list[str]) -> None:
        party = selectors.relying_party_by_client_id(client_id=client_id)
        party = services.party_set_signal_stream(
            actor=ACTOR, party_id=party.pk, endpoint=endpoint, events=events
        )
        if party.signals_endpoint:
            self.stdout.write(f"{client_id}: signals to {party.signals_endpoint}")
            for event in party.signals_events:
                self.stdout.write(f"  {event}")
        else:
            self.stdout.write(f"{client_id}: no signals stream")

    def _change(self, action: str, client_id: str) -> None:
        party = selectors.relying_party_by_client_id(client_id=client_id)
        if action == "suspend":
            services.party_suspend(actor=ACTOR, party_id=party.pk)
            self.stdout.write(f"{client_id}: suspended, its tokens deleted")
        elif action == "resume":
            services.party_resume(actor=ACTOR, party_id=party.pk)
            self.stdout.write(f"{client_id}: active")
        else:
            result = services.party_rotate_secret(actor=ACTOR, party_id=party.pk)
            self.stdout.write(f"client_secret: {result.client_secret}")
