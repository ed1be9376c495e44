"""Bills (SADAD-style invoices for a replacement request's fee) and the gateway's callbacks.

A bill is issued when a request with a fee is submitted and must be paid within 72 hours; the
gateway tells us about payments through signed callbacks, each verified one kept (one row per
gateway event, with its body's hash), so a replayed callback is recognised and changes nothing.
A paid bill whose request is cancelled waits in `refund_pending` until a worker has refunded the
fine through the gateway (ADR 0007); a refund the worker could not settle ends `refund_failed` (the
gateway refused it) or `refund_unknown` (the gateway may have paid it).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock

# An unpaid bill expires this long after it was issued, and its request with it.
PAY_WITHIN = dt.timedelta(hours=72)
BILL_NUMBER_DIGITS = 12


class BillState(models.TextChoices):
    ISSUED = "issued", _("Awaiting payment")
    PAID = "paid", _("Paid")
    EXPIRED = "expired", _("Expired")
    # The request was cancelled before the bill was paid: it can no longer be paid.
    CANCELLED = "cancelled", _("Cancelled")
    # Cancelled after payment: the fine is to be paid back; a worker asks the gateway after the
    # cancellation has committed (payments.tasks.refund_fine), never inside its transaction.
    REFUND_PENDING = "refund_pending", _("Fine being refunded")
    # The fines were paid back after a cancellation; the delivery fee is kept.
    REFUNDED = "refunded", _("Fine refunded")
    # The gateway refused the refund outright (a definite answer, nothing was paid): the finance
    # team pays it back by hand (the admin filters on this state).
    REFUND_FAILED = "refund_failed", _("Refund failed")
    # The retries ran out after time-outs, outages or a worker lost mid-call: the gateway may have
    # paid. Finance asks the gateway about the idempotency key `refund-<bill number>` first and
    # pays by hand only if it made no refund, never straight away (that could pay twice).
    REFUND_UNKNOWN = "refund_unknown", _("Refund outcome unknown")


# States in which the bill was paid (paid_at is set).
PAID_STATES = frozenset(
    {
        BillState.PAID,
        BillState.REFUND_PENDING,
        BillState.REFUNDED,
        BillState.REFUND_FAILED,
        BillState.REFUND_UNKNOWN,
    }
)
# A refund the worker has given up on; finance settles it by hand (see the state's help text).
REFUND_GIVEN_UP_STATES = frozenset({BillState.REFUND_FAILED, BillState.REFUND_UNKNOWN})


class Bill(models.Model):
    """What a replacement request costs, as a bill the person pays once, through the gateway."""

    bill_number = models.CharField(_("bill number"), max_length=BILL_NUMBER_DIGITS, unique=True)
    replacement = models.OneToOneField(
        "replacements.Replacement",
        on_delete=models.PROTECT,
        related_name="bill",
        verbose_name=_("replacement request"),
    )
    # Copied from the request when the bill is issued: [{"code", "amount_sar", "refundable"}].
    lines = models.JSONField(_("lines"), default=list)
    amount_sar = models.DecimalField(_("amount (SAR)"), max_digits=9, decimal_places=2)
    # The fines (refunded on a cancellation before processing); the delivery fee never is.
    refundable_sar = models.DecimalField(
        _("refundable (SAR)"), max_digits=9, decimal_places=2, default=Decimal(0)
    )
    state = models.CharField(
        _("status"),
        max_length=16,
        choices=BillState.choices,
        default=BillState.ISSUED,
        help_text=_(
            "Refund failed: the gateway refused the refund, so nothing was paid back; pay it by hand. "
            "Refund outcome unknown: the gateway stopped answering, so it may have paid. Look up the "
            "refund with the key refund-<bill number> at the gateway first, and pay by hand only if "
            "it made none."
        ),
    )
    issued_at = models.DateTimeField(_("issued at"), default=clock.now)
    expires_at = models.DateTimeField(_("pay before"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    gateway_payment_id = models.CharField(_("gateway payment id"), max_length=64, blank=True, default="")
    refunded_sar = models.DecimalField(
        _("refunded (SAR)"), max_digits=9, decimal_places=2, default=Decimal(0)
    )
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    gateway_refund_id = models.CharField(_("gateway refund id"), max_length=64, blank=True, default="")
    # The refund asked for on a cancellation (the fines), while it is pending, done or failed.
    refund_requested_sar = models.DecimalField(
        _("refund requested (SAR)"), max_digits=9, decimal_places=2, default=Decimal(0)
    )
    refund_requested_at = models.DateTimeField(_("refund requested at"), null=True, blank=True)
    refund_attempts = models.PositiveSmallIntegerField(_("refund attempts"), default=0)
    # When the refund worker may try (again): the backoff after a failure, or the lease of the
    # worker trying now. The sweeper (refunds_retry_due) hands over pending refunds past it.
    refund_next_attempt_at = models.DateTimeField(_("next refund attempt"), null=True, blank=True)
    refund_error = models.CharField(_("last refund error"), max_length=64, blank=True, default="")
    # Money arrived that we must give back by hand (a payment after expiry or cancellation, or a
    # second payment of the same bill): the finance team works through these in the admin.
    refund_due = models.BooleanField(_("refund due"), default=False)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ("-issued_at", "-id")
        indexes = (
            models.Index(fields=["state", "expires_at"], name="bill_state_expiry_idx"),
            models.Index(
                fields=["refund_next_attempt_at"],
                condition=Q(state="refund_pending"),
                name="bill_refund_pending_idx",
            ),
        )
        constraints = (
            models.CheckConstraint(condition=Q(amount_sar__gt=0), name="bill_amount_positive"),
            models.CheckConstraint(
                condition=Q(refundable_sar__gte=0) & Q(refundable_sar__lte=models.F("amount_sar")),
                name="bill_refundable_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(refunded_sar__gte=0) & Q(refunded_sar__lte=models.F("refundable_sar")),
                name="bill_refund_within_refundable",
            ),
            models.CheckConstraint(
                condition=~Q(
                    state__in=["paid", "refund_pending", "refunded", "refund_failed", "refund_unknown"]
                )
                | Q(paid_at__isnull=False),
                name="bill_paid_has_time",
            ),
            models.CheckConstraint(
                condition=Q(refund_requested_sar__gte=0)
                & Q(refund_requested_sar__lte=models.F("refundable_sar")),
                name="bill_refund_request_within_refundable",
            ),
        )

    def __str__(self) -> str:
        return self.bill_number

    @property
    def is_payable(self) -> bool:
        """Issued and not yet past its deadline (the sweeper may not have run yet)."""
        return self.state == BillState.ISSUED and clock.now() < self.expires_at


class CallbackStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")


class CallbackOutcome(models.TextChoices):
    APPLIED = "applied", _("Payment recorded")
    DECLINED = "declined", _("Payment declined at the gateway")
    # The bill was already paid with this payment: nothing to do.
    ALREADY_PAID = "already_paid", _("Already recorded")
    # Money for a bill that cannot be paid any more (expired, cancelled) or was already paid
    # with another payment: recorded and flagged for a refund.
    REFUND_DUE = "refund_due", _("Paid when it could not be: refund due")
    UNKNOWN_BILL = "unknown_bill", _("Rejected: unknown bill")
    AMOUNT_MISMATCH = "amount_mismatch", _("Rejected: amount does not match the bill")
    MALFORMED = "malformed", _("Rejected: malformed")
    BAD_SIGNATURE = "bad_signature", _("Rejected: signature not valid")


REJECTED_OUTCOMES = frozenset(
    {
        CallbackOutcome.UNKNOWN_BILL,
        CallbackOutcome.AMOUNT_MISMATCH,
        CallbackOutcome.MALFORMED,
        CallbackOutcome.BAD_SIGNATURE,
    }
)


class PaymentCallback(models.Model):
    """One callback from the gateway, as received. Never changed.

    Only verified callbacks are kept (a badly signed one is logged, never stored: anyone can send
    those). They are unique per gateway event id: a replay of the same event (the same bill,
    amount, status and payment, however serialised) finds the first and changes nothing; the same
    id with other fields is refused.
    """

    event_id = models.CharField(_("gateway event id"), max_length=64, blank=True, default="")
    bill = models.ForeignKey(
        Bill,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="callbacks",
        verbose_name=_("bill"),
    )
    bill_number = models.CharField(_("bill number"), max_length=32, blank=True, default="")
    amount_sar = models.DecimalField(_("amount (SAR)"), max_digits=9, decimal_places=2, null=True, blank=True)
    status = models.CharField(_("reported status"), max_length=12, blank=True, default="")
    payment_id = models.CharField(_("gateway payment id"), max_length=64, blank=True, default="")
    verified = models.BooleanField(_("signature verified"), default=False)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallbackOutcome.choices)
    # SHA-256 of the body as received, for the record. Whether a repeated event id is a replay is
    # decided on the parsed fields (bill, amount, status, payment), not on these bytes: the same
    # event re-serialised is a replay; other fields are refused (a replay would lose a payment).
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64, blank=True, default="")
    received_at = models.DateTimeField(_("received at"), default=clock.now, db_index=True)

    class Meta:
        verbose_name = _("payment callback")
        verbose_name_plural = _("payment callbacks")
        ordering = ("-received_at", "-id")
        indexes = (models.Index(fields=["bill", "-received_at"], name="payment_callback_bill_idx"),)
        constraints = (
            models.UniqueConstraint(
                fields=["event_id"],
                condition=Q(verified=True) & ~Q(event_id=""),
                name="payment_callback_event_unique",
            ),
        )

    def __str__(self) -> str:
        return self.event_id or f"callback {self.pk}"

    @property
    def is_rejected(self) -> bool:
        return self.outcome in REJECTED_OUTCOMES
