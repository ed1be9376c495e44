"""Activate accounts for the rehearsal's citizens, through the real activation services.

Run with the cluster's environment (and HAWIYA_SMS_CLIENT=demo, so each activation code can be
read back from the outbox): picks `count` persons of the seeded register who hold a valid national
ID card and a mobile number, activates each with `password`, and writes one JSON line per citizen
(ID number, mobile, the card's serial, version and row) to `out`; no two share a mobile. The last
`bookers` of them have lost their card and paid for its replacement (collected at an office), so
the load can book their visit: their line carries the request's reference.
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

from hawiya.audit.actors import Actor  # noqa: E402
from hawiya.core import clock  # noqa: E402
from hawiya.core.references import insert_with_reference  # noqa: E402
from hawiya.identity import services as identity  # noqa: E402
from hawiya.notifications.models import SmsMessage  # noqa: E402
from hawiya.notifications.templates import origin_bound_code  # noqa: E402
from hawiya.registry.models import Document, DocumentKind, DocumentStatus  # noqa: E402
from hawiya.registry.services import document_mark_reported_lost  # noqa: E402
from hawiya.replacements.models import Replacement, ReplacementState  # noqa: E402
from hawiya.replacements.services import replacement_move  # noqa: E402


def latest_code(mobile: str) -> str:
    body = SmsMessage.objects.filter(to=mobile).order_by("-id").values_list("body", flat=True).first() or ""
    code = origin_bound_code(body)
    if code is None:
        raise SystemExit(f"no activation code in the outbox for citizen {mobile[-4:]}")
    return code


def paid_replacement(card: Document) -> str:
    """The card reported lost and its replacement paid, to be collected: the request's reference."""
    system = Actor.system("rehearsal")
    document_mark_reported_lost(document_id=card.pk, at=clock.now(), actor=system)
    replacement = insert_with_reference(
        Replacement(
            applicant=card.holder,
            document=card,
            method="collection",
            idempotency_key=uuid.uuid4().hex,
            request_fingerprint="0" * 64,
        ),
        prefix="RP",
    )
    replacement_move(replacement_id=replacement.pk, to=ReplacementState.PAID, action="paid", actor=system)
    return replacement.reference


def main() -> None:
    count, password, out, bookers = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    cards = (
        Document.objects.filter(
            kind=DocumentKind.NATIONAL_ID_CARD,
            status=DocumentStatus.VALID,
            holder__date_of_death__isnull=True,
            holder__account__isnull=True,
        )
        .exclude(holder__mobile="")
        .select_related("holder")
        .order_by("holder__id_number")
    )
    lines: list[str] = []
    phones: set[str] = set()
    for card in cards.iterator():
        if len(lines) == count:
            break
        person = card.holder
        # One phone, one citizen: a code sent to a shared family phone would be another's.
        if person.mobile in phones:
            continue
        phones.add(person.mobile)
        index = len(lines)
        ip = f"10.200.{index // 250}.{index % 250 + 1}"
        started = identity.activation_start(
            id_number=person.id_number, date_of_birth=person.date_of_birth, mobile=person.mobile, ip=ip
        )
        identity.activation_verify(challenge=started.challenge, code=latest_code(person.mobile), ip=ip)
        identity.activation_complete(
            challenge=started.challenge,
            username=f"rehearsal{index}",
            password=password,
            accepted_terms=True,
            ip=ip,
        )
        citizen: dict[str, object] = {
            "id_number": person.id_number,
            "mobile": person.mobile,
            "card_serial": card.serial_number,
            "card_version": card.version,
            "card_id": card.pk,
        }
        if index >= count - bookers:
            citizen["replacement"] = paid_replacement(card)
        lines.append(json.dumps(citizen))
    out.write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} citizens activated")


if __name__ == "__main__":
    main()
