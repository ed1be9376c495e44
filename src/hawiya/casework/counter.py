"""The counter's audited look-up: an officer finds a person by ID number for the in-person
identity services (re-binding a mobile number, starting an activation; identity.counter).

Finding a person shows their record, so it is recorded like any officer's view of a record
(`person.counter_lookup`, with `person_id`: the person sees it on "who accessed my data").
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.services import audit_record
from hawiya.core.errors import NotFound
from hawiya.identity.staff import PERM_COUNTER_IDENTITY, StaffActor
from hawiya.registry.models import Person
from hawiya.registry.selectors import biometric_capture_latest, person_for_counter

AUDIT_COUNTER_LOOKUP = "person.counter_lookup"
OBJECT_PERSON = "registry.person"


def counter_person_find(*, staff: StaffActor, id_number: str) -> Person:
    """The person with this ID number (typed in any form), recorded as looked up by `staff`.

    Raises ApplicationError `id_number_invalid` (field `id_number`), NotFound
    `person_not_found`, StaffForbidden without PERM_COUNTER_IDENTITY. A number that is not in
    the register records nothing (there is no person to tell).
    """
    staff.require(PERM_COUNTER_IDENTITY)
    person = person_for_counter(id_number=id_number)
    with transaction.atomic():
        audit_record(
            actor=staff.actor,
            action=AUDIT_COUNTER_LOOKUP,
            object_type=OBJECT_PERSON,
            object_id=person.pk,
            detail={"person_id": person.pk},
        )
    return person


def counter_person_get(*, staff: StaffActor, person_id: int) -> Person:
    """The person an officer found at the counter earlier in this visit (already recorded)."""
    staff.require(PERM_COUNTER_IDENTITY)
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound("person_not_found", _("No person with this ID number is in the register."))
    return person


def counter_biometrics_on_file(*, staff: StaffActor, person_id: int) -> bool:
    """Whether fingerprints are on file to confirm the person's identity at the counter."""
    staff.require(PERM_COUNTER_IDENTITY)
    return biometric_capture_latest(person_id=person_id) is not None
