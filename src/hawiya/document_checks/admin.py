"""Document-status checks in the admin: read only (the record is written by the service alone)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import DocumentCheck


@admin.register(DocumentCheck)
class DocumentCheckAdmin(admin.ModelAdmin[DocumentCheck]):
    list_display = ("checked_at", "party", "kind", "answer")
    list_filter = ("answer", "kind")
    date_hierarchy = "checked_at"
    raw_id_fields = ("party", "document")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
