"""`manage.py audit_verify`: recompute the audit log and say whether it is intact (exit 0) or not (1).

Every event's leaf hash, every sealed batch's Merkle root, every tree head's signature and the
consistency proof between consecutive tree heads; the first broken event is named by id. Events
not yet sealed are counted as pending. Each run keeps its outcome (audit.AuditVerification) for
/metrics: hawiya_audit_verify_ok and hawiya_audit_verify_last_run_timestamp_seconds."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hawiya.audit.selectors import VERIFY_BATCH_SIZE, audit_log_verify
from hawiya.audit.services import audit_verification_record


class Command(BaseCommand):
    help = (
        "Verify the audit log: every event's hash, every sealed batch's Merkle root, signature and "
        "consistency with the previous tree head."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=VERIFY_BATCH_SIZE, help="Events read per batch."
        )
        parser.add_argument("--database", default="default", help="The database alias to verify.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_log_verify(batch_size=options["batch_size"], using=options["database"])
        audit_verification_record(ok=result.ok, events_checked=result.count, using=options["database"])
        if not result.ok:
            raise CommandError(result.message)
        self.stdout.write(result.message)
