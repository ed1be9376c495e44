"""Factories for the delivery tests: a delivery request moved through the services to `printed`,
its shipment made by `shipment_create`, and the handover code read back from the SMS outbox."""

from __future__ import annotations

import itertools

from django.db import transaction

from hawiya.audit.actors import Actor
from hawiya.delivery.models import Shipment
from hawiya.delivery.services import shipment_create
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.services import replacement_move
from hawiya.replacements.tests.factories import (
    applicant_with_address,
    handover_code_sent,
    lost_id_card,
    photo_upload,
    submit,
)

_mobiles = itertools.count(1)


def printed_delivery_request() -> Replacement:
    """A delivery request whose new document is printed (moved through replacement_move)."""
    person = applicant_with_address(mobile=f"+96657{next(_mobiles):07d}")
    document = lost_id_card(holder=person)
    replacement = submit(applicant=person, document=document, method="delivery", photo=photo_upload())
    for step in (ReplacementState.PAID, ReplacementState.APPROVED, ReplacementState.PRINTED):
        replacement_move(
            replacement_id=replacement.pk, to=step, action=step.value, actor=Actor.system("tests")
        )
    replacement.refresh_from_db()
    return replacement


def make_shipment(replacement: Replacement | None = None) -> Shipment:
    """The shipment of a printed delivery request, made as the office's "printed" step makes it."""
    replacement = replacement or printed_delivery_request()
    with transaction.atomic():
        return shipment_create(
            replacement_id=replacement.pk, actor=Actor.staff(1, role="officer", office_code="")
        )


def delivery_code(replacement_id: int) -> str:
    """The code in the latest delivery handover SMS about the request."""
    return handover_code_sent(replacement_id, "handover_code_delivery")
