"""The admin of replacement requests (/ar/admin/, /en/admin/): the fee schedule is edited here;
requests are read-only (their state moves only through the services), with their timeline."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from hawiya.core.pagination import EstimatedCountPaginator

from .models import FeeCode, FeeRate, Replacement, ReplacementEvent

# The amounts MOI publishes; the others are ours to set and start as placeholders.
PUBLISHED_FEES = frozenset(
    {FeeCode.ID_CARD_LOSS_1, FeeCode.ID_CARD_LOSS_2, FeeCode.ID_CARD_LOSS_3, FeeCode.ID_CARD_LOSS_4_PLUS}
)


class FeeRateForm(forms.ModelForm[FeeRate]):
    class Meta:
        model = FeeRate
        fields = ("code", "amount_sar")
        help_texts: ClassVar[dict[str, Any]] = {
            "amount_sar": _(
                "In Saudi riyals. The national ID card loss fines (1st: none, 2nd: 100, 3rd: 300, "
                "4th and later: 1,000) follow the published rules. The late-report fine, the "
                "certificate fees and the delivery fee are placeholders: set the amounts in force. "
                "A change applies to requests submitted after it; submitted requests keep their fee."
            )
        }


@admin.register(FeeRate)
class FeeRateAdmin(admin.ModelAdmin[FeeRate]):
    form = FeeRateForm
    list_display = ("code", "amount_sar", "is_placeholder", "updated_at")
    list_editable = ("amount_sar",)
    ordering = ("code",)

    @admin.display(description=_("placeholder amount"), boolean=True)
    def is_placeholder(self, rate: FeeRate) -> bool:
        return rate.code not in PUBLISHED_FEES

    def get_readonly_fields(self, request: HttpRequest, obj: FeeRate | None = None) -> tuple[str, ...]:
        # The code is what the program looks up: fixed once the row exists.
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: FeeRate | None = None) -> bool:
        return False


class ReplacementEventInline(admin.TabularInline[ReplacementEvent, Replacement]):
    model = ReplacementEvent
    fields = ("at", "action", "state", "office", "detail")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-at", "-id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Replacement)
class ReplacementAdmin(admin.ModelAdmin[Replacement]):
    list_display = ("reference", "state", "method", "total_sar", "submitted_at")
    list_filter = ("state", "method")
    list_select_related = ("applicant", "document")
    search_fields = ("=reference",)
    search_help_text = _("The request's reference, like RP12345678 (exact).")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    inlines = (ReplacementEventInline,)
    exclude = ("idempotency_key", "request_fingerprint")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Replacement]:
        return super().get_queryset(request).select_related("applicant", "document", "office")

    def get_readonly_fields(self, request: HttpRequest, obj: Replacement | None = None) -> list[str]:
        return [field.name for field in Replacement._meta.fields if field.name not in self.exclude]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Replacement | None = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Replacement], search_term: str
    ) -> tuple[QuerySet[Replacement], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(reference=term), False
