"""Audited reads: an officer opening a person's record, revealing their full ID number or their
photo writes an audit event (issue #5 §6), which the citizen sees on "who accessed my data".

These are services (they write), one transaction each: the event is recorded before the page
shows anything. Actions: `person.record_viewed` (the case page; revealing the full ID number adds
`"part": "id_number"`) and `person.photo_viewed`; object `registry.person`; detail `person_id`,
the request's `reference` and id (never the number or the image itself).
"""

from __future__ import annotations

from django.db import transaction

from hawiya.audit.services import audit_record
from hawiya.identity.staff import PERM_WORK_CASES, StaffActor
from hawiya.replacements.models import Replacement

from .selectors import OBJECT_PERSON, PhotoOnFile, photo_on_file

AUDIT_RECORD_VIEWED = "person.record_viewed"
AUDIT_PHOTO_VIEWED = "person.photo_viewed"


def _record(staff: StaffActor, replacement: Replacement, action: str, **extra: object) -> None:
    holder_id = replacement.document.holder_id
    audit_record(
        actor=staff.actor,
        action=action,
        object_type=OBJECT_PERSON,
        object_id=holder_id,
        detail={
            "person_id": holder_id,
            "reference": replacement.reference,
            "replacement_id": replacement.pk,
            **extra,
        },
    )


def person_record_view(*, staff: StaffActor, replacement: Replacement, part: str = "") -> None:
    """Record that `staff` opened the record of the request's document holder (`part`: "" for the
    case page, "id_number" for revealing the full ID number)."""
    staff.require(PERM_WORK_CASES)
    staff.require_office(replacement.office_id)
    with transaction.atomic():
        if part:
            _record(staff, replacement, AUDIT_RECORD_VIEWED, part=part[:32])
        else:
            _record(staff, replacement, AUDIT_RECORD_VIEWED)


def person_photo_view(*, staff: StaffActor, replacement: Replacement) -> PhotoOnFile | None:
    """The holder's photo on file, recorded as seen by `staff` (None, and nothing recorded, when
    there is no photo)."""
    photo = photo_on_file(staff=staff, replacement=replacement)
    if photo is None:
        return None
    with transaction.atomic():
        _record(staff, replacement, AUDIT_PHOTO_VIEWED)
    return photo
