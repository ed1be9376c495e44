"""Reads of replacement requests: which lost documents a person may replace, what blocks a
request, whether delivery is possible, the fee, and a person's requests with their timeline.

Everything filtered by who asks answers "not found" alike for a missing row and someone else's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.errors import NotFound
from hawiya.core.text import join_list
from hawiya.losses.models import LossReportItem
from hawiya.losses.selectors import is_minor_child
from hawiya.registry.models import (
    Document,
    DocumentKind,
    DocumentStatus,
    FamilyMember,
    NationalAddress,
    Person,
)
from hawiya.registry.selectors import unpaid_fines_for

from . import errors
from .expected import Expected, expected_from_steps
from .models import ENDED_STATES, FeeCode, FeeRate, ReceiveMethod, Replacement, ReplacementState
from .requirements import step_label

S = ReplacementState
# Delivery needs fingerprints and a photo on record taken within this many years.
BIOMETRICS_VALID_YEARS = 5
# What the data migration writes; used only if a row was deleted from the admin.
DEFAULT_FEES: dict[str, Decimal] = {
    FeeCode.ID_CARD_LOSS_1: Decimal(0),
    FeeCode.ID_CARD_LOSS_2: Decimal(100),
    FeeCode.ID_CARD_LOSS_3: Decimal(300),
    FeeCode.ID_CARD_LOSS_4_PLUS: Decimal(1000),
    FeeCode.LATE_REPORT: Decimal(100),
    FeeCode.BIRTH_CERTIFICATE: Decimal(0),
    FeeCode.DEATH_CERTIFICATE: Decimal(0),
    FeeCode.FAMILY_RECORD: Decimal(0),
    FeeCode.DELIVERY: Decimal(35),
}
CERTIFICATE_FEES: dict[str, str] = {
    DocumentKind.BIRTH_CERTIFICATE: FeeCode.BIRTH_CERTIFICATE,
    DocumentKind.DEATH_CERTIFICATE: FeeCode.DEATH_CERTIFICATE,
    DocumentKind.FAMILY_RECORD: FeeCode.FAMILY_RECORD,
}
# The office service that issues each kind (registry migration 0002).
SERVICE_OF_KIND: dict[str, str] = {
    DocumentKind.NATIONAL_ID_CARD: "national_id_card_replacement",
    DocumentKind.BIRTH_CERTIFICATE: "birth_certificate_replacement",
    DocumentKind.DEATH_CERTIFICATE: "death_certificate_replacement",
    DocumentKind.FAMILY_RECORD: "family_record_replacement",
}

# The steps of each way of receiving the document, in order (docs/design.md §4).
COLLECTION_PATH: tuple[str, ...] = (
    S.AWAITING_PAYMENT,
    S.PAID,
    S.APPOINTMENT_BOOKED,
    S.CHECKED_IN,
    S.BIOMETRICS_CAPTURED,
    S.APPROVED,
    S.PRINTED,
    S.READY_FOR_COLLECTION,
    S.COLLECTED,
)
DELIVERY_PATH: tuple[str, ...] = (
    S.AWAITING_PAYMENT,
    S.PAID,
    S.APPROVED,
    S.PRINTED,
    S.DISPATCHED,
    S.OUT_FOR_DELIVERY,
    S.DELIVERED,
)

# What each timeline action says to the person (unknown actions fall back to the state's name).
ACTION_LABELS: dict[str, Promise] = {
    "submitted": _("Request submitted"),
    "paid": _("Payment received"),
    # A request with nothing to pay goes ahead at once (casework.services.replacement_apply).
    "no_fee": _("Nothing to pay: the request goes ahead"),
    "appointment_booked": _("Appointment booked"),
    "appointment_moved": _("Appointment moved"),
    "appointment_cancelled": _("Appointment cancelled"),
    "appointment_no_show": _("Appointment missed: book another"),
    "checked_in": _("Checked in at the office"),
    "biometrics_captured": _("Fingerprints and photo taken"),
    "approved": _("Request approved"),
    "printed": _("Document printed"),
    "ready_for_collection": _("Ready for collection"),
    "dispatched": _("Handed to the courier"),
    "out_for_delivery": _("Out for delivery"),
    "delivery_failed": _("Delivery attempt failed"),
    "returned_to_office": _("Returned to the office"),
    "delivered": _("Delivered"),
    "collected": _("Collected"),
    "cancelled": _("Request cancelled"),
    "rejected": _("Request rejected"),
    "expired": _("Request expired: not paid in time"),
}


# --- Who may replace what --------------------------------------------------------------------------


class Entitlement:
    """Why the applicant may replace a document (a stable word for pages and tests)."""

    OWN = "own"
    FAMILY_RECORD = "family_record"
    MINOR_CHILD = "minor_child"
    DECEASED_MEMBER = "deceased_member"


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


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


@dataclass(frozen=True)
class ReplaceableDocument:
    document: Document
    entitlement: str
    # The request already under way for it, if any (one open request per document).
    open_replacement: Replacement | None


def replaceable_documents_for(*, person: Person, today: dt.date) -> list[ReplaceableDocument]:
    """The documents reported lost and not yet replaced that `person` may request a replacement
    of: their own, and as head of a family the family record, minor children's birth
    certificates and a deceased member's death certificate."""
    members = list(
        FamilyMember.objects.filter(family_record__head=person).select_related("person").order_by("id")
    )
    children = [
        member.person_id
        for member in members
        if is_minor_child(relation=member.relation, person=member.person, today=today)
    ]
    deceased = [member.person_id for member in members if not member.person.is_alive]
    documents = list(
        Document.objects.filter(status=DocumentStatus.REPORTED_LOST)
        .filter(
            Q(holder=person, kind__in=[DocumentKind.NATIONAL_ID_CARD, DocumentKind.BIRTH_CERTIFICATE])
            | Q(kind=DocumentKind.FAMILY_RECORD, family_record__head=person)
            | Q(holder_id__in=children, kind=DocumentKind.BIRTH_CERTIFICATE)
            | Q(holder_id__in=deceased, kind=DocumentKind.DEATH_CERTIFICATE)
        )
        .select_related("holder", "family_record", "issuing_office")
        .order_by("holder_id", "kind", "-version")
    )
    open_requests = {
        replacement.document_id: replacement
        for replacement in Replacement.objects.filter(document__in=documents).exclude(
            state__in=[state.value for state in ENDED_STATES]
        )
    }
    result = []
    for document in documents:
        why = entitlement(applicant=person, document=document, today=today)
        if why is not None:
            result.append(ReplaceableDocument(document, why, open_requests.get(document.pk)))
    return result


