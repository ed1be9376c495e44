"""Retention: the minute job `retention_prune` deletes what only grows (docs/design.md §9).

Each app prunes its own rows, in bounded batches (core/retention.py), after the period set in
settings (HAWIYA_RETENTION_*): finished text messages, finished task rows, expired challenges
(one-time codes and passkey challenges) and expired sessions. Abandoned journey uploads and drafts
have their own minute jobs (photo_uploads_sweep, journey_drafts_sweep).

Never pruned, whatever their age: the register (persons, documents, biometrics), the audit trail
(append-only), loss reports, replacement requests and their timelines, bills and payments,
appointments, shipments, document checks and alarms, relying parties and accounts. Nothing here
names those models; the retention tests count their rows around a prune.
"""

from __future__ import annotations

import datetime as dt
import logging

from hawiya.core.retention import Batches, task_results_prune
from hawiya.identity.services import one_time_codes_prune, sessions_prune_expired
from hawiya.identity.services.passkeys import passkey_challenges_prune
from hawiya.notifications.services import sms_prune_finished

logger = logging.getLogger(__name__)


def retention_prune(*, now: dt.datetime, batches: Batches | None = None) -> dict[str, int]:
    """One run of every prune; returns how many rows each deleted (each at most `batches`' worth)."""
    counts = {
        "sms": sms_prune_finished(now=now, batches=batches),
        "tasks": task_results_prune(now=now, batches=batches),
        "one_time_codes": one_time_codes_prune(now=now, batches=batches),
        "passkey_challenges": passkey_challenges_prune(now=now, batches=batches),
        "sessions": sessions_prune_expired(now=now, batches=batches),
    }
    if any(counts.values()):
        logger.info("retention: %s", ", ".join(f"{kind} {count}" for kind, count in counts.items() if count))
    return counts
