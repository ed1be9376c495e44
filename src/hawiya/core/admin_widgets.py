"""Admin widgets that survive any input.

Django's `AutocompleteSelect` re-displays a refused form by looking up the submitted value with
`pk__in=[value]`: a value that is not a number ("x" * 100_000, a bidi control) raises ValueError
in that lookup, so the admin answered 500 instead of showing the form's error. `CheckedAutocomplete`
looks up only the values the target field accepts; the form's own validation still refuses the
rest with its usual message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest

# The largest value a BigAutoField holds: a larger number overflows the lookup on PostgreSQL.
_MAX_ID = 2**63 - 1


class CheckedAutocompleteSelect(AutocompleteSelect):
    def optgroups(self, name: str, value: Sequence[str], attr: dict[str, Any] | None = None) -> Any:
        remote = self.field.remote_field
        target = remote.model._meta.get_field(getattr(remote, "field_name", None) or "pk")
        return super().optgroups(name, [item for item in value if _fits(target, item)], attr)


def _fits(target: Any, item: Any) -> bool:
    try:
        prepared = target.get_prep_value(target.to_python(item))
    except (TypeError, ValueError, ValidationError):
        return False
    return not isinstance(prepared, int) or abs(prepared) <= _MAX_ID


class CheckedAutocompleteMixin:
    """For a ModelAdmin or an inline with `autocomplete_fields`: those fields use
    CheckedAutocompleteSelect instead of Django's AutocompleteSelect."""

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = CheckedAutocompleteSelect(
                db_field,
                self.admin_site,  # type: ignore[attr-defined]
                using=kwargs.get("using"),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
