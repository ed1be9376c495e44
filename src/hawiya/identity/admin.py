"""Admin for accounts and their security state.

Security rows are read-only here: they change through the services only. Hashes and the
authenticator secret are never shown; one-time codes, recovery codes and authenticator apps are
not registered at all.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import MethodLock, SecurityEvent, SignInGuard, User, UserSession


@admin.register(User)
class AccountAdmin(UserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "person", "is_staff", "is_active", "last_login")
    list_select_related = ("person",)
    raw_id_fields = ("person",)
    search_fields = ("username", "person__id_number")
    readonly_fields = ("password_changed_at",)
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (_("Digital identity"), {"fields": ("person", "preferred_language", "password_changed_at")}),
    )


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "user", "kind", "detail", "ip", "reported_at")
    list_filter = ("kind",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__person__id_number")
    date_hierarchy = "occurred_at"


@admin.register(UserSession)
class UserSessionAdmin(ReadOnlyAdmin):
    list_display = ("user", "created_at", "last_seen_at", "ip")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    exclude = ("session_key",)


@admin.register(SignInGuard)
class SignInGuardAdmin(ReadOnlyAdmin):
    list_display = ("user", "failures", "last_failure_at", "locked_until", "blocked_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)


@admin.register(MethodLock)
class MethodLockAdmin(ReadOnlyAdmin):
    list_display = ("user", "method", "locked_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)
