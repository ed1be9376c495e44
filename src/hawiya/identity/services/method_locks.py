"""Sign-in method locks: the holder locks (or unlocks) text messages or the authenticator app."""

from __future__ import annotations

from django.db import transaction

from hawiya.core import clock

from .. import errors
from ..models import Method, MethodLock, User
from ._common import Event, _event


def sign_in_method_lock(*, user: User, method: str, ip: str, user_agent: str) -> None:
    """Lock a sign-in method (sms or totp): it can neither send nor verify until unlocked.
    Locking a locked method changes nothing. Raises `method_not_available` for another method."""
    if method not in (Method.SMS, Method.TOTP):
        raise errors.error(errors.METHOD_NOT_AVAILABLE, field="method")
    now = clock.now()
    with transaction.atomic():
        _lock, created = MethodLock.objects.get_or_create(
            user=user, method=method, defaults={"locked_at": now}
        )
        if created:
            _event(user, Event.METHOD_LOCKED, ip=ip, user_agent=user_agent, now=now, detail=method)


def sign_in_method_unlock(*, user: User, method: str, ip: str, user_agent: str) -> None:
    """Unlock a sign-in method; unlocking an unlocked one changes nothing. The page must require
    a recent authentication."""
    if method not in (Method.SMS, Method.TOTP):
        raise errors.error(errors.METHOD_NOT_AVAILABLE, field="method")
    now = clock.now()
    with transaction.atomic():
        deleted, _by_model = MethodLock.objects.filter(user=user, method=method).delete()
        if deleted:
            _event(user, Event.METHOD_UNLOCKED, ip=ip, user_agent=user_agent, now=now, detail=method)
