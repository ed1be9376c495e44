"""run_periodic: the clock-driven jobs run together, and one failing job does not stop the rest."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hawiya.casework.management.commands import run_periodic
from hawiya.core import clock
from hawiya.payments.models import BillState
from hawiya.payments.tests.factories import make_bill
from hawiya.replacements.models import ReplacementState

pytestmark = pytest.mark.django_db


def test_an_unpaid_bill_past_72_hours_is_expired_by_the_periodic_run() -> None:
    bill = make_bill(at=clock.now() - dt.timedelta(hours=72, minutes=1))
    fresh = make_bill(at=clock.now() - dt.timedelta(hours=71))

    call_command("run_periodic", verbosity=0)

    bill.refresh_from_db()
    fresh.refresh_from_db()
    assert bill.state == BillState.EXPIRED
    assert bill.replacement.state == ReplacementState.EXPIRED
    assert fresh.state == BillState.ISSUED


def test_one_failing_job_does_not_stop_the_others(monkeypatch: Any) -> None:
    bill = make_bill(at=clock.now() - dt.timedelta(hours=73))
    jobs = run_periodic.periodic_jobs()

    def broken() -> int:
        raise RuntimeError("operator down")

    # The failing job runs first; the bill job after it must still run.
    monkeypatch.setattr(run_periodic, "periodic_jobs", lambda: {"broken": broken, **jobs})

    with pytest.raises(CommandError, match="broken"):
        call_command("run_periodic", verbosity=0)

    bill.refresh_from_db()
    assert bill.state == BillState.EXPIRED
