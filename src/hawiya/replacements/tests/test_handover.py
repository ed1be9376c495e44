"""Handover codes: six digits sent by SMS, stored only as a keyed hash, consumed once, bound to a
purpose, expiring, locked after five wrong tries, and replaced by a newer code."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.notifications.models import SmsMessage
from hawiya.replacements.handover import (
    HANDOVER_CODE_EXPIRED,
    HANDOVER_CODE_INVALID,
    HANDOVER_CODE_LOCKED,
    HANDOVER_CODE_USED,
    MAX_ATTEMPTS,
    HandoverCodeRejected,
    handover_code_issue,
    handover_code_verify,
)
from hawiya.replacements.models import HandoverCode, HandoverPurpose, Replacement

from .factories import applicant_with_address, handover_code_sent, lost_id_card, submit

pytestmark = pytest.mark.django_db

COLLECTION = HandoverPurpose.COLLECTION.value
DELIVERY = HandoverPurpose.DELIVERY.value


def a_request() -> Replacement:
    person = applicant_with_address(mobile="+966551112233")
    return submit(applicant=person, document=lost_id_card(holder=person))


def issue(replacement: Replacement, purpose: str = COLLECTION) -> str:
    handover_code_issue(
        replacement_id=replacement.pk, purpose=purpose, actor=Actor.staff(1, role="officer", office_code="")
    )
    return handover_code_sent(replacement.pk)


def verify(replacement: Replacement, code: str, purpose: str = COLLECTION, *, delegate: bool = False) -> None:
    handover_code_verify(
        replacement_id=replacement.pk,
        code=code,
        purpose=purpose,
        actor=Actor.staff(1, role="officer", office_code=""),
        delegate=delegate,
    )


def a_wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_issue_sends_a_secret_sms_and_stores_only_a_hash() -> None:
    replacement = a_request()

    code = issue(replacement)

    message = SmsMessage.objects.get(
        subject_ref=f"replacement:{replacement.pk}", template="handover_code_collection"
    )
    assert message.is_secret
    assert message.to == "+966551112233"
    assert message.expires_at is not None
    stored = HandoverCode.objects.get(replacement=replacement)
    assert stored.purpose == COLLECTION
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64
    assert stored.expires_at - clock.now() > dt.timedelta(days=29)
    audit = AuditEvent.objects.filter(action="handover_code.issued").get()
    assert audit.detail["person_id"] == replacement.document.holder_id
    assert code not in str(audit.detail)


def test_the_delivery_code_lives_seven_days_and_names_the_courier() -> None:
    replacement = a_request()

    issue(replacement, DELIVERY)

    stored = HandoverCode.objects.get(replacement=replacement)
    assert dt.timedelta(days=6) < stored.expires_at - clock.now() <= dt.timedelta(days=7)
    assert SmsMessage.objects.filter(template="handover_code_delivery", is_secret=True).count() == 1


def test_the_right_code_is_consumed_once() -> None:
    replacement = a_request()
    code = issue(replacement)

    verify(replacement, code, delegate=True)

    stored = HandoverCode.objects.get(replacement=replacement)
    assert stored.used_at is not None
    assert stored.used_by_delegate
    with pytest.raises(HandoverCodeRejected) as caught:
        verify(replacement, code)
    assert caught.value.code == HANDOVER_CODE_USED
    assert AuditEvent.objects.filter(action="handover_code.used").count() == 1


def test_eastern_digits_and_spaces_are_accepted() -> None:
    replacement = a_request()
    code = issue(replacement)
    eastern = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))

    verify(replacement, f" {eastern[:3]} {eastern[3:]} ")

    assert HandoverCode.objects.get(replacement=replacement).used_at is not None


def test_a_wrong_code_is_refused_and_counted() -> None:
    replacement = a_request()
    code = issue(replacement)

    with pytest.raises(HandoverCodeRejected) as caught:
        verify(replacement, a_wrong_code(code))

    assert caught.value.code == HANDOVER_CODE_INVALID
    assert caught.value.status_code == 422
    stored = HandoverCode.objects.get(replacement=replacement)
    assert stored.attempts == 1
    assert stored.used_at is None
    rejected = AuditEvent.objects.get(action="handover_code.rejected")
    assert rejected.detail["reason"] == HANDOVER_CODE_INVALID
    assert code not in str(rejected.detail)


def test_five_wrong_tries_lock_the_code_even_for_the_right_one() -> None:
    replacement = a_request()
    code = issue(replacement)
    reasons = []
    for _try in range(MAX_ATTEMPTS):
        with pytest.raises(HandoverCodeRejected) as caught:
            verify(replacement, a_wrong_code(code))
        reasons.append(caught.value.code)

    with pytest.raises(HandoverCodeRejected) as caught:
        verify(replacement, code)

    assert reasons == [HANDOVER_CODE_INVALID] * (MAX_ATTEMPTS - 1) + [HANDOVER_CODE_LOCKED]
    assert caught.value.code == HANDOVER_CODE_LOCKED
    assert HandoverCode.objects.get(replacement=replacement).used_at is None


def test_a_new_code_after_a_lock_works() -> None:
    replacement = a_request()
    first = issue(replacement)
    for _try in range(MAX_ATTEMPTS):
        with pytest.raises(HandoverCodeRejected):
            verify(replacement, a_wrong_code(first))

    second = issue(replacement)
    verify(replacement, second)

    assert HandoverCode.objects.filter(replacement=replacement, used_at__isnull=False).count() == 1


def test_a_new_code_invalidates_the_old_one() -> None:
    replacement = a_request()
    old = issue(replacement)
    new = issue(replacement)
    if old == new:  # one chance in a million: draw again so the test means something
        new = issue(replacement)

    with pytest.raises(HandoverCodeRejected) as caught:
        verify(replacement, old)

    assert caught.value.code == HANDOVER_CODE_INVALID
    codes = HandoverCode.objects.filter(replacement=replacement).order_by("id")
    assert [c.invalidated_at is not None for c in codes] == [True] * (len(codes) - 1) + [False]
    verify(replacement, new)


def test_an_expired_code_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    replacement = a_request()
    code = issue(replacement, DELIVERY)
    later = timezone.now() + dt.timedelta(days=7, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)

    with pytest.raises(HandoverCodeRejected) as caught:
        verify(replacement, code, DELIVERY)

    assert caught.value.code == HANDOVER_CODE_EXPIRED
    assert HandoverCode.objects.get(replacement=replacement).used_at is None


def test_a_code_for_the_other_purpose_is_refused() -> None:
    replacement = a_request()
    code = issue(replacement, DELIVERY)

    with pytest.raises(HandoverCodeRejected) as caught:
        verify(replacement, code, COLLECTION)

    assert caught.value.code == HANDOVER_CODE_INVALID
    verify(replacement, code, DELIVERY)


def test_no_code_issued_is_refused() -> None:
    replacement = a_request()

    with pytest.raises(HandoverCodeRejected) as caught:
        verify(replacement, "123456")

    assert caught.value.code == HANDOVER_CODE_INVALID


def test_the_code_is_hashed_per_row() -> None:
    first, second = a_request(), a_request()
    issue(first)
    issue(second)
    one = HandoverCode.objects.get(replacement=first)
    two = HandoverCode.objects.get(replacement=second)

    assert one.nonce != two.nonce
    assert one.code_hash != two.code_hash


def test_an_issue_that_rolls_back_sends_nothing() -> None:
    replacement = a_request()

    def step_that_fails() -> None:
        with transaction.atomic():
            handover_code_issue(
                replacement_id=replacement.pk,
                purpose=COLLECTION,
                actor=Actor.staff(1, role="officer", office_code=""),
            )
            raise RuntimeError("the caller's step failed")

    with pytest.raises(RuntimeError):
        step_that_fails()

    assert not HandoverCode.objects.filter(replacement=replacement).exists()
    assert not SmsMessage.objects.filter(template="handover_code_collection").exists()


def test_a_caller_that_keeps_the_documented_pattern_keeps_the_count() -> None:
    replacement = a_request()
    code = issue(replacement)

    def caller() -> None:
        failure: HandoverCodeRejected | None = None
        with transaction.atomic():
            try:
                verify(replacement, a_wrong_code(code))
            except HandoverCodeRejected as exc:
                failure = exc
        if failure is not None:
            raise failure

    with pytest.raises(HandoverCodeRejected):
        caller()

    assert HandoverCode.objects.get(replacement=replacement).attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_wrong_try_outside_a_transaction_is_committed() -> None:
    replacement = a_request()
    code = issue(replacement)

    with pytest.raises(HandoverCodeRejected):
        verify(replacement, a_wrong_code(code))

    # Read on a fresh transaction: the count was committed before the error left.
    with transaction.atomic():
        assert HandoverCode.objects.get(replacement=replacement).attempts == 1


def test_at_most_six_codes_a_day_so_resending_cannot_buy_unlimited_guesses() -> None:
    from hawiya.core.errors import ApplicationError
    from hawiya.replacements.handover import MAX_CODES_PER_DAY

    replacement = a_request()
    codes = [issue(replacement) for _ in range(MAX_CODES_PER_DAY)]
    messages = SmsMessage.objects.count()
    with pytest.raises(ApplicationError) as caught:
        issue(replacement)
    assert caught.value.code == "handover_code_too_many"
    assert SmsMessage.objects.count() == messages
    verify(replacement, codes[-1])  # the last code sent still works
    assert HandoverCode.objects.filter(replacement=replacement).count() == MAX_CODES_PER_DAY
