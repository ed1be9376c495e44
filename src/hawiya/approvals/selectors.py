"""Reads of approval requests for the citizen's pages."""

from __future__ import annotations

from hawiya.core import clock
from hawiya.identity.models import User

from .models import ApprovalRequest, ApprovalStatus


def approvals_waiting_for(*, user: User) -> list[ApprovalRequest]:
    """The citizen's requests still waiting and not past their time, oldest first, with their
    parties (what the approvals page shows and its poll answers)."""
    return list(
        ApprovalRequest.objects.filter(user=user, status=ApprovalStatus.WAITING, expires_at__gt=clock.now())
        .select_related("party__application")
        .order_by("created_at", "pk")
    )


def approvals_waiting_count(*, user: User) -> int:
    return ApprovalRequest.objects.filter(
        user=user, status=ApprovalStatus.WAITING, expires_at__gt=clock.now()
    ).count()
