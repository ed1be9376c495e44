"""Model fields of the kernel."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from . import fieldcrypt


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text kept encrypted in its column (Fernet under HAWIYA_FIELD_KEYS, see core/fieldcrypt.py).

    The model attribute holds the clear value; the database, serialised data (`dumpdata`) and
    anything read around the ORM hold only the token. A token is different at every save, so the
    column cannot be filtered or ordered on, and it is never unique. `manage.py rotate_field_keys`
    re-encrypts every such column under the first key.
    """

    description = "Text encrypted at rest"

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Any:
        if value is None:
            return None
        return fieldcrypt.decrypt(value)

    def to_python(self, value: Any) -> Any:
        # Serialised data (loaddata) carries the token, see value_to_string.
        if isinstance(value, str) and fieldcrypt.is_token(value):
            return fieldcrypt.decrypt(value)
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return fieldcrypt.encrypt(str(value))

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else fieldcrypt.encrypt(str(value))
