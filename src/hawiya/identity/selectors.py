"""Reads of the identity app for the account pages. Each takes the account that asks."""

from __future__ import annotations

from dataclasses import dataclass

from hawiya.core import clock
from hawiya.notifications.selectors import SmsStatus, sms_status_for_holder
from hawiya.registry.phones import mask_mobile

from .models import (
    AuthenticatorApp,
    Method,
    MethodLock,
    OneTimeCode,
    Purpose,
    RecoveryCode,
    SecurityEvent,
    User,
    UserSession,
)

MAX_EVENTS = 200


def security_events_for_user(*, user: User, limit: int = 50) -> list[SecurityEvent]:
    """The holder's security history, newest first (at most `limit`, capped at 200)."""
    limit = max(1, min(limit, MAX_EVENTS))
    return list(SecurityEvent.objects.filter(user=user).order_by("-occurred_at", "-id")[:limit])


def user_sessions_for_user(*, user: User) -> list[UserSession]:
    """The holder's signed-in sessions, most recently used first."""
    return list(UserSession.objects.filter(user=user).order_by("-last_seen_at", "-id"))


@dataclass(frozen=True)
class SignInMethods:
    """What the security page shows about the holder's second factors."""

    masked_mobile: str
    sms_locked: bool
    authenticator_active: bool
    authenticator_pending: bool
    totp_locked: bool
    recovery_codes_left: int


def sign_in_methods_for_user(*, user: User) -> SignInMethods:
    """The holder's sign-in methods and their state."""
    locked = set(MethodLock.objects.filter(user=user).values_list("method", flat=True))
    app = AuthenticatorApp.objects.filter(user=user).only("confirmed_at").first()
    mobile = user.person.mobile if user.person is not None else ""
    return SignInMethods(
        masked_mobile=mask_mobile(mobile) if mobile else "",
        sms_locked=Method.SMS in locked,
        authenticator_active=app is not None and app.confirmed_at is not None,
        authenticator_pending=app is not None and app.confirmed_at is None,
        totp_locked=Method.TOTP in locked,
        recovery_codes_left=RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
    )


def one_time_code_delivery_status(*, challenge: str) -> SmsStatus | None:
    """The delivery status of the latest code sent for a sign-in or reauthentication challenge
    ("Sent at 10:42"); None when nothing was sent, the challenge is over, or the journey is an
    activation or password reset (whose pages must not differ between matching and not)."""
    row = (
        OneTimeCode.objects.filter(
            challenge=challenge or "-",
            purpose__in=[Purpose.SIGN_IN, Purpose.REAUTHENTICATION],
            used_at__isnull=True,
            expires_at__gt=clock.now(),
        )
        .select_related("sms")
        .first()
    )
    if row is None or row.sms is None:
        return None
    return sms_status_for_holder(reference=row.sms.reference)
