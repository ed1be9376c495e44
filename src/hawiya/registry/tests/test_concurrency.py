"""Races on the register that only a real database with row locks can show."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from hawiya.audit.actors import Actor
from hawiya.core.testing import outcome, race
from hawiya.registry import errors
from hawiya.registry.models import Document, DocumentStatus
from hawiya.registry.services import document_reissue

from .factories import make_lost_document


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks (SELECT ... FOR UPDATE) across connections; SQLite serialises all writers",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_reissues_of_one_document_give_exactly_one_new_version() -> None:
    lost = make_lost_document()

    def reissue() -> object:
        return document_reissue(
            document_id=lost.pk,
            issuing_office=lost.issuing_office,
            issue_date=dt.date(2025, 2, 1),
            expiry_date=dt.date(2035, 2, 1),
            actor=Actor.system("tests"),
        )

    outcomes = [outcome(result, ok="reissued") for result in race([reissue] * 2)]
    assert sorted(outcomes) == sorted(["reissued", errors.DOCUMENT_ALREADY_REPLACED])
    versions = list(Document.objects.filter(holder_id=lost.holder_id).order_by("version"))
    assert [(d.version, d.status) for d in versions] == [
        (1, DocumentStatus.REPLACED),
        (2, DocumentStatus.VALID),
    ]
