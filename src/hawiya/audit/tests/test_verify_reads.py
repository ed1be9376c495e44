"""`audit_verify` reads the trail a batch at a time, by key, so that behind PgBouncer in transaction
mode (no server-side cursor) the driver never holds the whole trail, or every seal, at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hawiya.audit.selectors import audit_log_verify
from hawiya.audit.services import audit_seal

from .test_chain import _drop_triggers
from .test_proof_doc import _events

pytestmark = pytest.mark.django_db


def test_verify_reads_the_events_and_the_seals_a_batch_at_a_time() -> None:
    for count in (3, 2, 2):
        _events(count)
        assert audit_seal() is not None
    with CaptureQueriesContext(connection) as queries:
        result = audit_log_verify(batch_size=2)
    assert result.ok, result.message
    assert (result.count, result.sealed, result.seals) == (7, 7, 3)

    event_reads = [query["sql"] for query in queries if 'FROM "audit_auditevent"' in query["sql"]]
    seal_reads = [query["sql"] for query in queries if 'FROM "audit_auditseal"' in query["sql"]]
    # 7 events: 2 + 2 + 2 + 1; 3 seals: 2 + 1. Each a bounded statement after the last key read.
    assert len(event_reads) == 4
    assert len(seal_reads) == 2
    assert all("LIMIT 2" in sql for sql in event_reads + seal_reads)
    assert all('"audit_auditevent"."id" >' in sql for sql in event_reads[1:])
    assert '"audit_auditseal"."tree_size" >' in seal_reads[1]


def test_a_break_in_a_later_batch_is_still_named() -> None:
    # The walk goes on across batches: a seal altered in the second batch of seals is found.
    for count in (1, 1, 1):
        _events(count)
        assert audit_seal() is not None

    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditseal SET root_hash = %s WHERE tree_size = 3", ["0" * 64])
    result = audit_log_verify(batch_size=2)
    assert not result.ok
    assert "does not hash to its signed root" in result.reason
    assert result.seals == 2
