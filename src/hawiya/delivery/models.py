"""Shipments: a printed document on its way by courier to the holder's national address.

States are docs/design.md §4's: `awaiting_pickup` → `picked_up` → `out_for_delivery` → `delivered`, or
`failed_attempt` (then out for delivery again) and, after the second failure, `returned` to the
office. Moves happen only in services.py; every courier update is kept as a `ShipmentEvent`,
unique per courier event id, so a resent update is recognised and answered as the first time.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hawiya.core.models import TimeStamped
from hawiya.registry.regions import Region


class ShipmentState(models.TextChoices):
    AWAITING_PICKUP = "awaiting_pickup", _("Awaiting pickup")
    PICKED_UP = "picked_up", _("Picked up")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    FAILED_ATTEMPT = "failed_attempt", _("Delivery attempt failed")
    RETURNED = "returned", _("Returned to the office")


# A shipment in one of these states is over; one shipment per request may be open at a time.
SHIPMENT_ENDED_STATE_VALUES: tuple[str, ...] = ("delivered", "returned")

# Each failed attempt counts; at this many the card goes back to the office.
MAX_FAILED_ATTEMPTS = 2


class ShipmentEventKind(models.TextChoices):
    """What a courier may tell us (the `type` of the courier API's event)."""

    PICKED_UP = "picked_up", _("Picked up")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    FAILED_ATTEMPT = "failed_attempt", _("Delivery attempt failed")


class FailureReason(models.TextChoices):
    """Why a delivery attempt failed: the courier gives one code; the holder is told it in words."""

    NOBODY_HOME = "nobody_home", _("nobody was at the address")
    ADDRESS_NOT_FOUND = "address_not_found", _("the address could not be found")
    HOLDER_UNREACHABLE = "holder_unreachable", _("the holder did not answer the phone")
    NO_HANDOVER_CODE = "no_handover_code", _("the handover code was not given")
    REFUSED = "refused", _("the delivery was refused")
    OTHER = "other", _("another reason")


class AnnounceState(models.TextChoices):
    """Whether the courier's system has been told about the shipment (tasks.shipment_announce)."""

    PENDING = "pending", _("Not yet announced")
    ANNOUNCED = "announced", _("Announced")
    FAILED = "failed", _("Announcing failed")


class Shipment(TimeStamped):
    """One trip of a printed document to the national address (at most one open per request)."""

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    replacement = models.ForeignKey(
        "replacements.Replacement",
        on_delete=models.PROTECT,
        related_name="shipments",
        verbose_name=_("replacement request"),
    )
    # The office that issued the document: where it goes back after two failed attempts.
    office = models.ForeignKey(
        "registry.Office",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("office"),
    )
    state = models.CharField(
        _("status"), max_length=20, choices=ShipmentState.choices, default=ShipmentState.AWAITING_PICKUP
    )
    failed_attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    # The national address as it was when the shipment was made: a later change of address does
    # not redirect a card already in transit.
    building_number = models.CharField(_("building number"), max_length=4)
    street_ar = models.CharField(_("street (Arabic)"), max_length=120)
    street_en = models.CharField(_("street (English)"), max_length=120)
    district_ar = models.CharField(_("district (Arabic)"), max_length=80)
    district_en = models.CharField(_("district (English)"), max_length=80)
    city_ar = models.CharField(_("city (Arabic)"), max_length=80)
    city_en = models.CharField(_("city (English)"), max_length=80)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices)
    postal_code = models.CharField(_("postal code"), max_length=5)
    additional_number = models.CharField(_("additional number"), max_length=4)
    unit_number = models.CharField(_("unit number"), max_length=10, blank=True)
    short_address = models.CharField(_("short address"), max_length=8)
    # The courier's side.
    courier_reference = models.CharField(_("courier's tracking number"), max_length=64, blank=True)
    announce_state = models.CharField(
        _("announced to the courier"),
        max_length=12,
        choices=AnnounceState.choices,
        default=AnnounceState.PENDING,
    )
    announce_attempts = models.PositiveSmallIntegerField(_("announce attempts"), default=0)
    announce_next_attempt_at = models.DateTimeField(_("next announce attempt"), null=True, blank=True)
    announce_error = models.CharField(_("announce error"), max_length=64, blank=True)
    announced_at = models.DateTimeField(_("announced at"), null=True, blank=True)
    picked_up_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    out_for_delivery_at = models.DateTimeField(_("out for delivery at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(fields=["state", "created_at"], name="shipment_state_idx"),
            models.Index(fields=["announce_state", "announce_next_attempt_at"], name="shipment_announce_idx"),
        )
        constraints = (
            models.UniqueConstraint(
                fields=["replacement"],
                condition=~Q(state__in=list(SHIPMENT_ENDED_STATE_VALUES)),
                name="shipment_one_open_per_request",
                violation_error_message=_("This request already has a shipment on its way."),
            ),
            models.CheckConstraint(
                condition=Q(failed_attempts__lte=MAX_FAILED_ATTEMPTS), name="shipment_failed_attempts_bounded"
            ),
            models.CheckConstraint(
                condition=Q(
                    state__in=[
                        "awaiting_pickup",
                        "picked_up",
                        "out_for_delivery",
                        "delivered",
                        "failed_attempt",
                        "returned",
                    ]
                ),
                name="shipment_state_known",
            ),
        )

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.state not in SHIPMENT_ENDED_STATE_VALUES


class ShipmentEvent(models.Model):
    """One update the courier sent (or the demo courier page made). Never changed.

    `event_id` is the courier's own id of the update: the same id again is a resend. The body's
    SHA-256 tells a true resend (same body: the first answer again) from a reuse of the id for
    something else (refused).
    """

    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="events", verbose_name=_("shipment")
    )
    event_id = models.CharField(_("courier's event id"), max_length=64)
    kind = models.CharField(_("type"), max_length=20, choices=ShipmentEventKind.choices)
    # When it happened, as the courier says (shown on the timeline); received_at is our clock.
    at = models.DateTimeField(_("at"))
    reason = models.CharField(_("reason"), max_length=24, choices=FailureReason.choices, blank=True)
    reason_text = models.CharField(_("reason, in words"), max_length=200, blank=True)
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64)
    # The shipment's state after this update: the answer a resend gets again.
    state_after = models.CharField(_("status after"), max_length=20, choices=ShipmentState.choices)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("shipment event")
        verbose_name_plural = _("shipment events")
        ordering = ("received_at", "id")
        constraints = (
            models.UniqueConstraint(fields=["shipment", "event_id"], name="shipment_event_id_unique"),
        )

    def __str__(self) -> str:
        return f"{self.shipment_id} {self.kind} {self.event_id}"
