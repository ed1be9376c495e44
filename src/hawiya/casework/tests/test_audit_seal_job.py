"""The audit log's sealer, and on PostgreSQL the keeper of its monthly partitions, are minute jobs."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditSeal
from hawiya.audit.services import audit_record
from hawiya.casework.management.commands.run_periodic import periodic_jobs
from hawiya.core import clock

pytestmark = pytest.mark.django_db


def test_the_minute_job_seals_new_events(settings: Any) -> None:
    settings.HAWIYA_AUDIT_SIGNING_KEY = base64.b64encode(bytes(32)).decode()
    settings.HAWIYA_AUDIT_SEAL_SETTLE_SECONDS = 0
    with transaction.atomic():
        audit_record(
            actor=Actor.system("tests"), action="person.created", object_type="registry.person", object_id=1
        )
    assert periodic_jobs()["audit_seal_due"]() == 1
    assert periodic_jobs()["audit_seal_due"]() == 0
    assert AuditSeal.objects.get().tree_size == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the audit trail is partitioned on PostgreSQL only"
)
def test_the_minute_job_keeps_the_coming_months_partitions() -> None:
    month = clock.now().astimezone(dt.UTC)
    wanted = set()
    for _ in range(4):
        wanted.add(f"audit_auditevent_{month.year:04d}_{month.month:02d}")
        month = (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    periodic_jobs()["audit_ensure_partitions"]()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = inhrelid"
            " WHERE inhparent = 'audit_auditevent'::regclass"
        )
        partitions = {row[0] for row in cursor.fetchall()}
    assert wanted <= partitions
    assert periodic_jobs()["audit_ensure_partitions"]() == 0
