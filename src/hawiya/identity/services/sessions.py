"""The holder's signed-in sessions: recorded at sign-in, touched while used, ended one by one or all."""

from __future__ import annotations

import datetime as dt
from importlib import import_module

from django.conf import settings
from django.db import transaction

from hawiya.core import clock

from .. import errors
from ..models import User, UserSession
from ._common import USER_AGENT_MAX, _clean_ip

# A session's "last seen" is written at most this often.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)


def _revoke_sessions(user: User, *, except_session_key: str | None) -> int:
    """End the account's recorded sessions, in Django's session store too."""
    sessions = UserSession.objects.select_for_update().filter(user=user)
    if except_session_key:
        sessions = sessions.exclude(session_key=except_session_key)
    keys = list(sessions.values_list("session_key", flat=True))
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(user=user, session_key__in=keys).delete()
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


def user_session_end(*, session_key: str) -> None:
    """Forget a session the holder signed out of (call from the sign-out page, before or after
    django.contrib.auth.logout)."""
    UserSession.objects.filter(session_key=session_key).delete()


def user_session_touch(*, session_key: str) -> bool:
    """Note that the session was used now (at most once a minute; one UPDATE). Returns True when
    the session is recorded: a middleware may sign out a session that is not."""
    now = clock.now()
    UserSession.objects.filter(session_key=session_key, last_seen_at__lt=now - LAST_SEEN_RESOLUTION).update(
        last_seen_at=now
    )
    return UserSession.objects.filter(session_key=session_key).exists()


def session_revoke(*, user: User, session_id: int) -> None:
    """End one of the holder's sessions. Another account's session (or none) answers NotFound
    `session_not_found`, alike."""
    with transaction.atomic():
        session = UserSession.objects.select_for_update().filter(pk=session_id, user=user).first()
        if session is None:
            raise errors.error(errors.SESSION_NOT_FOUND)
        import_module(settings.SESSION_ENGINE).SessionStore(session_key=session.session_key).delete()
        session.delete()


def sessions_revoke_all(*, user: User, except_session_key: str | None) -> int:
    """End every session of the holder but `except_session_key` (the current one); returns how
    many ended."""
    with transaction.atomic():
        return _revoke_sessions(user, except_session_key=except_session_key)
