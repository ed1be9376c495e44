"""Bills and payment callbacks in the admin: read-only (only the services write them). The
finance team filters on "refund due" to pay back money that arrived when it could not be used,
on the state "refund failed" for fines the gateway refused to refund, and on "refund outcome
unknown" for refunds the gateway may have made: those are looked up at the gateway by the key
`refund-<bill number>` before anything is paid by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Bill, PaymentCallback


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Bill)
class BillAdmin(ReadOnlyAdmin):
    list_display = (
        "bill_number",
        "state",
        "amount_sar",
        "refundable_sar",
        "issued_at",
        "expires_at",
        "refund_requested_sar",
        "refund_attempts",
        "refund_error",
        "refund_due",
    )
    list_filter = ("state", "refund_due")
    search_fields = ("bill_number", "replacement__reference")
    date_hierarchy = "issued_at"
    raw_id_fields = ("replacement",)


@admin.register(PaymentCallback)
class PaymentCallbackAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "event_id", "bill_number", "amount_sar", "status", "outcome", "verified")
    list_filter = ("outcome", "verified", "status")
    search_fields = ("event_id", "bill_number", "payment_id")
    date_hierarchy = "received_at"
    raw_id_fields = ("bill",)
