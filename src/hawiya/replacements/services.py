"""Writes of replacement requests: submit (see below) and every move between states.

Each move locks the request's row, checks the move is allowed from the state it finds (so two
concurrent moves cannot both succeed), writes a timeline entry and an audit event, and tells the
applicant (notification centre + SMS) in the same transaction; the SMS leaves after commit.
Payments, appointments and the back-office call these; they never set `state` themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity.selectors import person_language
from hawiya.notifications.services import notify
from hawiya.registry.models import Office

from . import errors
from .models import TRANSITIONS, Replacement, ReplacementEvent, ReplacementState

AUDIT_REPLACEMENT_MOVED = "replacement.moved"


def replacement_link(replacement: Replacement) -> str:
    """The request's page in the portal, without the language prefix (for notifications)."""
    return f"/requests/{replacement.reference}/"


def _locked(replacement_id: int) -> Replacement:
    try:
        return (
            Replacement.objects.select_for_update(of=("self",))
            .select_related("applicant", "document")
            .get(pk=replacement_id)
        )
    except Replacement.DoesNotExist:
        raise NotFound(errors.REPLACEMENT_NOT_FOUND, _("This request was not found.")) from None


def replacement_event_add(
    *,
    replacement: Replacement,
    action: str,
    at: dt.datetime,
    office: Office | None = None,
    detail: Mapping[str, object] | None = None,
) -> ReplacementEvent:
    """Add a timeline entry without changing the state (e.g. an appointment moved)."""
    return ReplacementEvent.objects.create(
        replacement=replacement,
        action=action,
        state=replacement.state,
        at=at,
        office=office,
        detail=dict(detail or {}),
    )


def replacement_notify(replacement: Replacement, *, template: str, context: Mapping[str, object]) -> None:
    """Tell the applicant about their request (centre + SMS), in the caller's transaction."""
    applicant = replacement.applicant
    notify(
        person_id=applicant.pk,
        mobile=applicant.mobile,
        language=person_language(person=applicant),
        template=template,
        context={"reference": replacement.reference, **context},
        link=replacement_link(replacement),
        subject_ref=f"replacement:{replacement.pk}",
    )


def replacement_move(
    *,
    replacement_id: int,
    to: ReplacementState,
    action: str,
    at: dt.datetime | None = None,
    actor: str,
    actor_role: str = "",
    ip: str | None = None,
    office: Office | None = None,
    detail: Mapping[str, object] | None = None,
    reason: str = "",
    notify_template: str | None = None,
    notify_context: Mapping[str, object] | None = None,
    expected_from: frozenset[str] | None = None,
) -> Replacement:
    """Move a request to state `to`, if the vocabulary allows it from where it is.

    `expected_from` narrows the allowed starting states further (e.g. cancel only before
    processing). Raises ApplicationError `replacement_state_conflict` when the request is
    elsewhere (someone moved it first), NotFound for an unknown id. Must run inside the caller's
    transaction or opens its own.
    """
    with transaction.atomic():
        replacement = _locked(replacement_id)
        allowed = TRANSITIONS[replacement.state]
        if to not in allowed or (expected_from is not None and replacement.state not in expected_from):
            raise ApplicationError(
                errors.REPLACEMENT_STATE_CONFLICT,
                _("This request is now “%(state)s”, so this step is no longer possible.")
                % {"state": replacement.get_state_display()},
            )
        now = at or clock.now()
        previous = replacement.state
        replacement.state = to
        fields = ["state", "updated_at"]
        if not replacement.is_open:
            replacement.ended_at = now
            replacement.end_reason = reason[:500]
            fields += ["ended_at", "end_reason"]
        replacement.save(update_fields=fields)
        event_detail = dict(detail or {})
        if reason:
            event_detail["reason"] = reason[:500]
        replacement_event_add(
            replacement=replacement, action=action, at=now, office=office, detail=event_detail
        )
        audit_record(
            actor=actor,
            actor_role=actor_role,
            ip=ip,
            action=AUDIT_REPLACEMENT_MOVED,
            object_type="replacements.replacement",
            object_id=replacement.pk,
            detail={
                "from": previous,
                "to": to.value,
                "step": action,
                **({"reason": reason[:500]} if reason else {}),
            },
        )
        if notify_template:
            replacement_notify(replacement, template=notify_template, context=notify_context or {})
    return replacement
