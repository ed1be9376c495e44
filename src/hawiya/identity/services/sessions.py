"""The holder's signed-in sessions: recorded at sign-in, touched while used, ended one by one or all.

Whatever ends a citizen's session at Hawiya ends up in `citizen_session_ended`, the one place that
decides who else is told: signing out (`user_session_end`, from the portal's sign-out, the idle or
12-hour timeout, and a party's RP-initiated logout), ending one session from another device
(`session_revoke`), and ending several at once (`_revoke_sessions`: "sign out everywhere else", a
password change or reset, "this wasn't me", a new mobile number at the counter).

The rule (OpenID Connect Back-Channel Logout 1.0): Hawiya's Logout Token names the citizen by the
party's pairwise `sub` and carries no `sid`, so a party ends every session it holds for them. A
party sees one session per citizen, so ending any of the citizen's Hawiya sessions tells every
connected party that registered a back-channel logout URI (identity/backchannel_logout.py; sent
by a worker after commit). Staff accounts have no person and sign in to no party: nothing is sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum
from importlib import import_module

from django.conf import settings
from django.db import transaction

from hawiya.core import clock
from hawiya.core.retention import Batches, delete_in_batches

from .. import errors
from ..backchannel_logout import backchannel_logout_schedule
from ..models import User, UserSession
from ..security_signals import SESSION_REVOKED, security_event_emit
from ._common import USER_AGENT_MAX, _clean_ip

logger = logging.getLogger(__name__)

# A session's "last seen" is written at most this often.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)


class SessionEnd(StrEnum):
    """Why a session ended (written to the log beside the parties told)."""

    SIGNED_OUT = "signed_out"
    TIMED_OUT = "timed_out"
    PARTY_LOGOUT = "party_logout"  # a party's RP-initiated logout (/oidc/logout/)
    REVOKED = "revoked"  # ended from another device (the security page)
    OTHERS_REVOKED = "others_revoked"  # "sign out everywhere else"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a reason, not a password)
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a reason, not a password)
    REPORTED_NOT_ME = "reported_not_me"
    MOBILE_REBOUND = "mobile_rebound"  # a new mobile number put on record at the counter


# Who ended the sessions, in CAEP's words (`initiating_entity`): the holder unless said here.
SESSION_END_INITIATOR: dict[str, str] = {
    SessionEnd.TIMED_OUT: "policy",
    SessionEnd.MOBILE_REBOUND: "admin",
}


def citizen_session_ended(*, user: User, reason: SessionEnd) -> list[int]:
    """One or more of `user`'s sessions at Hawiya ended: owe every party they are connected to
    (with a back-channel logout URI) a Logout Token, delivered by a worker after the caller's
    transaction commits. A staff account (no person) tells no one. Returns the outbox rows' ids.

    Every way a session ends calls this, and only this, so the rule is the same everywhere."""
    if user.person_id is None:
        return []
    ids = backchannel_logout_schedule(user)
    # And the parties with a signals stream asking for it: a CAEP session-revoked event.
    security_event_emit(
        user, SESSION_REVOKED, {"initiating_entity": SESSION_END_INITIATOR.get(reason, "user")}
    )
    if ids:
        logger.info("session ended (%s): back-channel logout owed to %d party(ies)", reason, len(ids))
    return ids


def _revoke_sessions(user: User, *, except_session_key: str | None, reason: SessionEnd) -> int:
    """End the account's recorded sessions, in Django's session store too; when any ended, tell
    the parties (citizen_session_ended). Call inside a transaction."""
    sessions = UserSession.objects.select_for_update().filter(user=user)
    if except_session_key:
        sessions = sessions.exclude(session_key=except_session_key)
    keys = list(sessions.values_list("session_key", flat=True))
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(user=user, session_key__in=keys).delete()
    if keys:
        citizen_session_ended(user=user, reason=reason)
    return len(keys)


def user_session_record(*, user: User, session_key: str, ip: str, user_agent: str) -> UserSession:
    """Record the session the page has just signed in (call after django.contrib.auth.login,
    which gives the session its new key)."""
    now = clock.now()
    with transaction.atomic():
        session, _created = UserSession.objects.update_or_create(
            session_key=session_key,
            defaults={
                "user": user,
                "ip": _clean_ip(ip),
                "user_agent": (user_agent or "")[:USER_AGENT_MAX],
                "created_at": now,
                "last_seen_at": now,
            },
        )
    return session


def user_session_rekey(*, user: User, old_session_key: str, new_session_key: str) -> None:
    """Follow a session whose key Django changed (update_session_auth_hash after a password
    change cycles the key): the recorded session keeps its history under the new key."""
    with transaction.atomic():
        UserSession.objects.filter(user=user, session_key=old_session_key).update(session_key=new_session_key)


def user_session_end(
    *, session_key: str | None, user: User | None = None, reason: SessionEnd = SessionEnd.SIGNED_OUT
) -> list[int]:
    """This browser's session ends (a sign-out, a timeout, a party's logout): forget the recorded
    session and, for the account `user` signed in on it, tell the parties (citizen_session_ended).
    Call before django.contrib.auth.logout, which forgets the key and the user. Staff pages may
    leave `user` out: a staff account tells no one anyway. Returns the outbox rows' ids."""
    with transaction.atomic():
        if session_key:
            UserSession.objects.filter(session_key=session_key).delete()
        return [] if user is None else citizen_session_ended(user=user, reason=reason)


