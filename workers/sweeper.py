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


# A pending job's message may be lost, or just queued behind others (a fan-out of 50
# rendering jobs waits minutes for its turn). Re-sending a queued job at every round
# piles duplicate messages on the broker, so the wait between re-sends doubles with the
# job's age since it was due, up to this ceiling: a lost message is still re-sent.
MAX_RESEND_WAIT = timedelta(minutes=15)


def backed_off(row: dict[str, Any], now: datetime, resend_after: timedelta) -> bool:
    """Whether a pending job was re-sent too recently for its age: the wait since its
    last send must be at least as long as it had waited before that send."""
    if row["status"] != JobStatus.PENDING or row["sent_at"] is None:
        return False
    due = max(row["created_at"], row["not_before"] or row["created_at"])
    wait = min(max(resend_after, row["sent_at"] - due), MAX_RESEND_WAIT)
    return now - row["sent_at"] < wait


async def sweep_once(resend_after_seconds: float, limit: int = 500) -> list[int]:
    """Returns the ids it re-sent."""
    now = utcnow()
    resend_after = timedelta(seconds=resend_after_seconds)
    candidates: list[dict[str, Any]] = []
    after_id = 0
    while len(candidates) < limit:  # paged: backed-off jobs must not hide later ones
        rows = await (
            Job.select(Job.id, Job.status, Job.created_at, Job.not_before, Job.sent_at)
            .where(_due(now, resend_after) & (Job.id > after_id))
            .order_by(Job.id)
            .limit(limit)
            .run()
        )
        if not rows:
            break
        candidates += [row for row in rows if not backed_off(row, now, resend_after)]
        after_id = rows[-1]["id"]
    sent: list[int] = []
    for row in candidates[:limit]:
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
