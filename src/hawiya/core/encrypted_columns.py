"""Every encrypted column of the project, read and written around the field's encryption.

Used by `manage.py rotate_field_keys` and by the system check that the configured keys open what is
stored. Tokens only ever pass through here; no clear value is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import Value
from django.db.models.functions import Cast

from . import fieldcrypt
from .fields import EncryptedTextField

ROTATE_BATCH = 500


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def label(model: type[models.Model], field: EncryptedTextField) -> str:
    return f"{model._meta.label}.{field.name}"


def _tokens(queryset: models.QuerySet[Any], field: EncryptedTextField) -> models.QuerySet[Any]:
    """(pk, token) pairs: the column cast to plain text, so the field does not decrypt it."""
    return (
        queryset.exclude(**{f"{field.name}__isnull": True})
        .annotate(_token=Cast(field.name, output_field=models.TextField()))
        .values_list("pk", "_token")
    )


def sample_tokens(model: type[models.Model], field: EncryptedTextField, count: int) -> list[str]:
    """The tokens of the `count` newest and `count` oldest rows: the newest show the keys in use,
    the oldest are the likeliest to be under a key dropped without a rotation. Clear values left
    by an older version (before its data migration ran) are skipped."""
    pairs = [
        *_tokens(model._base_manager.order_by("-pk"), field)[:count],
        *_tokens(model._base_manager.order_by("pk"), field)[:count],
    ]
    return [token for _pk, token in dict(pairs).items() if token and fieldcrypt.is_token(token)]


def rotate(model: type[models.Model], field: EncryptedTextField) -> int:
    """Re-encrypt every value of the column under the first key; how many were rewritten.

    In batches, each in one transaction with its rows locked, so a value written meanwhile (a new
    enrolment) is neither lost nor overwritten. Raises FieldValueUndecryptable, leaving the batches
    done so far rotated (running again finishes the job).
    """
    manager = model._base_manager
    done = 0
    last_pk: Any = None
    while True:
        with transaction.atomic():
            queryset = manager.order_by("pk").select_for_update()
            if last_pk is not None:
                queryset = queryset.filter(pk__gt=last_pk)
            batch = list(_tokens(queryset, field)[:ROTATE_BATCH])
            for pk, token in batch:
                if not token:
                    continue
                manager.filter(pk=pk).update(
                    **{field.name: Value(fieldcrypt.rotate(token), output_field=models.TextField())}
                )
                done += 1
        if len(batch) < ROTATE_BATCH:
            return done
        last_pk = batch[-1][0]
