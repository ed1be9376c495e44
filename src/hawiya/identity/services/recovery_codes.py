"""Recovery codes: ten single-use codes for signing in when the phone is lost."""

from __future__ import annotations

from django.db import transaction

from hawiya.core import clock

from .. import codes
from ..models import RecoveryCode, User
from ._common import Event, _event


def recovery_codes_generate(*, user: User, ip: str, user_agent: str) -> list[str]:
    """Ten new recovery codes, returned once to be shown once; the previous set stops working.

    Stored as keyed hashes only. The page must require a recent authentication.
    """
    now = clock.now()
    new_codes = codes.recovery_codes_new()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        had_codes = RecoveryCode.objects.filter(user=user).exists()
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(
            [
                RecoveryCode(user=user, code_hash=codes.recovery_code_hash(code), created_at=now)
                for code in new_codes
            ]
        )
        _event(
            user,
            Event.FACTOR_ADDED,
            ip=ip,
            user_agent=user_agent,
            now=now,
            detail="recovery_codes_renewed" if had_codes else "recovery_codes",
        )
    return new_codes
