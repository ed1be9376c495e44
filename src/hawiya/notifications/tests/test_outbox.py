"""The outbox helper (core.outbox) on a real table: lease, attempt, back off, give up, sweep. The
rows are SMS messages (the lowest app with an outbox), driven by an outbox built here, so what is
tested is the helper itself; the three workers' own tests cover their wiring."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from hawiya.core.outbox import Claim, Outbox, RetryPolicy
from hawiya.core.testing import PinnedClock, pin_clock
from hawiya.notifications.models import SmsMessage

from .factories import queue_notice

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
POLICY = RetryPolicy(
    max_attempts=3, first_backoff=dt.timedelta(seconds=10), backoff_factor=3, lease=dt.timedelta(minutes=2)
)
Status = SmsMessage.Status


class Recorder:
    """The caller's hooks: what giving up and retrying would write, and the hand-overs."""

    def __init__(self) -> None:
        self.given_up: list[tuple[str, bool]] = []
        self.enqueued: list[tuple[int, dt.datetime]] = []

    def give_up(self, message: SmsMessage, reason: str, permanent: bool) -> None:
        self.given_up.append((reason, permanent))
        message.status = Status.FAILED
        message.last_error_code = reason
        message.next_attempt_at = None
        message.save(update_fields=["status", "last_error_code", "next_attempt_at"])

    def retry(self, message: SmsMessage, reason: str) -> list[str]:
        message.status = Status.QUEUED
        message.last_error_code = reason
        return ["status", "last_error_code"]

    def enqueue(self, pk: int, run_after: dt.datetime) -> None:
        self.enqueued.append((pk, run_after))


def outbox(*, in_flight: bool = False, expires: bool = False) -> Outbox[SmsMessage]:
    return Outbox(
        policy=POLICY,
        noun="SMS message",
        lock=lambda pk: SmsMessage.objects.select_for_update().filter(pk=pk).first(),
        attempts_field="attempts",
        due_field="next_attempt_at",
        state_field="status",
        is_open=lambda message: not message.is_finished,
        is_in_flight=(lambda message: message.status == Status.SENDING) if in_flight else None,
        expires_at=(lambda message: message.expires_at) if expires else None,
        on_retry=_unexpected,
        retry_later=_unexpected,
        label=lambda message: f"SMS {message.reference}",
    )


def _unexpected(*args: object) -> list[str]:
    raise AssertionError("a retry the test did not expect")


def sending(message: SmsMessage, now: dt.datetime) -> list[str]:
    message.status = Status.SENDING
    return ["status"]


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    return pin_clock(monkeypatch, START)


@pytest.fixture
def hooks() -> Recorder:
    return Recorder()


def fail(
    box: Outbox[SmsMessage],
    claim: Claim[SmsMessage],
    hooks: Recorder,
    capture: Callable[..., Any],
    *,
    permanent: bool = False,
) -> str:
    with capture(execute=True):
        recording = dataclasses.replace(box, on_retry=hooks.retry, retry_later=hooks.enqueue)
        return recording.record_failure(
            claim.row.pk, claim, "partner_unavailable_503", permanent=permanent, give_up=hooks.give_up
        )


def test_the_backoff_grows_by_the_factor() -> None:
    assert [POLICY.backoff(n).total_seconds() for n in range(0, 5)] == [10, 10, 30, 90, 270]


def test_a_claim_counts_the_attempt_and_takes_the_lease(pinned: PinnedClock, hooks: Recorder) -> None:
    message = queue_notice()
    claim = outbox().claim(message.pk, give_up=hooks.give_up, on_claim=sending)
    assert claim is not None
    assert claim.attempt == 1
    message.refresh_from_db()
    assert (message.attempts, message.status) == (1, Status.SENDING)
    assert message.next_attempt_at == START + POLICY.lease


@pytest.mark.parametrize("in_flight", [False, True])
def test_a_lease_not_yet_expired_is_not_taken_again(
    pinned: PinnedClock, hooks: Recorder, in_flight: bool
) -> None:
    box = outbox(in_flight=in_flight)
    message = queue_notice()
    assert box.claim(message.pk, give_up=hooks.give_up, on_claim=sending) is not None
    pinned.advance(seconds=POLICY.lease.total_seconds() - 5)
    assert box.claim(message.pk, give_up=hooks.give_up, on_claim=sending) is None
    message.refresh_from_db()
    assert message.attempts == 1
    # Once the lease has run out, the next worker takes it: attempt 2.
    pinned.advance(seconds=5)
    retaken = box.claim(message.pk, give_up=hooks.give_up, on_claim=sending)
    assert retaken is not None
    assert retaken.attempt == 2
    assert hooks.given_up == []


def test_an_in_flight_lease_is_honoured_to_the_second_and_a_backoff_within_the_tolerance(
    pinned: PinnedClock, hooks: Recorder
) -> None:
    message = queue_notice()
    soon = START + dt.timedelta(seconds=1)  # due within the early tolerance (2 s)
    SmsMessage.objects.filter(pk=message.pk).update(status=Status.SENDING, attempts=1, next_attempt_at=soon)
    assert outbox(in_flight=True).claim(message.pk, give_up=hooks.give_up) is None  # a live lease
    SmsMessage.objects.filter(pk=message.pk).update(status=Status.QUEUED)
    claim = outbox(in_flight=True).claim(message.pk, give_up=hooks.give_up)  # a backoff about done
    assert claim is not None
    assert claim.attempt == 2


