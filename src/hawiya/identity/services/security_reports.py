""" "This wasn't me": the holder reports an event of their history; sign-in is blocked until a reset."""

from __future__ import annotations

from django.db import transaction

from hawiya.core import clock

from .. import errors, throttles
from ..models import SecurityEvent, User
from ..security_signals import ACCOUNT_DISABLED, security_event_emit
from ._common import Event, _event
from .sessions import SessionEnd, _revoke_sessions


def security_event_report(*, user: User, event_id: int, ip: str = "", user_agent: str = "") -> SecurityEvent:
    """The holder says an event of their history was not them.

    Sign-in to the account is blocked until the password is reset (`account_blocked`), every
    session ends (the current one too: the page signs out), and the report is recorded and
    returned. Reporting the same event again returns the first report. Another account's event
    answers NotFound `security_event_not_found`.
    """
    now = clock.now()
    with transaction.atomic():
        event = SecurityEvent.objects.select_for_update().filter(pk=event_id, user=user).first()
        if event is None or event.kind == Event.REPORT_NOT_ME:
            raise errors.error(errors.SECURITY_EVENT_NOT_FOUND)
        guard = throttles.guard_for_update(user_id=user.pk)
        if guard.blocked_at is None:
            # Blocked until a reset because the holder says someone else got in: RISC's hijacking.
            security_event_emit(user, ACCOUNT_DISABLED, {"reason": "hijacking"})
        guard.blocked_at = guard.blocked_at or now
        guard.save(update_fields=["blocked_at"])
        _revoke_sessions(user, except_session_key=None, reason=SessionEnd.REPORTED_NOT_ME)
        existing = SecurityEvent.objects.filter(
            user=user, kind=Event.REPORT_NOT_ME, related_event=event
        ).first()
        if existing is not None:
            return existing
        event.reported_at = now
        event.save(update_fields=["reported_at"])
        return _event(user, Event.REPORT_NOT_ME, ip=ip, user_agent=user_agent, now=now, related=event)