def replaceable_document_get_for_person(*, person: Person, document_id: int, today: dt.date) -> Document:
    """One lost document the person may replace, or NotFound (missing, someone else's, not lost)."""
    for item in replaceable_documents_for(person=person, today=today):
        if item.document.pk == document_id:
            return item.document
    raise NotFound(errors.DOCUMENT_NOT_REPLACEABLE, _("This document was not found."))


def has_valid_id_card(*, person: Person) -> bool:
    """The person holds a valid ID card (which they could report lost first)."""
    return Document.objects.filter(
        holder=person, kind=DocumentKind.NATIONAL_ID_CARD, status=DocumentStatus.VALID
    ).exists()


def primary_address_for(*, person: Person) -> NationalAddress | None:
    return NationalAddress.objects.filter(person=person, is_primary=True).first()


# --- Blockers and delivery --------------------------------------------------------------------------


def format_amount(amount: Decimal) -> str:
    """100 → "100", 1000 → "1,000", 12.5 → "12.50" (Western digits, docs/ui.md §3)."""
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount:,.2f}"


def sar(amount: Decimal) -> str:
    """ "SAR 100" / "100 ريال"."""
    return str(_("SAR %(amount)s") % {"amount": format_amount(amount)})


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


# --- Fees --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeLine:
    code: str
    label: str
    amount: Decimal
    # Fines are refunded if the request is rejected; the delivery fee never is.
    refundable: bool


@dataclass(frozen=True)
class FeeQuote:
    lines: tuple[FeeLine, ...]
    loss_number: int
    reported_late: bool
    total: Decimal = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum((line.amount for line in self.lines), Decimal(0)))

    @property
    def fine(self) -> Decimal:
        """The fine part (ID-card loss fine and late-report fine)."""
        return sum(
            (line.amount for line in self.lines if line.code != FeeCode.DELIVERY and line.refundable),
            Decimal(0),
        )

    @property
    def delivery_fee(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.code == FeeCode.DELIVERY), Decimal(0))

    def as_json(self) -> list[dict[str, object]]:
        """What the request stores: what was explained to the person when they submitted."""
        return [
            {"code": line.code, "amount_sar": str(line.amount), "refundable": line.refundable}
            for line in self.lines
        ]


def fee_rates() -> dict[str, Decimal]:
    """The fee schedule as the admin set it (defaults for any row missing)."""
    rates = dict(DEFAULT_FEES)
    rates.update(dict(FeeRate.objects.values_list("code", "amount_sar")))
    return rates


def loss_number_of(document: Document) -> int:
    """Which loss of this kind this is for the holder: every version ever reported lost counts."""
    return Document.objects.filter(
        holder_id=document.holder_id, kind=document.kind, reported_lost_at__isnull=False
    ).count()


def _reported_late(document: Document) -> bool:
    item = LossReportItem.objects.filter(document=document).select_related("report").first()
    return bool(item and item.report.is_late)


def id_card_loss_fee_code(loss_number: int) -> str:
    return {
        1: FeeCode.ID_CARD_LOSS_1,
        2: FeeCode.ID_CARD_LOSS_2,
        3: FeeCode.ID_CARD_LOSS_3,
    }.get(loss_number, FeeCode.ID_CARD_LOSS_4_PLUS)


