"""The replica scenario: a card reported lost on the primary must never read "valid" a moment later.

Run on a rehearsal host with the cluster's environment (DATABASE_URL through PgBouncer to the
primary, DATABASE_REPLICA_URLS to the streaming replica). For each citizen of `citizens` (one
JSON line each, from seed_accounts.py): pause the replica's replay, so it lags for sure; report
the card lost through the losses service, as the citizen's page does; then ask the document's
status through the service a bank's API call runs, and read the card's row on the replica
directly (what a careless read would have answered). Resume the replay. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hawiya.config.settings")
django.setup()

from django.db import connections  # noqa: E402

from hawiya.audit.actors import Actor  # noqa: E402
from hawiya.core import clock  # noqa: E402
from hawiya.document_checks.services import StatusQuery, document_status_check  # noqa: E402
from hawiya.identity.models import RelyingParty  # noqa: E402
from hawiya.losses.services import loss_report_submit  # noqa: E402
from hawiya.registry.models import Document, DocumentKind  # noqa: E402


def on_replica(sql: str, params: tuple[int, ...] = ()) -> object:
    replica = next(alias for alias in connections if alias != "default")
    with connections[replica].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0] if cursor.description else None


def main() -> None:
    citizens = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line]
    party = RelyingParty.objects.get(application__client_id="example-bank")
    bank = Actor.relying_party("example-bank")
    answers: dict[str, int] = {}
    replica_said_valid = 0
    for citizen in citizens:
        on_replica("SELECT pg_wal_replay_pause()")
        try:
            card = Document.objects.select_related("holder").get(pk=citizen["card_id"])
            loss_report_submit(
                reporter=card.holder,
                document_ids=[card.pk],
                lost_on=clock.today(),
                lost_on_approximate=False,
                place="in_kingdom",
                city="Riyadh",
                country="",
                circumstances="Lost during the cluster rehearsal.",
                declaration_accepted=True,
                idempotency_key=uuid.uuid4().hex,
                actor=Actor.citizen(card.holder.account.pk),
            )
            query = StatusQuery(
                id_number=citizen["id_number"], kind=DocumentKind.NATIONAL_ID_CARD, version=card.version
            )
            answer = document_status_check(actor=bank, party=party, queries=[query])[0].status
            answers[answer] = answers.get(answer, 0) + 1
            stale = on_replica("SELECT status FROM registry_document WHERE id = %s", (card.pk,))
            replica_said_valid += stale == "valid"
        finally:
            on_replica("SELECT pg_wal_replay_resume()")
    print(
        json.dumps({"checked": len(citizens), "answers": answers, "replica_said_valid": replica_said_valid})
    )


if __name__ == "__main__":
    main()
