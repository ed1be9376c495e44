"""Where a notification's subject is shown: the one map from subjects to the portal's pages.

The domain stores what a notice is about (`hawiya.notifications.subjects`), never a URL; the
pages that show notices (the notification centre) turn the subject into a link here, with
`reverse()`, in the language of the page being rendered.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from hawiya.notifications.subjects import APPOINTMENT, DOCUMENT_CHECK, LOSS, REPLACEMENT, Subject

# The page of each kind of subject; each takes the subject's reference.
SUBJECT_PAGES = {
    LOSS: "portal:losses-report",
    REPLACEMENT: "portal:requests-detail",
    APPOINTMENT: "portal:appointments-detail",
    DOCUMENT_CHECK: "portal:account-document-check",
}


def subject_url(subject: Subject | None) -> str:
    """The page of `subject` under the active language's prefix, or "" when it has none."""
    if subject is None or subject.kind not in SUBJECT_PAGES:
        return ""
    try:
        return reverse(SUBJECT_PAGES[subject.kind], kwargs={"reference": subject.reference})
    except NoReverseMatch:  # a reference the page's pattern does not take: no link, not an error
        return ""
