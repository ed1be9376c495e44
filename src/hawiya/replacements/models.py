"""A replacement request (طلب بدل فاقد): a person's application for a new version of a document
that was reported lost, its fee, how it is received, and the timeline of every step.

States and the moves between them are the shared vocabulary of docs/design.md §4: the citizen's
timeline, the back-office and the APIs all use these words. Moves happen only in services.py.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.models import TimeStamped


class ReplacementState(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    APPOINTMENT_BOOKED = "appointment_booked", _("Appointment booked")
    CHECKED_IN = "checked_in", _("Checked in")
    BIOMETRICS_CAPTURED = "biometrics_captured", _("Biometrics captured")
    APPROVED = "approved", _("Approved")
    PRINTED = "printed", _("Printed")
    DISPATCHED = "dispatched", _("Dispatched")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    RETURNED_TO_OFFICE = "returned_to_office", _("Returned to the office")
    READY_FOR_COLLECTION = "ready_for_collection", _("Ready for collection")
    COLLECTED = "collected", _("Collected")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


S = ReplacementState
# A request in one of these states is over; any other is open (one open request per document).
ENDED_STATES = frozenset({S.COLLECTED, S.DELIVERED, S.REJECTED, S.CANCELLED, S.EXPIRED})
# The same, in a fixed order: iterating a frozenset of strings changes order between processes
# (hash randomisation), which would make makemigrations see a changed constraint every run.
ENDED_STATE_VALUES: tuple[str, ...] = ("cancelled", "rejected", "expired", "delivered", "collected")
# "Cancelling before processing starts": the citizen may cancel only in these.
CANCELLABLE_STATES = frozenset({S.AWAITING_PAYMENT, S.PAID, S.APPOINTMENT_BOOKED})

# States in which an officer may still reject a request (before the new document is printed).
REJECTABLE_STATES = frozenset({S.PAID, S.APPOINTMENT_BOOKED, S.CHECKED_IN, S.BIOMETRICS_CAPTURED, S.APPROVED})


def _moves(forward: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """`forward` plus the early ends every method shares: cancelled from CANCELLABLE_STATES,
    rejected from REJECTABLE_STATES, expired from awaiting_payment (only states the path visits)."""
    moves = {state: set(targets) for state, targets in forward.items()}
    for state, targets in moves.items():
        if state in CANCELLABLE_STATES:
            targets.add(S.CANCELLED)
        if state in REJECTABLE_STATES:
            targets.add(S.REJECTED)
    moves[S.AWAITING_PAYMENT].add(S.EXPIRED)
    return {state: frozenset(targets) for state, targets in moves.items()}


# Every allowed move, by how the document is received (docs/design.md §4). A state a method never
# visits allows nothing: a collection request is never dispatched, a delivered one never checked in.
COLLECTION_MOVES: dict[str, frozenset[str]] = _moves(
    {
        S.AWAITING_PAYMENT: frozenset({S.PAID}),
        S.PAID: frozenset({S.APPOINTMENT_BOOKED}),
        # Back to paid when the appointment is cancelled (the request waits for a new booking).
        S.APPOINTMENT_BOOKED: frozenset({S.CHECKED_IN, S.PAID}),
        S.CHECKED_IN: frozenset({S.BIOMETRICS_CAPTURED}),
        S.BIOMETRICS_CAPTURED: frozenset({S.APPROVED}),
        S.APPROVED: frozenset({S.PRINTED}),
        S.PRINTED: frozenset({S.READY_FOR_COLLECTION}),
        S.READY_FOR_COLLECTION: frozenset({S.COLLECTED}),
    }
)
DELIVERY_MOVES: dict[str, frozenset[str]] = _moves(
    {
        S.AWAITING_PAYMENT: frozenset({S.PAID}),
        S.PAID: frozenset({S.APPROVED}),
        S.APPROVED: frozenset({S.PRINTED}),
        S.PRINTED: frozenset({S.DISPATCHED}),
        # After failed attempts the courier returns it; the person then collects it at the office.
        S.DISPATCHED: frozenset({S.OUT_FOR_DELIVERY, S.RETURNED_TO_OFFICE}),
        S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.RETURNED_TO_OFFICE}),
        S.RETURNED_TO_OFFICE: frozenset({S.READY_FOR_COLLECTION}),
        S.READY_FOR_COLLECTION: frozenset({S.COLLECTED}),
    }
)


def allowed_moves(method: str, state: str) -> frozenset[str]:
    """The states a request received by `method` may move to from `state` (none once ended)."""
    if method == ReceiveMethod.COLLECTION:
        return COLLECTION_MOVES.get(state, frozenset())
    if method == ReceiveMethod.DELIVERY:
        return DELIVERY_MOVES.get(state, frozenset())
    return frozenset()


class ReceiveMethod(models.TextChoices):
    COLLECTION = "collection", _("Collect at a civil-affairs office")
    DELIVERY = "delivery", _("Delivery to my national address")


class FeeCode(models.TextChoices):
    ID_CARD_LOSS_1 = "id_card_loss_1", _("National ID card, 1st loss")
    ID_CARD_LOSS_2 = "id_card_loss_2", _("National ID card, 2nd loss")
    ID_CARD_LOSS_3 = "id_card_loss_3", _("National ID card, 3rd loss")
    ID_CARD_LOSS_4_PLUS = "id_card_loss_4_plus", _("National ID card, 4th loss and later")
    LATE_REPORT = "late_report", _("Loss reported more than 15 days after it happened")
    BIRTH_CERTIFICATE = "birth_certificate", _("Birth certificate replacement")
    DEATH_CERTIFICATE = "death_certificate", _("Death certificate replacement")
    FAMILY_RECORD = "family_record", _("Family record replacement")
    DELIVERY = "delivery", _("Delivery to the national address (not refundable)")


class FeeRate(models.Model):
    """One configurable amount of the fee schedule (the admin edits these; code reads them)."""

    code = models.CharField(_("fee"), max_length=24, choices=FeeCode.choices, unique=True)
    amount_sar = models.DecimalField(
        _("amount (SAR)"), max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("fee rate")
        verbose_name_plural = _("fee schedule")
        ordering = ("code",)
        constraints = (models.CheckConstraint(condition=Q(amount_sar__gte=0), name="fee_rate_not_negative"),)

    def __str__(self) -> str:
        return f"{self.get_code_display()}: {self.amount_sar} SAR"


class Replacement(TimeStamped):
    """One application for a new version of a lost document."""

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    # Who applied: the holder, or the head of family for the family record and minor children's
    # certificates. Every page and API checks ownership against this person.
    applicant = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="replacements", verbose_name=_("applicant")
    )
    # The version that was lost; the new version is linked once issued.
    document = models.ForeignKey(
        "registry.Document",
        on_delete=models.PROTECT,
        related_name="replacements",
        verbose_name=_("lost document"),
    )
    loss_report = models.ForeignKey(
        "losses.LossReport",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replacements",
        verbose_name=_("loss report"),
    )
    new_document = models.OneToOneField(
        "registry.Document",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="issued_by_replacement",
        verbose_name=_("new document"),
    )
    method = models.CharField(_("how it is received"), max_length=12, choices=ReceiveMethod.choices)
    state = models.CharField(
        _("status"),
        max_length=24,
        choices=ReplacementState.choices,
        default=ReplacementState.AWAITING_PAYMENT,
    )
    # Collection: the office chosen for the visit. Delivery: the office that issues and ships.
    office = models.ForeignKey(
        "registry.Office",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replacements",
        verbose_name=_("office"),
    )
    delivery_address = models.ForeignKey(
        "registry.NationalAddress",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("delivery address"),
    )
    # Which loss of this kind of document this is for the holder (1st, 2nd…), from the register.
    loss_number = models.PositiveSmallIntegerField(_("loss number"), default=1)
    reported_late = models.BooleanField(_("reported late"), default=False)
    # The fee as explained to the person when they submitted: [{"code", "amount_sar", "refundable"}].
    fee_lines = models.JSONField(_("fee lines"), default=list)
    total_sar = models.DecimalField(_("total (SAR)"), max_digits=9, decimal_places=2, default=Decimal(0))
    photo = models.ImageField(_("photo"), upload_to="replacement-photos/%Y/%m/", blank=True)
    photo_white_background_declared = models.BooleanField(_("white background declared"), default=False)
    address_confirmed_at = models.DateTimeField(_("address confirmed at"), null=True, blank=True)
    mobile_confirmed_at = models.DateTimeField(_("mobile confirmed at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=clock.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("reason"), max_length=500, blank=True, default="")
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64)

    class Meta:
        verbose_name = _("replacement request")
        verbose_name_plural = _("replacement requests")
        ordering = ("-submitted_at", "-id")
        indexes = (models.Index(fields=["applicant", "-submitted_at"], name="replacement_applicant_idx"),)
        constraints = (
            # One open request per lost document: a double submit or a second tab finds the first.
            models.UniqueConstraint(
                fields=["document"],
                condition=~Q(state__in=list(ENDED_STATE_VALUES)),
                name="replacement_one_open_per_document",
                violation_error_message=_("This document already has an open replacement request."),
            ),
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"], name="replacement_idempotency_key_unique"
            ),
            models.CheckConstraint(condition=Q(total_sar__gte=0), name="replacement_total_not_negative"),
            models.CheckConstraint(
                condition=~Q(method="delivery")
                | Q(delivery_address__isnull=False)
                | Q(state__in=["cancelled", "expired", "rejected"]),
                name="replacement_delivery_has_address",
            ),
        )

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.state not in ENDED_STATES

    @property
    def is_cancellable(self) -> bool:
        return self.state in CANCELLABLE_STATES


class ReplacementEvent(models.Model):
    """One entry of the request's timeline: what happened, when, where. Never changed."""

    replacement = models.ForeignKey(
        Replacement, on_delete=models.CASCADE, related_name="events", verbose_name=_("replacement request")
    )
    # A stable code of what happened ("submitted", "paid", "appointment_moved"…).
    action = models.CharField(_("action"), max_length=40)
    # The request's state after this step.
    state = models.CharField(_("status"), max_length=24, choices=ReplacementState.choices)
    at = models.DateTimeField(_("at"), default=clock.now)
    office = models.ForeignKey(
        "registry.Office",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("place"),
    )
    # Non-identifying details for the timeline (e.g. the appointment time, a rejection reason).
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ("at", "id")
        indexes = (models.Index(fields=["replacement", "at"], name="replacement_event_idx"),)

    def __str__(self) -> str:
        return f"{self.replacement_id} {self.action}"