def user_session_touch(*, session_key: str) -> bool:
    """Note that the session was used now (at most once a minute; one UPDATE). Returns True when
    the session is recorded: a middleware may sign out a session that is not."""
    now = clock.now()
    UserSession.objects.filter(session_key=session_key, last_seen_at__lt=now - LAST_SEEN_RESOLUTION).update(
        last_seen_at=now
    )
    return UserSession.objects.filter(session_key=session_key).exists()


def session_revoke(*, user: User, session_id: int) -> None:
    """End one of the holder's sessions (the parties are told: citizen_session_ended). Another
    account's session (or none) answers NotFound `session_not_found`, alike."""
    with transaction.atomic():
        session = UserSession.objects.select_for_update().filter(pk=session_id, user=user).first()
        if session is None:
            raise errors.error(errors.SESSION_NOT_FOUND)
        import_module(settings.SESSION_ENGINE).SessionStore(session_key=session.session_key).delete()
        session.delete()
        citizen_session_ended(user=user, reason=SessionEnd.REVOKED)


def sessions_revoke_all(
    *, user: User, except_session_key: str | None, reason: SessionEnd = SessionEnd.OTHERS_REVOKED
) -> int:
    """End every session of the holder but `except_session_key` (the current one); returns how
    many ended. When any did, the parties are told (citizen_session_ended)."""
    with transaction.atomic():
        return _revoke_sessions(user, except_session_key=except_session_key, reason=reason)


def sessions_prune_expired(
    *, now: dt.datetime, kept_for: dt.timedelta | None = None, batches: Batches | None = None
) -> int:
    """Delete sessions that ended long ago; returns how many rows went.

    Django's session store: with the database engines (db, cached_db) the rows that expired more
    than `kept_for` ago (HAWIYA_RETENTION_EXPIRED_HOURS), in batches; another engine clears its
    own (`clear_expired`, not counted). The signed-in sessions list (UserSession): rows signed in
    longer ago than the absolute session lifetime (SESSION_COOKIE_AGE, 12 hours: the portal signs
    such a session out at its next request) plus `kept_for` — a browser closed without signing out
    leaves its row behind, and the security page would list it for ever."""
    kept = (
        kept_for if kept_for is not None else dt.timedelta(hours=int(settings.HAWIYA_RETENTION_EXPIRED_HOURS))
    )
    store = import_module(settings.SESSION_ENGINE).SessionStore
    deleted = 0
    get_model_class = getattr(store, "get_model_class", None)
    if get_model_class is not None:
        session_model = get_model_class()
        deleted += delete_in_batches(
            session_model.objects.filter(expire_date__lt=now - kept), batches=batches
        )
    else:
        store.clear_expired()
    lifetime = dt.timedelta(seconds=int(settings.SESSION_COOKIE_AGE))
    deleted += delete_in_batches(
        UserSession.objects.filter(created_at__lt=now - lifetime - kept), batches=batches
    )
    return deleted
