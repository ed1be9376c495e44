"""Factories for loss-report tests: data goes in through the register's and this app's services."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.losses.models import LossPlace, LossReport
from hawiya.losses.services import loss_report_submit
from hawiya.registry.models import Document, DocumentKind, Person
from hawiya.registry.tests.factories import make_document, make_person, next_id_number

__all__ = ["answers", "make_id_card", "make_report", "make_reporter"]

_mobile = iter(range(1, 10**7))


def make_reporter(**overrides: Any) -> Person:
    """A living citizen with a mobile number of their own."""
    overrides.setdefault("mobile", f"+96656{next(_mobile):07d}")
    overrides.setdefault("id_number", next_id_number())
    return make_person(**overrides)


def make_id_card(holder: Person, **overrides: Any) -> Document:
    return make_document(holder=holder, kind=DocumentKind.NATIONAL_ID_CARD, **overrides)


def answers(**overrides: Any) -> dict[str, Any]:
    """A complete, valid set of answers (lost two days ago, in Riyadh)."""
    values: dict[str, Any] = {
        "lost_on": clock.today() - dt.timedelta(days=2),
        "lost_on_approximate": False,
        "place": LossPlace.IN_KINGDOM,
        "city": "الرياض",
        "country": "",
        "circumstances": "Lost my wallet at the mall.",
        "declaration_accepted": True,
        "idempotency_key": uuid.uuid4().hex,
        "actor": Actor.citizen(1, ip="192.0.2.30"),
    }
    values.update(overrides)
    return values


def make_report(reporter: Person, documents: list[Document], **overrides: Any) -> LossReport:
    return loss_report_submit(
        reporter=reporter, document_ids=[d.pk for d in documents], **answers(**overrides)
    )
