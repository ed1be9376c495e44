"""Races on the register that only a real database with row locks can show."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from hawiya.audit.actors import Actor
from hawiya.core.errors import ApplicationError
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
    start = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def reissue() -> None:
        try:
            start.wait(timeout=10)
            document_reissue(
                actor=Actor.system("tests"),
                document_id=lost.pk,
                issuing_office=lost.issuing_office,
                issue_date=dt.date(2025, 2, 1),
                expiry_date=dt.date(2035, 2, 1),
            )
            outcome = "reissued"
        except ApplicationError as exc:
            outcome = exc.code
        finally:
            connection.close()  # each thread has its own connection; leave none open
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=reissue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == sorted(["reissued", errors.DOCUMENT_ALREADY_REPLACED])
    versions = list(Document.objects.filter(holder_id=lost.holder_id).order_by("version"))
    assert [(d.version, d.status) for d in versions] == [
        (1, DocumentStatus.REPLACED),
        (2, DocumentStatus.VALID),
    ]
