"""Security review (issue #5): every audit event staff or a courier write about a person names
that person (`detail.person_id`), so the person sees it on "who accessed my data", and none
carries a name, an ID number, a mobile number or a handover code."""

from __future__ import annotations

import pytest

from hawiya.audit.models import AuditEvent
from hawiya.audit.selectors import STAFF_ACCESS_ROLES
from hawiya.core.testing import PinnedClock
from hawiya.registry.models import Person

# Aliased: a name starting with test_ would be collected (and run) here a second time.
from .test_backoffice_lifecycle import (
    test_a_collection_request_goes_from_check_in_to_collected as collection_lifecycle,
)
from .test_backoffice_lifecycle import (
    test_a_delivery_request_fails_twice_returns_and_is_collected as delivery_lifecycle,
)
from .test_backoffice_lifecycle import (
    test_a_rejected_request_is_refunded_and_the_document_stays_lost as rejection_lifecycle,
)

pytestmark = pytest.mark.django_db

# Events about an office, not about a person.
OFFICE_ACTIONS = frozenset(
    {"office.schedule_changed", "office.holiday_added", "office.holiday_removed", "office.dashboard_exported"}
)


def test_every_staff_or_courier_event_of_the_lifecycles_names_the_person_and_nothing_personal(
    pinned: PinnedClock,
) -> None:
    collection_lifecycle(pinned)
    rejection_lifecycle(pinned)
    delivery_lifecycle(pinned)

    events = list(
        AuditEvent.objects.filter(actor_role__in=STAFF_ACCESS_ROLES).exclude(action__in=OFFICE_ACTIONS)
    )
    assert {event.actor_role for event in events} >= {"officer", "courier"}
    missing = sorted({event.action for event in events if not isinstance(event.detail.get("person_id"), int)})
    assert missing == []
    people = {person.pk: person for person in Person.objects.all()}
    for event in events:
        text = str(event.detail)
        person = people[event.detail["person_id"]]
        for personal in (person.id_number, person.full_name_ar, person.full_name_en, person.mobile):
            assert not personal or personal not in text, (event.action, personal)
