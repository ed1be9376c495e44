"""`manage.py rotate_field_keys`: re-encrypt every secret at rest under the first field key.

Rotating a key: put the new key first in HAWIYA_FIELD_KEYS, keeping the old one after it, restart
(both keys now decrypt; the new one encrypts), run this command, then remove the old key and restart.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hawiya.core import encrypted_columns, fieldcrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (authenticator secrets) under the first key of HAWIYA_FIELD_KEYS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = fieldcrypt.key_problems(fieldcrypt.configured_keys())
        if problems:
            raise CommandError(" ".join(problems))
        total = 0
        for model, field in encrypted_columns.encrypted_fields():
            name = encrypted_columns.label(model, field)
            try:
                count = encrypted_columns.rotate(model, field)
            except fieldcrypt.FieldValueUndecryptable as exc:
                raise CommandError(f"{name}: {exc}") from None
            total += count
            self.stdout.write(f"{name}: {count} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} values now encrypted under the first key."))
