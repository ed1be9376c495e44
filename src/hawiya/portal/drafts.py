"""The journeys' answers beside the session (identity.drafts): kept on every answer, taken back
when the session has lost them (an idle sign-out flushes it), forgotten once submitted."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from hawiya.identity.drafts import Journey, journey_draft_delete, journey_draft_get, journey_draft_save

__all__ = ["Journey", "draft_keep", "draft_restore"]


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not isinstance(user.pk, int):
        return None
    return user.pk


def draft_restore(request: HttpRequest, journey: str) -> dict[str, Any] | None:
    """The signed-in account's answers of `journey`, when it has a draft of them."""
    user_id = _user_id(request)
    return None if user_id is None else journey_draft_get(user_id=user_id, journey=journey)


def draft_keep(request: HttpRequest, journey: str, answers: dict[str, Any]) -> None:
    """Keep the answers of a journey under way; a submitted journey (it has a reference) keeps none."""
    user_id = _user_id(request)
    if user_id is None:
        return
    if answers.get("reference"):
        journey_draft_delete(user_id=user_id, journey=journey)
    else:
        journey_draft_save(user_id=user_id, journey=journey, answers=answers)
