"""The approval rules called directly: the citizen's answers (right number, wrong number, deny),
expiry, another person's request, the audit trail, and two concurrent requests for one person."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection

from hawiya.approvals import errors
from hawiya.approvals.models import ApprovalRequest, ApprovalStatus
from hawiya.approvals.selectors import approvals_waiting_for
from hawiya.approvals.services import approval_answer, approvals_expire_due, draw_numbers
from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.errors import ApplicationError
from hawiya.core.testing import outcome, pin_clock, race
from hawiya.identity.tests.factories import make_account, person_of

from .helpers import ask, register


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.HAWIYA_APPROVALS_RATE_LIMIT = 1000
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


def _answer(user: Any, row: ApprovalRequest, number: int | None) -> ApprovalRequest:
    return approval_answer(actor=Actor.citizen(user.pk), user=user, approval_id=row.public_id, number=number)


def _wrong(row: ApprovalRequest) -> int:
    return next(number for number in row.choices if number != row.number)


def test_the_numbers_are_two_digits_distinct_and_hold_the_right_one() -> None:
    seen_positions = set()
    for _ in range(200):
        number, shown = draw_numbers()
        assert len(shown) == len(set(shown)) == 3
        assert number in shown
        assert all(10 <= one <= 99 for one in shown)
        seen_positions.add(shown.index(number))
    # The right number is not always in the same place.
    assert seen_positions == {0, 1, 2}


@pytest.mark.django_db
def test_the_right_number_completes_and_is_audited() -> None:
    party, _secret = register()
    user = make_account()
    row = ask(party, person_of(user).id_number)
    assert [one.pk for one in approvals_waiting_for(user=user)] == [row.pk]
    ended = _answer(user, row, row.number)
    assert ended.status == ApprovalStatus.COMPLETED
    assert ended.decided_at is not None
    assert approvals_waiting_for(user=user) == []
    event = AuditEvent.objects.filter(action="approvals.completed").get()
    assert (event.object_id, event.actor) == (str(row.pk), f"user:{user.pk}")
    assert AuditEvent.objects.filter(action="approvals.requested", object_id=str(row.pk)).exists()


@pytest.mark.django_db
def test_a_wrong_number_rejects_for_good() -> None:
    party, _secret = register()
    user = make_account()
    row = ask(party, person_of(user).id_number)
    assert _answer(user, row, _wrong(row)).status == ApprovalStatus.REJECTED
    with pytest.raises(ApplicationError) as caught:
        _answer(user, row, row.number)
    assert caught.value.code == errors.NOT_WAITING
    assert ApprovalRequest.objects.get(pk=row.pk).status == ApprovalStatus.REJECTED
    event = AuditEvent.objects.get(action="approvals.rejected")
    assert event.detail["reason"] == "wrong_number"


@pytest.mark.django_db
def test_deny_rejects() -> None:
    party, _secret = register()
    user = make_account()
    row = ask(party, person_of(user).id_number)
    assert _answer(user, row, None).status == ApprovalStatus.REJECTED
    assert AuditEvent.objects.get(action="approvals.rejected").detail["reason"] == "denied"


@pytest.mark.django_db
def test_after_three_minutes_it_expires_and_cannot_be_approved(monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = pin_clock(monkeypatch, clock.now())
    party, _secret = register()
    user = make_account()
    row = ask(party, person_of(user).id_number)
    pinned.advance(minutes=2, seconds=59)
    assert approvals_waiting_for(user=user) != []
    pinned.advance(seconds=1)
    assert approvals_waiting_for(user=user) == []
    ended = _answer(user, row, row.number)
    assert ended.status == ApprovalStatus.EXPIRED
    assert ended.decided_at == row.expires_at
    assert AuditEvent.objects.get(action="approvals.expired").actor == "system:approvals.expiry"


@pytest.mark.django_db
def test_the_sweep_expires_what_nobody_read(monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = pin_clock(monkeypatch, clock.now())
    party, _secret = register()
    rows = [ask(party, person_of(make_account()).id_number) for _ in range(2)]
    assert approvals_expire_due() == 0
    pinned.advance(minutes=3)
    assert approvals_expire_due() == 2
    assert {row.status for row in ApprovalRequest.objects.filter(pk__in=[r.pk for r in rows])} == {"EXPIRED"}
    assert approvals_expire_due() == 0


@pytest.mark.django_db
def test_another_person_cannot_see_or_answer_it() -> None:
    party, _secret = register()
    owner, stranger = make_account(), make_account()
    row = ask(party, person_of(owner).id_number)
    assert approvals_waiting_for(user=stranger) == []
    with pytest.raises(ApplicationError) as caught:
        _answer(stranger, row, row.number)
    assert caught.value.code == errors.NOT_FOUND
    assert caught.value.status_code == 404
    # Nor may anyone answer for the owner.
    with pytest.raises(ApplicationError):
        approval_answer(
            actor=Actor.citizen(stranger.pk), user=owner, approval_id=row.public_id, number=row.number
        )
    assert ApprovalRequest.objects.get(pk=row.pk).status == ApprovalStatus.WAITING


@pytest.mark.django_db
def test_only_a_party_allowed_the_scope_may_ask() -> None:
    status_only, _secret = register(scopes=("openid", "document_status"))
    user = make_account()
    with pytest.raises(ApplicationError) as caught:
        ask(status_only, person_of(user).id_number)
    assert caught.value.code == errors.FORBIDDEN
    assert not ApprovalRequest.objects.exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent writers on separate connections; SQLite serialises all writers",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_one_person_one_waits_the_others_are_409(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The waiting requests are what is counted here, not the requests per ten minutes.
    monkeypatch.setattr("hawiya.approvals.limits.PERSON_LIMIT", 100)
    party, _secret = register()
    others = [register(name=f"Bank {index}")[0] for index in range(5)]
    user = make_account()
    id_number = person_of(user).id_number

    # The same party, eight times at once: exactly one request waits.
    same = [outcome(result) for result in race([lambda: ask(party, id_number)] * 8)]
    assert sorted(same) == ["approval_pending"] * 7 + ["ok"], same

    # Five other parties at once: two more wait (three in all), the others are refused.
    def attempt(one: Any) -> Callable[[], object]:
        return lambda: ask(one, id_number)

    outcomes = [outcome(result) for result in race([attempt(one) for one in others])]
    assert sorted(outcomes) == ["approvals_pending_for_person"] * 3 + ["ok"] * 2, outcomes
    assert ApprovalRequest.objects.filter(user=user, status="WAITING").count() == 3


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent writers on separate connections; SQLite serialises all writers",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_an_id_number_without_account_one_waits() -> None:
    party, _secret = register()
    outcomes = [outcome(result) for result in race([lambda: ask(party, "1999999999")] * 6)]
    assert sorted(outcomes) == ["approval_pending"] * 5 + ["ok"], outcomes
