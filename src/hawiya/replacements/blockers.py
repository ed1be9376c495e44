"""What stops a replacement request before it is made (the pre-checks), in plain words with what to
do about it, and whether the document can be delivered rather than collected."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.text import join_list
from hawiya.registry.models import Document, DocumentKind, DocumentStatus, Person
from hawiya.registry.selectors import unpaid_fines_for

from . import errors
from .entitlement import entitlement
from .fees import sar
from .models import ENDED_STATES, ReceiveMethod, Replacement
from .selectors import primary_address_for

# Delivery needs fingerprints and a photo on record taken within this many years.
BIOMETRICS_VALID_YEARS = 5


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Blocker:
    """Something that stops a request, in plain words, with what the person can do about it."""

    code: str
    message: str
    how_to_fix: str
    # The open request's reference for `open_request` (the page links to it).
    reference: str = ""


def replacement_blockers(
    *, applicant: Person, document: Document, method: str | None = None, today: dt.date | None = None
) -> list[Blocker]:
    """Everything that blocks `applicant`'s request for `document` now (empty: nothing does).

    `method` adds the checks of that way of receiving it (delivery needs a National Address).
    """
    day = today or clock.today()
    blockers: list[Blocker] = []
    if document.status != DocumentStatus.REPORTED_LOST:
        blockers.append(
            Blocker(
                errors.BLOCKER_NOT_REPORTED_LOST,
                str(_("This document has not been reported lost, or it has already been replaced.")),
                str(
                    _(
                        "Report the loss first: a replacement can be requested only for a "
                        "document reported lost."
                    )
                ),
            )
        )
    if entitlement(applicant=applicant, document=document, today=day) is None:
        blockers.append(
            Blocker(
                errors.BLOCKER_NOT_ENTITLED,
                str(
                    _(
                        "Only the holder can request this replacement, or the head of the family for "
                        "the family record, minor children's birth certificates and a deceased "
                        "member's death certificate."
                    )
                ),
                str(
                    _(
                        "Ask the holder or the head of the family to apply with their own digital "
                        "identity, or visit a civil-affairs office."
                    )
                ),
            )
        )
    holder = document.holder
    if not holder.is_alive and document.kind != DocumentKind.DEATH_CERTIFICATE:
        blockers.append(
            Blocker(
                errors.BLOCKER_HOLDER_DECEASED,
                str(_("The holder of this document has died, so it cannot be replaced.")),
                str(
                    _(
                        "The head of the family can request a replacement of the death certificate "
                        "instead, or ask at a civil-affairs office."
                    )
                ),
            )
        )
    open_request = (
        Replacement.objects.filter(document=document)
        .exclude(state__in=[state.value for state in ENDED_STATES])
        .only("reference")
        .first()
    )
    if open_request is not None:
        blockers.append(
            Blocker(
                errors.BLOCKER_OPEN_REQUEST,
                str(
                    _("There is already an open request for this document: %(reference)s.")
                    % {"reference": open_request.reference}
                ),
                str(
                    _("Follow that request in Track my requests, or cancel it there before you apply again.")
                ),
                reference=open_request.reference,
            )
        )
    fines = unpaid_fines_for(person=applicant)
    if fines:
        total = sum((fine.amount_sar for fine in fines), Decimal(0))
        blockers.append(
            Blocker(
                errors.BLOCKER_UNPAID_FINES,
                str(
                    _("You have unpaid civil-affairs fines of %(amount)s (%(reasons)s).")
                    % {"amount": sar(total), "reasons": join_list(fine.reason for fine in fines)}
                ),
                str(
                    _(
                        "Pay the fines through SADAD or at a civil-affairs office. You can apply here "
                        "once they are recorded as paid, usually within a day."
                    )
                ),
            )
        )
    if method == ReceiveMethod.DELIVERY and primary_address_for(person=applicant) is None:
        blockers.append(_no_address_blocker())
    return blockers


def _no_address_blocker() -> Blocker:
    return Blocker(
        errors.BLOCKER_NO_NATIONAL_ADDRESS,
        str(_("You have no National Address registered, so the document cannot be delivered to you.")),
        str(
            _(
                "Register your National Address with Saudi Post (SPL), or choose to collect the "
                "document at a civil-affairs office."
            )
        ),
    )


def delivery_allowed(
    *, document: Document, today: dt.date, applicant: Person | None = None
) -> tuple[bool, str]:
    """Whether the document can be couriered to the National Address, and if not, why.

    ID cards: only when the holder's fingerprints and photo on record were captured within the
    last 5 years (otherwise they are taken again at the office). Birth and death certificates:
    yes. The family record: collection only. Always: a registered National Address of the
    applicant (the holder when no applicant is given).
    """
    if document.kind == DocumentKind.FAMILY_RECORD:
        return False, str(
            _("A family record is handed over at a civil-affairs office; it cannot be delivered.")
        )
    if document.kind == DocumentKind.NATIONAL_ID_CARD:
        captured = document.holder.biometrics_captured_on
        if captured is None or captured < add_years(today, -BIOMETRICS_VALID_YEARS):
            return False, str(
                _(
                    "Your fingerprints and photo on record are more than 5 years old, so they must be "
                    "taken again at a civil-affairs office. Choose collection."
                )
            )
    if primary_address_for(person=applicant or document.holder) is None:
        return False, _no_address_blocker().message
    return True, ""
