"""Document-status checks, their alarms and misuse reports in the admin: read only (written by
the services alone; officers close misuse reports on their back-office page, audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import DocumentCheck, LostDocumentAlarm, MisuseReport


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LostDocumentAlarm)
class LostDocumentAlarmAdmin(_ReadOnly, admin.ModelAdmin[LostDocumentAlarm]):
    list_display = ("alerted_at", "party")
    date_hierarchy = "alerted_at"
    raw_id_fields = ("document_check", "document", "party")


@admin.register(MisuseReport)
class MisuseReportAdmin(_ReadOnly, admin.ModelAdmin[MisuseReport]):
    list_display = ("reference", "reported_at", "status", "closed_at")
    list_filter = ("status",)
    date_hierarchy = "reported_at"
    raw_id_fields = ("document_check", "holder")


@admin.register(DocumentCheck)
class DocumentCheckAdmin(admin.ModelAdmin[DocumentCheck]):
    list_display = ("checked_at", "reference", "party", "kind", "answer")
    list_filter = ("answer", "kind")
    date_hierarchy = "checked_at"
    raw_id_fields = ("party", "document")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