def replacement_quote(*, applicant: Person, document: Document, method: str, today: dt.date) -> FeeQuote:
    """The fee, line by line: the ID-card loss fine by the holder's count of losses (1st free,
    2nd, 3rd, 4th and later), the certificate fee, the late-report fine when the loss was
    reported late, and the delivery fee when delivered (never refunded)."""
    rates = fee_rates()
    labels = dict(FeeCode.choices)
    number = loss_number_of(document)
    late = _reported_late(document)
    codes: list[str] = []
    if document.kind == DocumentKind.NATIONAL_ID_CARD:
        codes.append(id_card_loss_fee_code(number))
    else:
        codes.append(CERTIFICATE_FEES[document.kind])
    if late:
        codes.append(FeeCode.LATE_REPORT)
    if method == ReceiveMethod.DELIVERY:
        codes.append(FeeCode.DELIVERY)
    lines = tuple(
        FeeLine(code=code, label=str(labels[code]), amount=rates[code], refundable=code != FeeCode.DELIVERY)
        for code in codes
    )
    return FeeQuote(lines=lines, loss_number=number, reported_late=late)


# --- A person's requests ------------------------------------------------------------------------------


def replacement_get_for_person(*, person: Person, reference: str) -> Replacement:
    """The person's request with this reference, or NotFound (missing or someone else's alike)."""
    replacement = (
        Replacement.objects.filter(applicant=person, reference=str(reference)[:12])
        .select_related(
            "applicant",
            "document",
            "document__holder",
            "document__issuing_office",
            "office",
            "delivery_address",
            "loss_report",
        )
        .first()
    )
    if replacement is None:
        raise NotFound(errors.REPLACEMENT_NOT_FOUND, _("This request was not found."))
    return replacement


def replacement_for_idempotency_key(*, person: Person, idempotency_key: str) -> Replacement | None:
    """The person's request submitted with this idempotency key, if any (a form sent twice)."""
    if not idempotency_key:
        return None
    return Replacement.objects.filter(applicant=person, idempotency_key=str(idempotency_key)[:64]).first()


def replacement_ids_applied_by(*, person: Person) -> list[int]:
    """The ids of every request `person` applied for (their own documents, or their family's)."""
    return list(Replacement.objects.filter(applicant=person).values_list("pk", flat=True))


def replacements_for_person(*, person: Person) -> list[Replacement]:
    """The person's requests, newest first."""
    return list(
        Replacement.objects.filter(applicant=person)
        .select_related("document", "document__holder")
        .order_by("-submitted_at", "-id")
    )


@dataclass(frozen=True)
class TimelineEntry:
    action: str
    label: str
    state: str
    at: dt.datetime
    office: object | None
    detail: dict[str, object]


@dataclass(frozen=True)
class UpcomingStep:
    state: str
    label: str
    # The day the document is promised by, on the step that makes it ready (None: not known).
    expected_on: dt.date | None = None


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]  # newest first
    upcoming: list[UpcomingStep]  # in the order they will happen
    expected: Expected  # the promise, read from the same steps


def upcoming_states(*, state: str, method: str) -> list[str]:
    """The steps still to come from `state` on the usual path of `method` (none once ended)."""
    if state in ENDED_STATES:
        return []
    if state == S.RETURNED_TO_OFFICE:
        return [S.READY_FOR_COLLECTION, S.COLLECTED]
    path = DELIVERY_PATH if method == ReceiveMethod.DELIVERY else COLLECTION_PATH
    if state not in path:
        return []
    return list(path[path.index(state) + 1 :])


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


def replacement_timeline(*, replacement: Replacement) -> Timeline:
    """Every step so far, newest first, with its place, and the steps still to come (the step
    that makes the document ready carries the promised day, see expected.py)."""
    labels = dict(ReplacementState.choices)
    kind = replacement.document.kind
    entries = [
        TimelineEntry(
            action=event.action,
            label=step_label(
                kind=kind,
                state=event.state if event.action == "biometrics_captured" else "",
                default=str(ACTION_LABELS.get(event.action, labels.get(event.state, event.action))),
            ),
            state=event.state,
            at=event.at,
            office=event.office,
            detail=dict(event.detail or {}),
        )
        for event in replacement.events.select_related("office").order_by("-at", "-id")
    ]
    expected = expected_from_steps(
        kind=kind, method=replacement.method, steps=((entry.state, entry.at) for entry in entries)
    )
    expected_on = expected.on
    # The step the promise is about: delivered, or ready for collection at the office.
    promised_step = S.DELIVERED if replacement.method == ReceiveMethod.DELIVERY else S.READY_FOR_COLLECTION
    upcoming = [
        UpcomingStep(
            state=state,
            label=step_label(kind=kind, state=state, default=str(labels[state])),
            expected_on=expected_on if state == promised_step else None,
        )
        for state in upcoming_states(state=replacement.state, method=replacement.method)
    ]
    return Timeline(entries=entries, upcoming=upcoming, expected=expected)


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
