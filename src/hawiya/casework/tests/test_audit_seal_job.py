"""The audit log's sealer is one of the minute jobs."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.db import transaction

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditSeal
from hawiya.audit.services import audit_record
from hawiya.casework.management.commands.run_periodic import periodic_jobs

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
