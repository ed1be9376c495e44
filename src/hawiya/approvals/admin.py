"""App approvals in the admin: read only (requests and callbacks are written by the services alone)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ApprovalCallback, ApprovalRequest


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(_ReadOnly, admin.ModelAdmin[ApprovalRequest]):
    list_display = ("created_at", "party", "status", "decided_at")
    list_filter = ("status",)
    date_hierarchy = "created_at"
    raw_id_fields = ("party", "user")
    # The number and the numbers offered are the citizen's to see, not the administrators'.
    exclude = ("number", "choices", "subject_key")


@admin.register(ApprovalCallback)
class ApprovalCallbackAdmin(_ReadOnly, admin.ModelAdmin[ApprovalCallback]):
    list_display = ("created_at", "request", "state", "attempts", "last_error_code", "sent_at")
    list_filter = ("state",)
    raw_id_fields = ("request",)
