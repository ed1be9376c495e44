"""Steps of a replacement request that span payments, appointments and the request itself.

payments, appointments and delivery are siblings that may not import one another (docs/design.md §3),
so a step that touches several of them lives here, one layer up, and runs in one transaction:
either every part happens or none does (ADR 0007).
"""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from hawiya.appointments.services.citizen import appointment_cancel_for_replacement
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.payments.models import BillState
from hawiya.payments.services import bill_cancel, bill_issue, bill_locked_for_replacement, bill_refund_fine
from hawiya.registry.models import Person
from hawiya.replacements import errors as replacement_errors
from hawiya.replacements.fees import format_amount
from hawiya.replacements.models import CANCELLABLE_STATES, Replacement, ReplacementState
from hawiya.replacements.services import replacement_move, replacement_submit

# The audit trail keeps short strings only (audit.services.MAX_DETAIL_STRING).
MAX_REASON = 120
# Both steps here are taken by the applicant: the audit rows say so.
CITIZEN = "citizen"


def replacement_apply(
    *,
    applicant: Person,
    document_id: int,
    method: str,
    photo: UploadedFile | None,
    white_background_declared: bool,
    address_confirmed: bool,
    mobile_confirmed: bool,
    idempotency_key: str,
    at: dt.datetime | None = None,
    actor: str,
    ip: str | None,
) -> Replacement:
    """Submit a replacement request and make it payable: a bill when it costs something, else
    straight to `paid` (a first loss collected at an office is free).

    One transaction: a request never exists without its bill. The same idempotency key returns
    the same request (and `bill_issue` the same bill). Raises what `replacement_submit` raises.
    """
    with transaction.atomic():
        replacement = replacement_submit(
            applicant=applicant,
            document_id=document_id,
            method=method,
            photo=photo,
            white_background_declared=white_background_declared,
            address_confirmed=address_confirmed,
            mobile_confirmed=mobile_confirmed,
            idempotency_key=idempotency_key,
            at=at,
            actor=actor,
            ip=ip,
        )
        if replacement.state != ReplacementState.AWAITING_PAYMENT:
            return replacement  # a replay of a request that has moved on
        if replacement.total_sar > 0:
            bill_issue(replacement_id=replacement.pk, at=at, actor=actor, actor_role=CITIZEN, ip=ip)
        else:
            replacement = replacement_move(
                replacement_id=replacement.pk,
                to=ReplacementState.PAID,
                action="no_fee",
                at=at,
                actor=actor,
                actor_role=CITIZEN,
                ip=ip,
                expected_from=frozenset({ReplacementState.AWAITING_PAYMENT}),
            )
    return replacement


def _not_found() -> NotFound:
    return NotFound(replacement_errors.REPLACEMENT_NOT_FOUND, _("This request was not found."))


def _not_cancellable(replacement: Replacement) -> ApplicationError:
    return ApplicationError(
        replacement_errors.REPLACEMENT_STATE_CONFLICT,
        _("This request is now “%(state)s”, so it can no longer be cancelled.")
        % {"state": replacement.get_state_display()},
    )


def replacement_cancel(
    *, replacement_id: int, applicant: Person, reason: str, actor: str, ip: str | None
) -> Replacement:
    """The applicant cancels their request before processing starts (awaiting payment, paid,
    or appointment booked).

    Releases the appointment's place, closes an unpaid bill, or marks a paid one
    `refund_pending` for its fines (the delivery fee is kept), and moves the request to
    `cancelled` with an SMS, in one transaction that calls no outside system. The gateway is
    asked for the refund by a worker once the cancellation has committed (ADR 0007), so a
    rollback refunds nothing and a slow gateway holds no lock. Someone else's request is
    NotFound; a request past those states is ApplicationError `replacement_state_conflict`.
    """
    reason = (reason or "").strip()[:MAX_REASON]
    with transaction.atomic():
        replacement = Replacement.objects.filter(pk=replacement_id, applicant=applicant).first()
        if replacement is None:
            raise _not_found()
        if replacement.state not in CANCELLABLE_STATES:
            raise _not_cancellable(replacement)
        # Lock order as everywhere: the bill, then the request (payment callbacks do the same).
        bill = bill_locked_for_replacement(replacement_id=replacement.pk)
        replacement = Replacement.objects.select_for_update(of=("self",)).get(pk=replacement.pk)
        if replacement.state not in CANCELLABLE_STATES:
            raise _not_cancellable(replacement)
        appointment_cancel_for_replacement(
            replacement_id=replacement.pk, actor=actor, actor_role=CITIZEN, ip=ip
        )
        refunded = None
        if bill is not None and bill.state == BillState.ISSUED:
            bill_cancel(replacement_id=replacement.pk, actor=actor, actor_role=CITIZEN, ip=ip)
        elif bill is not None and bill.state == BillState.PAID:
            bill = bill_refund_fine(replacement_id=replacement.pk, actor=actor, actor_role=CITIZEN, ip=ip)
            refunded = bill.refund_requested_sar if bill.state == BillState.REFUND_PENDING else None
        detail: dict[str, object] = {}
        if refunded:
            detail["refunded_sar"] = str(refunded)
        replacement = replacement_move(
            replacement_id=replacement.pk,
            to=ReplacementState.CANCELLED,
            action="cancelled",
            actor=actor,
            actor_role=CITIZEN,
            ip=ip,
            reason=reason,
            detail=detail,
            notify_template="replacement_cancelled_refund" if refunded else "replacement_cancelled",
            notify_context={"amount": format_amount(refunded)} if refunded else {},
            expected_from=CANCELLABLE_STATES,
        )
    return replacement
