"""The audit trail in the admin: read-only, for staff with the view permission."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.db import OperationalError, router
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from hawiya.core.pagination import EstimatedCountPaginator
from hawiya.core.statement_limit import statement_time_limit, timed_out

from .models import AuditEvent

# "registry.person:42": an object type (app label and model) and its id.
OBJECT_TERM = re.compile(r"(?P<object_type>[a-z_]+\.[a-z_]+):(?P<object_id>[^\s:]{1,64})")
# A search the object index cannot serve reads every partition: on PostgreSQL it is cancelled
# past this, on the primary, instead of running for as long as the trail is long.
SCAN_TIME_LIMIT_MS = 10_000


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
    search_help_text = _(
        "A type and an id, as registry.person:42, finds that object's events at once. An object id "
        "or an actor id alone (exact) reads the whole trail: add a filter."
    )
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

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent], search_term: str
    ) -> tuple[QuerySet[AuditEvent], bool]:
        """`type:id` is read through the object index (audit_event_object_idx): one object's events
        however long the trail. A bare term keeps the exact search on the object id and the actor,
        which no index serves (UPPER() on both sides), so it reads every partition."""
        match = OBJECT_TERM.fullmatch(search_term.strip())
        if match is not None:
            found = queryset.filter(object_type=match["object_type"], object_id=match["object_id"])
            return found, False
        return super().get_search_results(request, queryset, search_term)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A search that reads the whole trail runs under SCAN_TIME_LIMIT_MS (rendered inside the
        limit: the list's queries run as the page renders). Past it, the list without the search,
        and a message that says how to find the events at once."""
        term = request.GET.get(SEARCH_VAR, "").strip()
        if not term or OBJECT_TERM.fullmatch(term):
            return super().changelist_view(request, extra_context)
        alias = router.db_for_read(AuditEvent)
        try:
            with statement_time_limit(alias, SCAN_TIME_LIMIT_MS):
                response = super().changelist_view(request, extra_context)
                if isinstance(response, TemplateResponse):
                    response.render()
        except OperationalError as exc:
            if not timed_out(exc, alias):
                raise
            self.message_user(
                request,
                _(
                    "This search read the whole trail for too long and was stopped. Search by type "
                    "and id (registry.person:42), or narrow the list with a filter first."
                ),
                messages.ERROR,
            )
            rest = request.GET.copy()
            rest.pop(SEARCH_VAR, None)
            return HttpResponseRedirect(f"{request.path}?{rest.urlencode()}" if rest else request.path)
        return response

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
