"""Reads of document-status checks: a holder's own ("who checked my documents")."""

from __future__ import annotations

from django.db.models import QuerySet

from hawiya.registry.models import Person

from .models import DocumentCheck


def checks_of_documents_held_by(*, person: Person) -> QuerySet[DocumentCheck]:
    """Every check of a document `person` holds (any version), newest first, with the party and
    the document (for a page: paginate it). Checks that found nothing name no document and are
    nobody's."""
    return (
        DocumentCheck.objects.filter(document__holder=person)
        .select_related("party", "document")
        .order_by("-checked_at", "-id")
    )
