"""System checks of the kernel: the keys of secrets at rest.

wsgi.py runs the checks when the web server starts, and every management command runs them, so a
process whose HAWIYA_FIELD_KEYS are malformed, or cannot open what is stored, refuses to start
instead of failing at the first sign-in. The stored values are tried by a database check
(`Tags.database`), which Django runs only when asked for a database: wsgi.py and `migrate` do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import DatabaseError, connection, transaction

from . import encrypted_columns, fieldcrypt

# How many stored values of each encrypted column are tried at start-up.
SAMPLE = 3


@register()
def field_keys_valid(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """HAWIYA_FIELD_KEYS lists at least one key, and every one is a Fernet key."""
    problems = fieldcrypt.key_problems(fieldcrypt.configured_keys())
    if problems:
        return [
            Error(
                " ".join(problems),
                hint='Make a key with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"',
                id="core.E001",
            )
        ]
    return []


@register(Tags.database)
def stored_secrets_decryptable(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The keys open the latest values of every encrypted column (a database check: wsgi.py and
    `migrate` run it, `manage.py check --database default` too)."""
    if not databases or "default" not in databases or field_keys_valid(app_configs):
        return []
    errors: list[CheckMessage] = []
    for model, field in encrypted_columns.encrypted_fields():
        try:
            # Inside a transaction already, a savepoint keeps a failed query from spoiling it;
            # otherwise no transaction (SQLite's BEGIN IMMEDIATE would take the write lock).
            with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
                tokens = encrypted_columns.sample_tokens(model, field, SAMPLE)
        except DatabaseError:
            return []  # no database yet, or not migrated yet: nothing stored to open
        for token in tokens:
            try:
                fieldcrypt.decrypt(token)
            except fieldcrypt.FieldValueUndecryptable:
                errors.append(
                    Error(
                        f"{encrypted_columns.label(model, field)}: stored values cannot be decrypted "
                        "with any key of HAWIYA_FIELD_KEYS.",
                        hint="The key they were encrypted with is missing: put it back (after the "
                        "current key) and run manage.py rotate_field_keys before removing it.",
                        id="core.E002",
                    )
                )
                break
    return errors
