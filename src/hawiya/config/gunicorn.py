"""gunicorn settings for Hawiya's web process: `gunicorn -c python:hawiya.config.gunicorn ...`.

Only what /metrics needs with several worker processes (core/metrics.py). The entry point must:

- set PROMETHEUS_MULTIPROC_DIR to a directory that is empty when the first process starts (e.g.
  `rm -rf "$DIR" && mkdir -p "$DIR"` before gunicorn and the task worker start) and give the same
  value to gunicorn, `manage.py db_worker` and `manage.py run_periodic`, so their counters add up;
- for the once-a-minute `run_periodic`, also set HAWIYA_METRICS_PROCESS_NAME=periodic, so its runs
  share one file instead of leaving one file a minute behind (never for processes that run at once).

The hook below tells prometheus_client when a worker dies (it removes that worker's live gauges;
its counters stay, as they must, and keep adding to the totals).
"""

from __future__ import annotations

import os
from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
