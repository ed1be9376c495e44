"""Reference numbers people read out and type: a prefix and random digits, never a counter.

A counter would tell anyone how many reports or requests exist and let them guess another
person's; ownership checks stop access anyway, but nothing is given away for free.
"""

from __future__ import annotations

import secrets
from typing import TypeVar

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy as _

from .errors import ApplicationError

REFERENCE_UNAVAILABLE = "reference_unavailable"
ATTEMPTS = 8
M = TypeVar("M", bound=models.Model)


def reference_new(prefix: str, digits: int = 8) -> str:
    """e.g. `reference_new("RP")` → "RP48217730"."""
    return f"{prefix}{secrets.randbelow(10**digits):0{digits}d}"


def insert_with_reference(instance: M, *, field: str = "reference", prefix: str, digits: int = 8) -> M:
    """INSERT `instance` with a fresh reference in `field`, drawing again on a (rare) collision.

    Each attempt runs in a savepoint, so the caller's transaction survives a collision; any other
    integrity error is raised as it is.
    """
    manager = type(instance)._default_manager
    for _attempt in range(ATTEMPTS):
        setattr(instance, field, reference_new(prefix, digits))
        try:
            with transaction.atomic():
                instance.save(force_insert=True)
        except IntegrityError:
            if not manager.filter(**{field: getattr(instance, field)}).exists():
                raise
            continue
        return instance
    raise ApplicationError(REFERENCE_UNAVAILABLE, _("No reference number could be allocated; try again."))
