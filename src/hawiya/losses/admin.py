"""The lost-documents register in the admin: read-only (reports are filed only by the service)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import LossReport, LossReportItem


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LossReportItemInline(admin.TabularInline[LossReportItem, LossReport]):
    model = LossReportItem
    fields = ("document",)
    readonly_fields = ("document",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LossReport)
class LossReportAdmin(ReadOnlyAdmin):
    list_display = ("reference", "reported_at", "lost_on", "place", "is_late", "document_count")
    list_filter = ("is_late", "place", "lost_on_approximate")
    search_fields = ("reference",)
    date_hierarchy = "reported_at"
    ordering = ("-reported_at", "-id")
    list_select_related = ("reporter",)
    inlines = (LossReportItemInline,)
    # The reporter is shown by id: names and ID numbers appear only on the person's own page.
    raw_id_fields = ("reporter",)
    exclude = ("idempotency_key", "request_fingerprint")

    def get_queryset(self, request: HttpRequest) -> QuerySet[LossReport]:
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(description=_("documents"), ordering="item_count")
    def document_count(self, obj: LossReport) -> int:
        return int(getattr(obj, "item_count", 0))
