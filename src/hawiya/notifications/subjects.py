"""What a notification is about: a subject, a kind and its public reference (LR…, RP…, AP…).

The domain says what a notice concerns; it never says where that is shown. The portal maps a
subject to its page with `reverse()` in one place (`portal/subjects.py`), so a renamed page or a
new interface needs no change below it, and no stored row holds a URL.
"""

from __future__ import annotations

from dataclasses import dataclass

# The kinds a notification can be about. Stored as text: the notifications app sits below the
# apps that own these things, so it keeps their names, not keys to their tables.
LOSS = "loss"  # a lost-document report (losses)
REPLACEMENT = "replacement"  # a replacement request (replacements)
APPOINTMENT = "appointment"  # an office appointment (appointments)
DOCUMENT_CHECK = "document_check"  # a party's check of a document (document_checks)
SUBJECT_KINDS = (LOSS, REPLACEMENT, APPOINTMENT, DOCUMENT_CHECK)
REFERENCE_MAX = 20


@dataclass(frozen=True)
class Subject:
    """A notification's subject; `reference` is the thing's public reference, never a row id."""

    kind: str
    reference: str

    def __post_init__(self) -> None:
        if self.kind not in SUBJECT_KINDS:
            raise ValueError(f"unknown notification subject kind {self.kind!r}")
        if not self.reference or len(self.reference) > REFERENCE_MAX:
            raise ValueError("a notification subject needs a reference of at most 20 characters")
