"""`manage.py audit_verify`: recompute the audit chain and say whether it is intact (exit 0) or not (1).

Each run keeps its outcome (audit.AuditVerification) for /metrics: hawiya_audit_verify_ok and
hawiya_audit_verify_last_run_timestamp_seconds."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hawiya.audit.selectors import VERIFY_BATCH_SIZE, audit_chain_verify
from hawiya.audit.services import audit_verification_record


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain: sequence without gaps, every hash and link, and the head."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=VERIFY_BATCH_SIZE, help="Events read per batch."
        )
        parser.add_argument("--database", default="default", help="The database alias to verify.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_chain_verify(batch_size=options["batch_size"], using=options["database"])
        audit_verification_record(ok=result.ok, events_checked=result.count, using=options["database"])
        if not result.ok:
            raise CommandError(result.message)
        self.stdout.write(result.message)
