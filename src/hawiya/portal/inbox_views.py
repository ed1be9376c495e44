"""The notification centre (مركز الإشعارات): every message Hawiya sent the person, newest first.

Entries are rendered in the language of the page, whatever language the SMS went out in.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from hawiya.core.replicas import replica_reads
from hawiya.notifications.selectors import inbox_for_person
from hawiya.notifications.services import inbox_mark_read

from .context_processors import current_language
from .decorators import citizen_required
from .subjects import subject_url

# The page lists at most this many entries (inbox_for_person's default); no more ids are read.
MAX_SHOWN = 50
ID_VALUE = re.compile(r"[0-9]{1,18}")


def _person_id(request: HttpRequest) -> int:
    person_id = getattr(request.user, "person_id", None)
    if not isinstance(person_id, int):  # citizen_required lets only citizens through
        raise Http404("no person")
    return person_id


@citizen_required
@require_safe
@replica_reads
def inbox_list(request: HttpRequest) -> HttpResponse:
    language = current_language()
    entries = inbox_for_person(person_id=_person_id(request), language=language, limit=MAX_SHOWN)
    context = {
        "entries": [{"entry": entry, "url": subject_url(entry.subject)} for entry in entries],
        "unread": sum(1 for entry in entries if entry.is_unread),
    }
    response = render(request, "portal/inbox/list.html", context)
    response["Cache-Control"] = "no-store"
    return response


@citizen_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark the entries the page showed as read (their ids ride in hidden fields), not one that
    arrived since: the person has not seen it yet. POST-redirect-GET."""
    shown = [
        int(value) for value in request.POST.getlist("notification")[:MAX_SHOWN] if ID_VALUE.fullmatch(value)
    ]
    count = inbox_mark_read(person_id=_person_id(request), notification_ids=shown) if shown else 0
    if count:
        messages.success(request, _("All notifications are marked as read."))
    return redirect("portal:inbox-list")
