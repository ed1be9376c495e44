"""An officer finds a person by name or ID number (back office, "Find a person").

Each search is recorded (`person.searched`) with what it did, never what was typed: whether it
was an ID-number search, how many persons the page listed and whether more followed, or the
code of the refusal. Opening a result is the counter's audited look-up (`person.counter_lookup`,
with the person's id, so they see it on "who accessed my data").
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from hawiya.audit.services import audit_record
from hawiya.core.errors import ApplicationError
from hawiya.identity.staff import PERM_COUNTER_IDENTITY, StaffActor
from hawiya.registry.models import Person
from hawiya.registry.selectors import PersonSearchPage, person_search

from .counter import OBJECT_PERSON, counter_person_find, counter_person_get

AUDIT_PERSON_SEARCHED = "person.searched"
# A search has no one object: its events share this id under registry.person.
SEARCH_OBJECT_ID = "search"


def _record(staff: StaffActor, detail: dict[str, Any]) -> None:
    with transaction.atomic():
        audit_record(
            actor=staff.actor,
            action=AUDIT_PERSON_SEARCHED,
            object_type=OBJECT_PERSON,
            object_id=SEARCH_OBJECT_ID,
            detail=detail,
        )


def officer_person_search(*, staff: StaffActor, query: str, offset: int = 0) -> PersonSearchPage:
    """A page of the persons `query` finds (registry.selectors.person_search), recorded.

    Raises StaffForbidden without PERM_COUNTER_IDENTITY, and the selector's ApplicationError
    (`search_query_invalid`, `id_number_invalid`, `search_too_broad`) after recording the refusal.
    """
    staff.require(PERM_COUNTER_IDENTITY)
    try:
        page = person_search(query, offset=offset)
    except ApplicationError as error:
        _record(staff, {"refused": error.code, "results": 0})
        raise
    _record(
        staff,
        {
            "by_id_number": page.by_id_number,
            "results": len(page.persons),
            "more": page.has_next,
            "offset": page.offset,
        },
    )
    return page


def officer_person_open(*, staff: StaffActor, person_id: int) -> Person:
    """The person an officer chose among the results, looked up as at the counter (recorded).

    Raises NotFound `person_not_found` and StaffForbidden without PERM_COUNTER_IDENTITY.
    """
    person = counter_person_get(staff=staff, person_id=person_id)
    return counter_person_find(staff=staff, id_number=person.id_number)
