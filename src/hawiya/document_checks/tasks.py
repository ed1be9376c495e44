"""The worker's side of the lost-document alarm (services.document_check_alarm).

The check's transaction enqueues `lost_document_alarm` after it commits, with the ids of its
`reported_lost` checks. Each check is alerted in its own transaction; running the task twice
alerts nobody twice (one alarm per check). The text message itself goes through the SMS outbox,
which retries and never drops it.
"""

from __future__ import annotations

import logging

from django_tasks import task

from hawiya.audit.actors import Actor

logger = logging.getLogger(__name__)


@task()
def lost_document_alarm(check_ids: list[int]) -> str:
    """Alert the holders of these checks' documents; returns "sent/asked" for the task record."""
    from . import services  # services enqueues this task: imported here, not at the top

    actor = Actor.system(services.ALARM_ACTOR_REASON)
    sent = 0
    for check_id in check_ids:
        try:
            if services.document_check_alarm(actor=actor, check_id=int(check_id)) is not None:
                sent += 1
        except Exception:
            # One failed alarm must not stop the others; the error is logged with the check's id only.
            logger.exception("lost-document alarm for check %s failed", check_id)
    return f"{sent}/{len(check_ids)}"
