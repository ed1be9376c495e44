"""When a request's new document is expected: the promise made to the person, and whether it was kept.

- A national ID card collected at an office: **15 days after the fingerprints and photo are taken**
  (the source; `requirements.ID_CARD_READY_DAYS`), ready for collection by then.
- Any document delivered to the National Address: **the delivery estimate after printing**, the
  latest of the "3 to 5 working days" the pages state (`DELIVERY_WORKING_DAYS`), delivered by then.
- Birth and death certificates and the family record collected at an office: no promise (the
  source names none); the person is told by text message when the document is ready.

Computed from the timeline (the first entry in the anchoring state), never stored: the timeline
is the record of what happened, so the promise cannot drift from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Min, QuerySet
from django.utils.translation import gettext_lazy as _

from hawiya.core.clock import RIYADH
from hawiya.registry.models import DocumentKind

from .models import ReceiveMethod, Replacement, ReplacementEvent, ReplacementState
from .requirements import ID_CARD_READY_DAYS

S = ReplacementState
# The courier's estimate after printing: "3 to 5 working days"; the promise is the latest day.
DELIVERY_WORKING_DAYS = 5
# The Saudi weekend, as date.weekday() numbers (Friday, Saturday). Public holidays are not counted.
WEEKEND = frozenset({4, 5})
# The new document is "ready" when it can be collected, or when it is delivered.
READY_STATES: tuple[str, ...] = (S.READY_FOR_COLLECTION, S.DELIVERED)
# Longer than any promise (15 days; 5 working days are at most 7): how far back the dashboard reads.
LOOKBACK = dt.timedelta(days=ID_CARD_READY_DAYS + 7)


def add_working_days(day: dt.date, days: int) -> dt.date:
    """`days` working days after `day` (Friday and Saturday skipped)."""
    current = day
    left = days
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() not in WEEKEND:
            left -= 1
    return current


def promise_anchor(*, kind: str, method: str) -> str | None:
    """The state from which the promise runs: printing for delivery, the biometrics for an ID card
    collected at an office; None when nothing is promised."""
    if method == ReceiveMethod.DELIVERY:
        return S.PRINTED
    if kind == DocumentKind.NATIONAL_ID_CARD:
        return S.BIOMETRICS_CAPTURED
    return None


def promised_day(*, method: str, anchor_day: dt.date) -> dt.date:
    """The day the document is promised by, from the day of its anchoring step."""
    if method == ReceiveMethod.DELIVERY:
        return add_working_days(anchor_day, DELIVERY_WORKING_DAYS)
    return anchor_day + dt.timedelta(days=ID_CARD_READY_DAYS)


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(RIYADH).date()


@dataclass(frozen=True)
class Expected:
    """A request's promise: None anywhere means not (yet) known."""

    # The state the promise runs from (None: nothing is promised for this kind and method).
    anchor: str | None
    # The day promised (None until the anchoring step happened).
    on: dt.date | None
    # The day the document became ready (collectable or delivered), if it has.
    ready_on: dt.date | None

    @property
    def kept(self) -> bool | None:
        """Whether the document was ready on or before the promised day (None: not decided)."""
        if self.on is None or self.ready_on is None:
            return None
        return self.ready_on <= self.on


def _expected(*, kind: str, method: str, firsts: dict[str, dt.datetime]) -> Expected:
    anchor = promise_anchor(kind=kind, method=method)
    anchored = firsts.get(anchor) if anchor else None
    ready = [firsts[state] for state in READY_STATES if state in firsts]
    return Expected(
        anchor=anchor,
        on=promised_day(method=method, anchor_day=_day(anchored)) if anchored and anchor else None,
        ready_on=_day(min(ready)) if ready else None,
    )


# The timeline steps a promise is read from: its anchors and the ready steps.
PROMISE_STATES = (S.PRINTED, S.BIOMETRICS_CAPTURED, *READY_STATES)


def expected_from_steps(*, kind: str, method: str, steps: Iterable[tuple[str, dt.datetime]]) -> Expected:
    """The promise of a request whose timeline steps (state, moment) are already loaded."""
    firsts: dict[str, dt.datetime] = {}
    for state, at in steps:
        if state in PROMISE_STATES and (state not in firsts or at < firsts[state]):
            firsts[state] = at
    return _expected(kind=kind, method=method, firsts=firsts)


def expected_for(replacement: Replacement) -> Expected:
    """The promise of one request, read from its timeline (the timeline selector, which loads the
    steps anyway, uses `expected_from_steps` directly)."""
    steps = replacement.events.filter(state__in=PROMISE_STATES).values_list("state", "at")
    return expected_from_steps(kind=replacement.document.kind, method=replacement.method, steps=steps)


@dataclass(frozen=True)
class PromiseShare:
    """Requests whose promise was decided in a window: `kept` of `due` were ready in time."""

    kept: int
    due: int

    @property
    def missed(self) -> int:
        return self.due - self.kept

    @property
    def percent(self) -> int | None:
        return round(100 * self.kept / self.due) if self.due else None


def promise_share(
    *, replacements: QuerySet[Replacement], first_day: dt.date, last_day: dt.date
) -> PromiseShare:
    """Of `replacements`, those whose promise was decided between `first_day` and `last_day`
    (Riyadh days, both included), and how many of them were ready within their promise.

    A promise is decided on the day the document became ready, if it was in time (kept), or else
    on the promised day (missed: late, or still not ready). Requests without a promise are left out.
    Reads the timeline entries of the requests anchored since the window's start minus the longest
    promise: one grouped query, bounded by the window.
    """
    since = dt.datetime.combine(first_day - LOOKBACK, dt.time(0), tzinfo=RIYADH)
    anchored = replacements.filter(
        events__state__in=[S.PRINTED, S.BIOMETRICS_CAPTURED], events__at__gte=since
    ).values_list("pk", "document__kind", "method")
    rows: dict[int, tuple[str, str]] = {pk: (kind, method) for pk, kind, method in anchored}
    firsts: dict[int, dict[str, dt.datetime]] = {pk: {} for pk in rows}
    events: Iterable[tuple[int, str, dt.datetime]] = (
        ReplacementEvent.objects.filter(replacement_id__in=list(rows), state__in=PROMISE_STATES)
        .values("replacement_id", "state")
        .annotate(first=Min("at"))
        .order_by()
        .values_list("replacement_id", "state", "first")
    )
    for replacement_id, state, first in events:
        firsts[replacement_id][state] = first
    kept = due = 0
    for pk, (kind, method) in rows.items():
        expected = _expected(kind=kind, method=method, firsts=firsts[pk])
        if expected.on is None:
            continue
        if expected.kept:
            decided_on = expected.ready_on
        else:
            decided_on = expected.on
            if expected.ready_on is None and decided_on >= last_day:
                # Not ready and the promised day is not over yet: undecided.
                continue
        if decided_on is not None and first_day <= decided_on <= last_day:
            due += 1
            kept += 1 if expected.kept else 0
    return PromiseShare(kept=kept, due=due)


def expected_pending_text(*, kind: str, method: str) -> str:
    """What is promised before the anchoring step happened ("" when nothing is promised)."""
    anchor = promise_anchor(kind=kind, method=method)
    if anchor == S.PRINTED:
        return str(_("3 to 5 working days after the new document is printed"))
    if anchor == S.BIOMETRICS_CAPTURED:
        return str(_("15 days after your fingerprints and photo are taken at the office"))
    return ""
