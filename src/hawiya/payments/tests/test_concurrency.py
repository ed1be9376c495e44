"""Concurrent duplicate callbacks on PostgreSQL (row locks are real there; SQLite runs one writer
at a time anyway): the gateway sends the same event, or two events for one bill, at once."""

from __future__ import annotations

from functools import partial

import pytest
from django.db import connection

from hawiya.core.testing import race
from hawiya.payments.models import Bill, BillState, CallbackOutcome, PaymentCallback
from hawiya.payments.services import CallbackRejected, payment_callback_apply
from hawiya.replacements.models import ReplacementEvent

from .factories import callback_body, make_bill, signed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def _race(bodies: list[bytes]) -> list[object]:
    """The gateway's callbacks with `bodies`, sent at the same moment: each one's result or error."""
    return list(race([partial(_apply, body) for body in bodies]))


def _apply(body: bytes) -> object:
    return payment_callback_apply(body=body, signature_header=signed(body))


def test_the_same_event_sent_four_times_at_once_is_one_payment() -> None:
    bill = make_bill()
    body = callback_body(bill)
    results = _race([body] * 4)
    assert all(isinstance(result, PaymentCallback) for result in results), results
    assert PaymentCallback.objects.count() == 1
    assert Bill.objects.get(pk=bill.pk).state == BillState.PAID
    assert ReplacementEvent.objects.filter(replacement_id=bill.replacement_id, action="paid").count() == 1


def test_two_payments_of_one_bill_at_once_pay_it_once_and_flag_the_other() -> None:
    bill = make_bill()
    results = _race([callback_body(bill, payment_id="pay_a"), callback_body(bill, payment_id="pay_b")])
    outcomes = sorted(result.outcome for result in results if isinstance(result, PaymentCallback))
    assert outcomes == [CallbackOutcome.APPLIED, CallbackOutcome.REFUND_DUE]
    assert ReplacementEvent.objects.filter(replacement_id=bill.replacement_id, action="paid").count() == 1


def test_the_same_unknown_bill_event_at_once_is_recorded_once() -> None:
    body = callback_body(None, bill_number="999999999999")
    results = _race([body] * 3)
    assert all(isinstance(result, CallbackRejected) for result in results), results
    assert PaymentCallback.objects.count() == 1
