"""The admin of office calendars (schedules, holidays) and, read-only, of appointments.

Schedules and holidays are reference data the admin edits; slots and appointments change only
through the services (a booking takes a place atomically), so they are shown, never edited.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from hawiya.core.pagination import EstimatedCountPaginator

from .models import Appointment, AppointmentMove, OfficeHoliday, OfficeSchedule, Slot


@admin.register(OfficeSchedule)
class OfficeScheduleAdmin(admin.ModelAdmin[OfficeSchedule]):
    list_display = ("office", "weekday", "service", "opens_at", "closes_at", "slot_minutes", "capacity")
    list_filter = ("office", "weekday", "service")
    list_select_related = ("office", "service")
    ordering = ("office", "weekday", "opens_at")


@admin.register(OfficeHoliday)
class OfficeHolidayAdmin(admin.ModelAdmin[OfficeHoliday]):
    list_display = ("date", "name_ar", "name_en", "office")
    list_filter = ("office",)
    list_select_related = ("office",)
    date_hierarchy = "date"


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AppointmentMoveInline(_ReadOnly, admin.TabularInline[AppointmentMove, Appointment]):
    model = AppointmentMove
    fields = ("at", "from_slot", "to_slot")
    readonly_fields = fields
    extra = 0


@admin.register(Appointment)
class AppointmentAdmin(_ReadOnly, admin.ModelAdmin[Appointment]):
    list_display = ("reference", "state", "slot", "booked_at", "reminded_at")
    list_filter = ("state", "slot__office")
    list_select_related = ("slot", "slot__office")
    search_fields = ("=reference",)
    readonly_fields = ("reference", "replacement", "slot", "state", "booked_at", "ended_at", "reminded_at")
    exclude = ("applicant", "idempotency_key", "request_fingerprint")
    inlines = (AppointmentMoveInline,)
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(Slot)
class SlotAdmin(_ReadOnly, admin.ModelAdmin[Slot]):
    list_display = ("office", "service", "starts_at", "booked", "capacity")
    list_filter = ("office", "service")
    list_select_related = ("office", "service")
    date_hierarchy = "starts_at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
