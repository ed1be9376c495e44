"""The replacement request's own words that more than one interface shows: why a request is rejected.

The officer picks a reason in the back-office (casework validates it); the citizen reads its label
on the request's page. Both read it here, from the domain, not from each other.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Why an officer rejects a request; the citizen's message (one template per code) says what to do.
REJECTION_REASONS: tuple[tuple[str, Promise], ...] = (
    ("photo_unsuitable", _("The photo does not meet the rules")),
    ("identity_not_confirmed", _("The person's identity could not be confirmed")),
    ("documents_missing", _("Required documents are missing")),
    ("other", _("Another reason (explained in the note)")),
)
# The reason that needs the officer's note to say what it is.
REJECTION_OTHER = "other"


def rejection_reason_label(code: str) -> str:
    """The reason's label in the active language ("" for an unknown code): for the timeline."""
    return str(dict(REJECTION_REASONS).get(code, ""))
