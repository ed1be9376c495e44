"""The authenticator app (TOTP): set it up, confirm it with a code, remove it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from hawiya.core import clock

from .. import codes, errors
from ..models import AuthenticatorApp, Method, MethodLock, User
from ._common import Event, _event, _normalised_code


@dataclass(frozen=True)
class AuthenticatorEnrolment:
    """What the set-up page shows: a QR code of `provisioning_uri` and, for typing, the secret."""

    secret: str
    provisioning_uri: str

    @property
    def secret_groups(self) -> str:
        """The secret in groups of four, as the page shows it for typing."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def authenticator_enrol(*, user: User) -> AuthenticatorEnrolment:
    """Start setting up an authenticator app: a new secret, not active until confirmed.

    Starting again replaces an unconfirmed secret. Raises `authenticator_already_active`.
    The page must require a recent authentication.
    """
    with transaction.atomic():
        app = AuthenticatorApp.objects.select_for_update().filter(user=user).first()
        if app is not None and app.confirmed_at is not None:
            raise errors.error(errors.AUTHENTICATOR_ALREADY_ACTIVE)
        secret = codes.totp_new_secret()
        if app is None:
            AuthenticatorApp.objects.create(user=user, secret=secret, created_at=clock.now())
        else:
            app.secret = secret
            app.created_at = clock.now()
            app.last_used_step = None
            app.save(update_fields=["secret", "created_at", "last_used_step"])
    return AuthenticatorEnrolment(
        secret=secret, provisioning_uri=codes.totp_provisioning_uri(secret, user.username)
    )


def authenticator_enrolment_pending(*, user: User) -> AuthenticatorEnrolment | None:
    """The enrolled but not yet confirmed app, for the set-up page to show again (None if none).

    The secret is read back from its encrypted column, so the page's session never holds it.
    """
    app = AuthenticatorApp.objects.filter(user=user, confirmed_at__isnull=True).first()
    if app is None:
        return None
    return AuthenticatorEnrolment(
        secret=app.secret, provisioning_uri=codes.totp_provisioning_uri(app.secret, user.username)
    )


def authenticator_confirm(*, user: User, code: str, ip: str, user_agent: str) -> None:
    """Activate the enrolled authenticator app with a code it shows. Raises `totp_invalid`,
    `authenticator_not_found`, `authenticator_already_active`, `code_required`."""
    value = _normalised_code(code)
    now = clock.now()
    with transaction.atomic():
        app = AuthenticatorApp.objects.select_for_update().filter(user=user).first()
        if app is None:
            raise errors.error(errors.AUTHENTICATOR_NOT_FOUND)
        if app.confirmed_at is not None:
            raise errors.error(errors.AUTHENTICATOR_ALREADY_ACTIVE)
        step = codes.totp_matching_step(app.secret, value, now, after_step=app.last_used_step)
        if step is None:
            raise errors.error(errors.TOTP_INVALID, field="code")
        app.confirmed_at = now
        app.last_used_step = step
        app.save(update_fields=["confirmed_at", "last_used_step"])
        _event(user, Event.FACTOR_ADDED, ip=ip, user_agent=user_agent, now=now, detail=Method.TOTP)


def authenticator_remove(*, user: User, ip: str, user_agent: str) -> None:
    """Remove the authenticator app (active or not). Raises `authenticator_not_found`.
    The page must require a recent authentication."""
    now = clock.now()
    with transaction.atomic():
        app = AuthenticatorApp.objects.select_for_update().filter(user=user).first()
        if app is None:
            raise errors.error(errors.AUTHENTICATOR_NOT_FOUND)
        was_active = app.confirmed_at is not None
        app.delete()
        MethodLock.objects.filter(user=user, method=Method.TOTP).delete()
        if was_active:
            _event(user, Event.FACTOR_REMOVED, ip=ip, user_agent=user_agent, now=now, detail=Method.TOTP)
