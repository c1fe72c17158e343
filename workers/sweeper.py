"""Re-sends jobs whose message was lost or whose worker died.

Many sweepers may run (one per worker process and API process): each re-send is
claimed by a conditional UPDATE of sent_at, so one sweeper wins each job per round.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from kernel.clock import utcnow
from workers.outbox import dispatch
from workers.status import JobStatus
from workers.tables import Job

log = logging.getLogger(__name__)


def _due(now: datetime, resend_after: timedelta) -> Any:
    not_sent_recently = Job.sent_at.is_null() | (Job.sent_at < now - resend_after)
    pending = (Job.status == JobStatus.PENDING) & (
        Job.not_before.is_null() | (Job.not_before <= now)
    )
    abandoned = (Job.status == JobStatus.RUNNING) & (Job.lease_expires_at < now)
    return not_sent_recently & (pending | abandoned)


async def sweep_once(resend_after_seconds: float, limit: int = 500) -> list[int]:
    """Returns the ids it re-sent."""
    now = utcnow()
    resend_after = timedelta(seconds=resend_after_seconds)
    candidates = await (
        Job.select(Job.id).where(_due(now, resend_after)).order_by(Job.id).limit(limit).run()
    )
    sent: list[int] = []
    for row in candidates:
        won = (
            await Job.update({Job.sent_at: now})
            .where((Job.id == row["id"]) & _due(now, resend_after))
            .returning(Job.id)
            .run()
        )
        if won:
            await dispatch(row["id"])
            sent.append(row["id"])
    if sent:
        log.info("sweeper re-sent %d job(s): %s", len(sent), sent[:20])
    return sent
