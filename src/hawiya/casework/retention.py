"""Retention: the minute job `retention_prune` deletes what only grows (docs/design.md §9).

Each app prunes its own rows, in bounded batches (core/retention.py), after the period set in
settings (HAWIYA_RETENTION_*): finished text messages, finished task rows, expired challenges
(one-time codes and passkey challenges), idle code send quotas, expired sessions, exchanged
authorization codes a replay can no longer use, and django-oauth-toolkit's dead codes and tokens.
Abandoned journey uploads and drafts have their own minute jobs (photo_uploads_sweep,
journey_drafts_sweep).

Never pruned, whatever their age: the register (persons, documents, biometrics), the audit trail
(append-only), loss reports, replacement requests and their timelines, bills and payments,
appointments, shipments, document checks and alarms, relying parties and accounts, consents and
the security history. Nothing here names those models; the retention tests count their rows
around a prune.
"""

from __future__ import annotations

import datetime as dt
import logging

from hawiya.core.retention import Batches, task_results_prune
from hawiya.identity.services import code_send_quotas_prune, one_time_codes_prune, sessions_prune_expired
from hawiya.identity.services.authorization_codes import oauth_tokens_prune, redeemed_codes_prune
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
        "code_send_quotas": code_send_quotas_prune(now=now, batches=batches),
        "sessions": sessions_prune_expired(now=now, batches=batches),
        "redeemed_codes": redeemed_codes_prune(now=now, batches=batches),
        **oauth_tokens_prune(now=now, batches=batches),
    }
    if any(counts.values()):
        logger.info("retention: %s", ", ".join(f"{kind} {count}" for kind, count in counts.items() if count))
    return counts
