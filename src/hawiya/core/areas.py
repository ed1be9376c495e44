"""Which part of the site a request is for. The staff area (the back-office's pages, under
/<lang>/staff/) is asked about by pages the portal and the back-office share, the error pages,
and neither app may import the other (docs/design.md §3): the back-office's context processor
(`staff_area`) and the portal's 500 page both ask here."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

STAFF_NAMESPACE = "backoffice"
STAFF_HOME = "backoffice:home"


def in_staff_area(request: HttpRequest) -> bool:
    """The request is for a back-office address: its view is the back-office's, or, when no view
    matched (a 404, or a failure before the URL was resolved), its path is under the staff home."""
    match = request.resolver_match
    if match is not None:
        return STAFF_NAMESPACE in match.namespaces
    return request.path.startswith(reverse(STAFF_HOME))
