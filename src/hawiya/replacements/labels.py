"""The words and tag styles of a request's state, shared by the citizen's pages and the back-office
(two interface apps that may not import each other, so the vocabulary stays with the domain)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .models import Replacement, ReplacementState
from .requirements import step_label

S = ReplacementState
# What a request in the `paid` state with nothing to pay is called: it was never paid.
NO_FEE_STATE_LABEL = _("Submitted: nothing to pay")


def state_label(replacement: Replacement) -> str:
    """The request's status in the person's words: "paid" is "submitted: nothing to pay" when
    there was nothing to pay, and the biometrics step says what is done for this kind."""
    if replacement.state == S.PAID and not replacement.total_sar:
        return str(NO_FEE_STATE_LABEL)
    return step_label(
        kind=replacement.document.kind, state=replacement.state, default=replacement.get_state_display()
    )


# The status tag of each state (docs/ui.md §6): the same word and style on the citizen's pages, the
# back-office and the dashboard. "plain" is text without a background (done).
STATE_TAGS: dict[str, str] = {
    S.AWAITING_PAYMENT: "warning",
    S.PAID: "info",
    S.APPOINTMENT_BOOKED: "info",
    S.CHECKED_IN: "info",
    S.BIOMETRICS_CAPTURED: "info",
    S.APPROVED: "info",
    S.PRINTED: "info",
    S.DISPATCHED: "info",
    S.OUT_FOR_DELIVERY: "info",
    S.RETURNED_TO_OFFICE: "info",
    S.READY_FOR_COLLECTION: "success",
    S.COLLECTED: "plain",
    S.DELIVERED: "plain",
    S.REJECTED: "error",
    S.CANCELLED: "neutral",
    S.EXPIRED: "neutral",
}
