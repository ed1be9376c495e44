"""Drafts of a citizen's journeys: the answers survive the idle sign-out (models.JourneyDraft).

The portal keeps a journey's answers in the session and, on every answer, here too; when the
session has none (signed out for inactivity, then signed in again) it takes them back from here.
Only the account's own draft is ever read: every function is keyed by the account.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from hawiya.core import clock

from .models import JourneyDraft

# A draft is forgotten a day after its last answer (as the uploaded photo it may name).
DRAFT_KEPT_FOR = dt.timedelta(days=1)

Journey = JourneyDraft.Journey


def journey_draft_save(*, user_id: int, journey: str, answers: dict[str, Any]) -> None:
    """Keep (or replace) the account's answers of `journey`."""
    with transaction.atomic():
        JourneyDraft.objects.update_or_create(
            user_id=user_id,
            journey=Journey(journey),
            defaults={"answers": answers, "updated_at": clock.now()},
        )


def journey_draft_get(*, user_id: int, journey: str) -> dict[str, Any] | None:
    """The account's answers of `journey`, unless there are none or they are older than a day."""
    draft = (
        JourneyDraft.objects.filter(
            user_id=user_id, journey=Journey(journey), updated_at__gt=clock.now() - DRAFT_KEPT_FOR
        )
        .only("answers")
        .first()
    )
    if draft is None or not isinstance(draft.answers, dict):
        return None
    return dict(draft.answers)


def journey_draft_delete(*, user_id: int, journey: str) -> None:
    """Forget the account's draft of `journey` (the journey was submitted or started afresh)."""
    JourneyDraft.objects.filter(user_id=user_id, journey=Journey(journey)).delete()


def journey_drafts_sweep(*, now: dt.datetime, kept_for: dt.timedelta = DRAFT_KEPT_FOR) -> int:
    """Delete drafts whose last answer is older than `kept_for`; returns how many."""
    deleted, _per_model = JourneyDraft.objects.filter(updated_at__lte=now - kept_for).delete()
    return deleted
