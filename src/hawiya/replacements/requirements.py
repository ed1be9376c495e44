"""What a replacement asks of the person, by kind of document: the one place every page, PDF and
text message reads what to bring to the office and what happens there.

The source (the ministry's how-to for replacing lost documents) lists the requirements for issuing
any replacement document: **personal photos 4×6** and **Form 58** (printable electronically); and
only for a national ID card, **fingerprints and a photo are taken** at the office and the card is
**received after 15 days**. So cards, prints and the 15 days are said for ID cards only, never on a
birth-certificate, death-certificate or family-record request.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hawiya.registry.models import DocumentKind

from .models import ReceiveMethod, Replacement, ReplacementState

# The source: an ID card is received 15 days after the fingerprints and photo are taken.
ID_CARD_READY_DAYS = 15

PHOTOS = _("personal photos, 4×6 cm, recent, with a plain white background")
FORM_58 = _("Form 58, printed and filled in (print it from your request page)")
TICKET = _("your appointment ticket, printed or on your phone")
LOSS_REFERENCE = _("your loss report reference, and any other ID you have")
REMAINS = _("the remains of the old document, if you found any")

ID_CARD_AT_OFFICE = _(
    "At the office your fingerprints and a photo are taken for the new card. You receive the card "
    "15 days later; a text message tells you when it is ready."
)
DOCUMENT_AT_OFFICE = _(
    "At the office an officer checks your identity and your Form 58. A text message tells you when "
    "the new document is ready to collect."
)
DELIVERY_NOTE = _(
    "Nothing: the courier brings the document to your National Address. Have your ID number ready; "
    "the courier asks for the handover code we send you."
)
# What the office ticks on Form 58 when the person comes.
ID_CARD_OFFICE_CHECKS = _(
    "For the office: fingerprints checked ☐  photo taken ☐  officer ____________  stamp"
)
DOCUMENT_OFFICE_CHECKS = _(
    "For the office: identity checked ☐  4×6 photos received ☐  officer ____________  stamp"
)

# The citizen's words for a step whose generic name says more than the kind of document does.
IDENTITY_CONFIRMED = _("Identity confirmed at the office")


@dataclass(frozen=True)
class Requirements:
    """What to bring (empty for delivery), and one sentence on what happens at the office."""

    bring: tuple[str, ...]
    at_office: str
    # The note for delivery, where nothing is brought ("" for collection).
    delivery_note: str
    # The office's line on Form 58.
    office_checks: str


def takes_biometrics(kind: str) -> bool:
    """Whether fingerprints and a photo are taken at the office for this kind (ID cards only)."""
    return kind == DocumentKind.NATIONAL_ID_CARD


def at_office(kind: str) -> str:
    """What happens at the office for a replacement of `kind`, in the active language."""
    return str(ID_CARD_AT_OFFICE if takes_biometrics(kind) else DOCUMENT_AT_OFFICE)


def requirements_for(*, kind: str, method: str, ticket: bool = False) -> Requirements:
    """The requirements of a replacement of `kind` received by `method`, in the active language.

    Collection: 4×6 personal photos and Form 58 for every kind (the source), then the appointment
    ticket (`ticket`: on the ticket and the appointment pages) or the loss report reference, and
    the remains of the old document. Delivery: nothing to bring.
    """
    checks = str(ID_CARD_OFFICE_CHECKS if takes_biometrics(kind) else DOCUMENT_OFFICE_CHECKS)
    if method == ReceiveMethod.DELIVERY:
        return Requirements(bring=(), at_office="", delivery_note=str(DELIVERY_NOTE), office_checks=checks)
    items: list[Promise] = [PHOTOS, FORM_58]
    items.append(TICKET if ticket else LOSS_REFERENCE)
    items.append(REMAINS)
    return Requirements(
        bring=tuple(str(item) for item in items),
        at_office=at_office(kind),
        delivery_note="",
        office_checks=checks,
    )


def requirements_of(replacement: Replacement, *, ticket: bool = False) -> Requirements:
    return requirements_for(kind=replacement.document.kind, method=replacement.method, ticket=ticket)


@dataclass(frozen=True)
class KindRequirements:
    kind: str
    label: str
    requirements: Requirements


def requirements_by_kind() -> list[KindRequirements]:
    """Every kind's requirements for a visit to the office (the service's start page)."""
    return [
        KindRequirements(
            kind=kind.value,
            label=str(kind.label),
            requirements=requirements_for(kind=kind.value, method=ReceiveMethod.COLLECTION),
        )
        for kind in DocumentKind
    ]


# --- Words of the steps, by kind -------------------------------------------------------------------

# The text message of a step, by whether the kind takes biometrics (templates in notifications).
CHECKED_IN_TEMPLATE = {True: "replacement_checked_in", False: "replacement_checked_in_document"}
CAPTURED_TEMPLATE = {True: "replacement_biometrics_captured", False: "replacement_identity_confirmed"}


def checked_in_template(kind: str) -> str:
    return CHECKED_IN_TEMPLATE[takes_biometrics(kind)]


def captured_template(kind: str) -> str:
    return CAPTURED_TEMPLATE[takes_biometrics(kind)]


def step_label(*, kind: str, state: str, default: str) -> str:
    """A timeline step's words for this kind: "biometrics captured" is "identity confirmed at the
    office" for a document that is not an ID card (no fingerprints are promised for it)."""
    if state == ReplacementState.BIOMETRICS_CAPTURED and not takes_biometrics(kind):
        return str(IDENTITY_CONFIRMED)
    return default
