"""The scheduler process: a pass of the minute jobs at the start of every period, until stopped.

Run as many as you like (one per machine, or two replicas in Kubernetes for availability): each
job still runs once a period (casework/scheduler.py). SIGTERM or Ctrl-C lets the current job end,
then stops; `--passes N` stops after N passes (the rehearsal and the tests use it).
"""

from __future__ import annotations

import random
import signal
import threading
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hawiya.casework.management.commands.run_periodic import periodic_jobs
from hawiya.casework.scheduler import jobs_run_due, period_of, period_seconds
from hawiya.core import clock


class Command(BaseCommand):
    help = "Run the periodic jobs every period until stopped (each job once a period in all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--passes", type=int, default=0, help="stop after this many passes (0: run until stopped)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        passes = 0
        while not stopping.is_set():
            period = period_of(clock.now())
            report = jobs_run_due(periodic_jobs())
            if options["verbosity"] >= 2:
                # One line a pass, for the operator (and the rehearsal, which counts runs a period).
                ran = ",".join(sorted(report.ran)) or "-"
                self.stdout.write(
                    f"period {period} ran {ran} skipped {len(report.skipped)} failed {len(report.failed)}"
                )
                self.stdout.flush()
            passes += 1
            if options["passes"] and passes >= options["passes"]:
                break
            # Wake just after the next period starts; the jitter spreads the schedulers' claims.
            length = period_seconds()
            jitter = random.uniform(0.05, 1.0)  # noqa: S311 (spreading the claims, not a secret)
            stopping.wait(length - time.time() % length + jitter)
