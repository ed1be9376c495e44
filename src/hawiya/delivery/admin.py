"""Shipments and courier updates in the admin: read-only (only the services write them). The
office filters on "announcing failed" for shipments the courier's system never took, to follow
up with the courier by the shipment's reference (the idempotency key we sent)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Shipment, ShipmentEvent


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ShipmentEventInline(admin.TabularInline[ShipmentEvent, Shipment]):
    model = ShipmentEvent
    extra = 0
    can_delete = False
    fields = ("received_at", "event_id", "kind", "at", "reason", "state_after")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "state",
        "failed_attempts",
        "office",
        "announce_state",
        "announce_attempts",
        "announce_error",
        "courier_reference",
        "created_at",
    )
    list_filter = ("state", "announce_state", "office")
    search_fields = ("reference", "courier_reference", "replacement__reference")
    date_hierarchy = "created_at"
    raw_id_fields = ("replacement", "office")
    inlines = (ShipmentEventInline,)


@admin.register(ShipmentEvent)
class ShipmentEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "shipment", "event_id", "kind", "reason", "state_after")
    list_filter = ("kind", "reason")
    search_fields = ("event_id", "shipment__reference")
    date_hierarchy = "received_at"
    raw_id_fields = ("shipment",)