class HandoverPurpose(models.TextChoices):
    COLLECTION = "collection", _("Collection at the office")
    DELIVERY = "delivery", _("Delivery at the door")


class HandoverCode(TimeStamped):
    """A one-time handover code (رمز التسليم): the holder reads it to the officer at the counter or
    to the courier at the door, and only then is the new document handed over.

    Only a keyed hash of the six digits is stored (see handover.py). At most one code of a request
    is live at a time: issuing a new one invalidates the earlier ones. A live code is consumed once
    (`used_at`), expires (`expires_at`), and is locked after too many wrong tries (`attempts`).
    """

    replacement = models.ForeignKey(
        Replacement,
        on_delete=models.CASCADE,
        related_name="handover_codes",
        verbose_name=_("replacement request"),
    )
    purpose = models.CharField(_("purpose"), max_length=12, choices=HandoverPurpose.choices)
    # A random value the hash is bound to: equal codes of two requests never share a hash.
    nonce = models.CharField(_("nonce"), max_length=64, unique=True)
    code_hash = models.CharField(_("code hash"), max_length=64)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    # Set when the code was read by the holder's delegate rather than the holder.
    used_by_delegate = models.BooleanField(_("used by a delegate"), default=False)
    # Set when a newer code of the request replaced this one before it was used.
    invalidated_at = models.DateTimeField(_("invalidated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("handover code")
        verbose_name_plural = _("handover codes")
        ordering = ("-created_at", "-id")
        constraints = (
            models.UniqueConstraint(
                fields=["replacement"],
                condition=Q(used_at__isnull=True, invalidated_at__isnull=True),
                name="handover_code_one_live_per_request",
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=["collection", "delivery"]), name="handover_code_purpose_known"
            ),
        )

    def __str__(self) -> str:
        return f"{self.replacement_id} {self.purpose}"
