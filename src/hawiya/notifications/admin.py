"""The SMS outbox in the admin: read-only, numbers masked, one-time codes never shown.

Support staff need to answer "was my code sent?" without seeing whole numbers or codes, and no
one may edit what a citizen was sent: rows change only through the services and the worker.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from hawiya.core.pagination import EstimatedCountPaginator

from .models import SmsMessage


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin[SmsMessage]):
    list_display = (
        "reference",
        "masked_to",
        "template",
        "language",
        "status",
        "attempts",
        "last_error_code",
        "queued_at",
        "sent_at",
        "delivered_at",
        "failed_at",
    )
    list_filter = ("status", "template", "language")
    # Exact matches only: a support call quotes a reference, or the operator quotes its id.
    search_fields = ("=reference", "=operator_message_id")
    date_hierarchy = "queued_at"
    ordering = ("-queued_at", "-id")
    show_full_result_count = False  # counting a national outbox on every page is too slow
    paginator = EstimatedCountPaginator
    fields = (
        "reference",
        "masked_to",
        "template",
        "language",
        "shown_body",
        "is_secret",
        "subject_ref",
        "status",
        "attempts",
        "last_error_code",
        "operator_message_id",
        "queued_at",
        "last_attempt_at",
        "next_attempt_at",
        "expires_at",
        "sent_at",
        "delivered_at",
        "failed_at",
    )
    readonly_fields = fields

    @admin.display(description=_("to"))
    def masked_to(self, message: SmsMessage) -> str:
        return message.masked_to

    @admin.display(description=_("body"))
    def shown_body(self, message: SmsMessage) -> str:
        if message.is_secret:
            return str(_("Hidden: this message carries a one-time code."))
        return message.body

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SmsMessage | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SmsMessage | None = None) -> bool:
        return False
