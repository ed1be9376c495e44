"""Find a person (under /<lang>/staff/people/): officers and supervisors search the register by
name or ID number and open a result at the counter (docs/design.md, "Finding a person").

Both forms are POSTed: what was typed (a name, an ID number) never goes into a URL, where access
logs would keep it. Results show the name and a masked ID number only. Each search is audited
by the service; opening a result is the counter's audited look-up, and the counter page is
where the person's record is shown (this page builds no record of its own).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from hawiya.casework.person_search import officer_person_open, officer_person_search
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.text import mask_id_number
from hawiya.identity.staff import PERM_COUNTER_IDENTITY, StaffForbidden
from hawiya.registry.models import Person

from .counter_views import COUNTER_DONE_SESSION_KEY, COUNTER_SESSION_KEY
from .decorators import staff_of, staff_page, staff_required
from .people_forms import OpenPersonForm, PersonSearchForm

people_staff = staff_required(PERM_COUNTER_IDENTITY)
TEMPLATE = "backoffice/people/search.html"


def _row(person: Person) -> dict[str, Any]:
    # Enough to tell namesakes apart, nothing more: the record is on the counter page.
    return {
        "pk": person.pk,
        "name": person.full_name,
        "id_number_masked": mask_id_number(person.id_number),
        "born": person.date_of_birth.year,
        "deceased": not person.is_alive,
    }


@people_staff
@require_http_methods(["GET", "HEAD", "POST"])
def people_search(request: HttpRequest) -> HttpResponse:
    staff = staff_of(request)
    if request.method != "POST":
        return staff_page(request, TEMPLATE, {"form": PersonSearchForm()})
    form = PersonSearchForm(request.POST)
    if not form.is_valid():
        return staff_page(request, TEMPLATE, {"form": form}, status=400)
    try:
        page = officer_person_search(
            staff=staff, query=form.cleaned_data["query"], offset=form.cleaned_data["offset"] or 0
        )
    except StaffForbidden:
        raise PermissionDenied from None
    except ApplicationError as error:
        form.add_application_error(error)
        return staff_page(request, TEMPLATE, {"form": form}, status=400)
    context = {
        "form": form,
        "searched": True,
        "page": page,
        "rows": [_row(person) for person in page.persons],
        "query": form.cleaned_data["query"],
        "first_shown": page.offset + 1,
        "last_shown": page.offset + len(page.persons),
    }
    return staff_page(request, TEMPLATE, context)


@people_staff
@require_POST
def people_open(request: HttpRequest) -> HttpResponse:
    """Open a result at the counter (the counter's audited look-up), then show the counter."""
    staff = staff_of(request)
    form = OpenPersonForm(request.POST)
    if not form.is_valid():
        raise Http404("no such person")
    try:
        person = officer_person_open(staff=staff, person_id=form.cleaned_data["person"])
    except StaffForbidden:
        raise PermissionDenied from None
    except NotFound:
        raise Http404("no such person") from None
    request.session[COUNTER_SESSION_KEY] = person.pk
    request.session.pop(COUNTER_DONE_SESSION_KEY, None)
    return redirect("backoffice:counter")