def test_a_failure_backs_off_and_hands_the_retry_over_after_commit(
    pinned: PinnedClock, hooks: Recorder, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    box = outbox()
    message = queue_notice()
    claim = box.claim(message.pk, give_up=hooks.give_up, on_claim=sending)
    assert claim is not None
    assert fail(box, claim, hooks, django_capture_on_commit_callbacks) == Status.QUEUED
    message.refresh_from_db()
    assert message.next_attempt_at == START + POLICY.backoff(1)
    assert message.last_error_code == "partner_unavailable_503"
    assert hooks.enqueued == [(message.pk, START + POLICY.backoff(1))]


def test_it_gives_up_after_the_last_attempt_and_never_claims_again(
    pinned: PinnedClock, hooks: Recorder, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    box = outbox()
    message = queue_notice()
    for attempt in range(1, POLICY.max_attempts + 1):
        claim = box.claim(message.pk, give_up=hooks.give_up, on_claim=sending)
        assert claim is not None
        assert claim.attempt == attempt
        outcome = fail(box, claim, hooks, django_capture_on_commit_callbacks)
        pinned.advance(hours=1)
    assert outcome == Status.FAILED
    assert hooks.given_up == [("partner_unavailable_503", False)]
    assert len(hooks.enqueued) == POLICY.max_attempts - 1
    assert box.claim(message.pk, give_up=hooks.give_up) is None  # settled: left alone
    message.refresh_from_db()
    assert message.attempts == POLICY.max_attempts


def test_a_worker_lost_on_the_last_attempt_is_given_up_at_the_next_claim(
    pinned: PinnedClock, hooks: Recorder
) -> None:
    message = queue_notice()
    SmsMessage.objects.filter(pk=message.pk).update(attempts=POLICY.max_attempts, next_attempt_at=START)
    assert outbox().claim(message.pk, give_up=hooks.give_up) is None
    assert hooks.given_up == [("attempts_exhausted", False)]


def test_a_permanent_failure_gives_up_at_once(
    pinned: PinnedClock, hooks: Recorder, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    box = outbox()
    message = queue_notice()
    claim = box.claim(message.pk, give_up=hooks.give_up)
    assert claim is not None
    assert fail(box, claim, hooks, django_capture_on_commit_callbacks, permanent=True) == Status.FAILED
    assert hooks.given_up == [("partner_unavailable_503", True)]
    assert hooks.enqueued == []


def test_a_stale_claims_failure_is_not_recorded(
    pinned: PinnedClock, hooks: Recorder, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    box = outbox()
    message = queue_notice()
    first = box.claim(message.pk, give_up=hooks.give_up)
    pinned.advance(minutes=3)  # the lease ran out and another worker took the message
    second = box.claim(message.pk, give_up=hooks.give_up)
    assert first is not None
    assert second is not None
    assert fail(box, first, hooks, django_capture_on_commit_callbacks) == "stale"
    message.refresh_from_db()
    assert (message.attempts, message.last_error_code, hooks.enqueued) == (2, "", [])


def test_a_row_past_its_use_is_given_up_not_sent_nor_retried_too_late(
    pinned: PinnedClock, hooks: Recorder, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    box = outbox(expires=True)
    gone, closing = queue_notice(), queue_notice()
    SmsMessage.objects.filter(pk=gone.pk).update(expires_at=START)
    assert box.claim(gone.pk, give_up=hooks.give_up) is None
    SmsMessage.objects.filter(pk=closing.pk).update(expires_at=START + dt.timedelta(seconds=5))
    claim = box.claim(closing.pk, give_up=hooks.give_up)
    assert claim is not None  # still of use now, but not after a 10 s backoff
    assert fail(box, claim, hooks, django_capture_on_commit_callbacks) == Status.FAILED
    assert hooks.given_up == [("expired_before_send", False), ("partner_unavailable_503", False)]


@pytest.mark.parametrize("rearm", [False, True])
def test_the_sweep_picks_expired_leases_oldest_first_and_leaves_live_ones(
    pinned: PinnedClock, hooks: Recorder, rearm: bool
) -> None:
    grace = dt.timedelta(minutes=2)
    lost, older, live, never = queue_notice(), queue_notice(), queue_notice(), queue_notice()
    for message, due in (
        (lost, START - grace - dt.timedelta(seconds=1)),  # a worker died with the lease
        (older, START - dt.timedelta(hours=1)),  # a hand-over lost long ago
        (live, START - grace + dt.timedelta(seconds=1)),  # overdue, but within the grace
        (never, None),
    ):
        SmsMessage.objects.filter(pk=message.pk).update(status=Status.SENDING, next_attempt_at=due)
    SmsMessage.objects.filter(pk=never.pk).update(status=Status.SENT)
    handed: list[int] = []
    swept = outbox().sweep(
        SmsMessage.objects.filter(status__in=[Status.QUEUED, Status.SENDING]),
        enqueue=handed.append,
        now=START,
        grace=grace,
        rearm=rearm,
    )
    assert swept == handed == [older.pk, lost.pk]
    lost.refresh_from_db()
    assert lost.next_attempt_at == (START if rearm else START - grace - dt.timedelta(seconds=1))


def test_the_sweep_honours_its_limit_and_locked_sweeps_hand_over_after_commit(
    pinned: PinnedClock, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    first, second = queue_notice(), queue_notice()
    SmsMessage.objects.filter(pk=first.pk).update(next_attempt_at=START - dt.timedelta(minutes=2))
    SmsMessage.objects.filter(pk=second.pk).update(next_attempt_at=START - dt.timedelta(minutes=1))
    handed: list[int] = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        swept = outbox().sweep(
            SmsMessage.objects.all(), enqueue=handed.append, now=START, skip_locked=True, limit=1
        )
        assert handed == []  # not before the commit
    assert swept == handed == [first.pk]
    assert len(callbacks) == 1


def test_an_outbox_without_its_own_give_up_needs_one_from_the_call(pinned: PinnedClock) -> None:
    message = queue_notice()
    with pytest.raises(TypeError, match="give_up"):
        outbox().claim(message.pk)
