"""The audit trail in the admin: read-only, for staff with the view permission."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from hawiya.core.pagination import EstimatedCountPaginator

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = (
        "id",
        "occurred_at",
        "actor",
        "actor_role",
        "action",
        "object_type",
        "object_id",
        "ip",
    )
    list_filter = ("action", "actor_role")
    search_fields = ("=object_id", "=actor")
    search_help_text = _("An object id or an actor id (exact).")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 100
    fields = (
        "id",
        "occurred_at",
        "actor",
        "actor_role",
        "actor_office",
        "action",
        "object_type",
        "object_id",
        "ip",
        "detail",
        "sequence",
        "prev_hash",
        "salt",
        "hash",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
