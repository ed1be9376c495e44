"""Links the page checklist holds to the 44 × 44 target size (docs/ui.md §4, DGA), shared by the checks.

A link inside a sentence may be as high as its line; these are targets of their own: "Change" in
summary lists, error-summary links, help links, the PDF links and the staff sub-navigation.
"""

from __future__ import annotations

LINK_TARGETS = [
    ".hw-error-summary a",
    ".hw-summary__action a",
    ".hw-losses-change a",
    ".hw-appointment-change a",
    ".hw-appointment-links a",
    ".hw-document-links a",
    ".hw-help a",
    ".hw-form-link a",
    ".hw-staff-subnav a",
    ".hw-menu__link",
]
