"""Who may replace what: the holder their own ID card and birth certificate; the head of the
family the family record, minor children's birth certificates and a deceased member's death
certificate."""

from __future__ import annotations

import datetime as dt

from hawiya.losses.selectors import is_minor_child
from hawiya.registry.models import Document, DocumentKind, FamilyMember, Person


class Entitlement:
    """Why the applicant may replace a document (a stable word for pages and tests)."""

    OWN = "own"
    FAMILY_RECORD = "family_record"
    MINOR_CHILD = "minor_child"
    DECEASED_MEMBER = "deceased_member"


def entitlement(*, applicant: Person, document: Document, today: dt.date) -> str | None:
    """Why `applicant` may request a replacement of `document`, or None if they may not.

    The holder replaces their own ID card and birth certificate; the head of the family replaces
    the family record, the birth certificates of minor children in the record and the death
    certificate of a member who died.
    """
    if document.kind == DocumentKind.FAMILY_RECORD:
        head_id = document.family_record.head_id if document.family_record else document.holder_id
        return Entitlement.FAMILY_RECORD if head_id == applicant.pk else None
    if document.holder_id == applicant.pk:
        if document.kind in (DocumentKind.NATIONAL_ID_CARD, DocumentKind.BIRTH_CERTIFICATE):
            return Entitlement.OWN
        return None
    membership = (
        FamilyMember.objects.filter(family_record__head=applicant, person_id=document.holder_id)
        .select_related("person")
        .first()
    )
    if membership is None:
        return None
    holder = membership.person
    if document.kind == DocumentKind.BIRTH_CERTIFICATE and is_minor_child(
        relation=membership.relation, person=holder, today=today
    ):
        return Entitlement.MINOR_CHILD
    if document.kind == DocumentKind.DEATH_CERTIFICATE and not holder.is_alive:
        return Entitlement.DECEASED_MEMBER
    return None


def has_family_link(*, applicant: Person, document: Document) -> bool:
    """The applicant holds the document or heads a family record listing its holder.

    Anything else is "not found" for them: the existence of a stranger's document never leaks.
    """
    if document.holder_id == applicant.pk:
        return True
    if document.kind == DocumentKind.FAMILY_RECORD and document.family_record is not None:
        return document.family_record.head_id == applicant.pk
    return FamilyMember.objects.filter(family_record__head=applicant, person_id=document.holder_id).exists()
