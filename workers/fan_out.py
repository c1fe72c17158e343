"""A job that splits its work into child jobs, so that workers in other processes (or
on other hosts) run them side by side, and collects their results.

The parent never waits on a child that no worker has taken: it runs such a child
itself (runner.execute, the same claim under a lease as any worker), and waits only on
children another worker is running. So a fan-out cannot deadlock when every worker
thread holds a parent, and on one worker it still finishes, one child after another.
A child whose worker died has to run alone in its process (workers.gate), so a parent
running inside a worker leaves it to the worker the sweeper's re-send reaches, and
lets go of its process's gate while it only waits, so that worker may be this one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime
from typing import Any

from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.side_by_side import start_detached
from workers import runner
from workers.gate import GATE, holding
from workers.outbox import enqueue
from workers.runner import JobContext, PermanentFailure
from workers.status import JobStatus
from workers.tables import Job

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
# How long a child the parent could run itself waits for a worker of its own before
# the parent starts it beside the one it runs: long enough for its message to reach an
# idle worker, short against a child's work.
TAKE_OVER_SECONDS = 1.0


async def children(ctx: JobContext, kind: str, payloads: list[dict[str, Any]]) -> list[int]:
    """The child jobs of `ctx`'s job, one per payload (each given `parent`: the job's
    id). A child an earlier attempt of the parent enqueued is reused, whatever its
    state, so a retried parent neither enqueues nor runs any child twice. The
    transaction holds the parent's row (JobContext.hold): an attempt that lost its
    lease enqueues nothing."""
    ids = []
    async with unit_of_work():
        await ctx.hold()
        for payload in payloads:
            full = {**payload, "parent": ctx.job_id}
            existing = (
                await Job.select(Job.id)
                .where((Job.kind == kind) & (Job.payload == json.dumps(full, sort_keys=True)))
                .first()
                .run()
            )
            if existing is not None:
                ids.append(existing["id"])
            else:
                ids.append(await enqueue(kind, full, created_by=ctx.actor))
    return ids


async def results(ctx: JobContext, child_ids: list[int]) -> list[dict[str, Any]]:
    """Each child's result, in order, once all are done. Runs here, side by side on
    this process's loop, the children there are to take (not taken yet, due for a
    retry, or their worker's lease expired; of those that must run alone, none while
    the parent is a job of this process): the first at once, others beside it only
    once the children have had TAKE_OVER_SECONDS to reach workers of their own (a
    child that becomes takeable later, by a retry or an expired lease, is no longer
    new to the workers: it is taken at once). Waits for the children other
    workers run, reporting their mean progress as the parent's. A child that failed for
    good fails the parent for good, with its error (after the children running here
    have finished: each is a job of its own, with its own effect)."""
    here: dict[int, asyncio.Task[None]] = {}
    since = time.monotonic()
    shown = -1
    try:
        while True:
            rows = await _children(child_ids)
            for number, child in enumerate(child_ids, 1):
                if rows[child]["status"] == JobStatus.FAILED:
                    raise PermanentFailure(
                        f"part {number} of {len(child_ids)} (job {child}) failed: "
                        f"{rows[child]['error']}"
                    )
            if all(rows[c]["status"] == JobStatus.DONE for c in child_ids):
                return [json.loads(rows[c]["result"] or "{}") for c in child_ids]
            now = utcnow()
            alone_possible = not holding()
            for child in child_ids:
                running = [c for c, task in here.items() if not task.done()]
                waited = time.monotonic() - since >= TAKE_OVER_SECONDS
                takeable = child not in running and _takeable(rows[child], now, alone_possible)
                if takeable and (not running or waited):
                    here[child] = start_detached(runner.execute(child, ctx.lease_seconds))
            progress = sum(rows[c]["progress"] for c in child_ids) // len(child_ids)
            if progress != shown:
                await ctx.progress(progress)
                shown = progress
            if any(not task.done() for task in here.values()):
                await asyncio.sleep(POLL_SECONDS)
            else:
                async with GATE.parked():
                    await asyncio.sleep(POLL_SECONDS)
    finally:
        outcomes = await asyncio.gather(*here.values(), return_exceptions=True)
        for child, outcome in zip(here, outcomes, strict=True):
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                log.error(
                    "job %s: running child %s here failed", ctx.job_id, child, exc_info=outcome
                )


async def _children(child_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = (
        await Job.select(
            Job.id,
            Job.status,
            Job.result,
            Job.error,
            Job.progress,
            Job.not_before,
            Job.lease_expires_at,
            Job.deaths,
        )
        .where(Job.id.is_in(child_ids))
        .run()
    )
    return {r["id"]: r for r in rows}


def _takeable(row: dict[str, Any], now: datetime, alone_possible: bool) -> bool:
    """Whether the parent may run the child now; one that must run alone (it died
    once, or its worker just died) only when the parent runs in no job of its own."""
    if row["status"] == JobStatus.PENDING:
        due = row["not_before"] is None or row["not_before"] <= now
        return due and (row["deaths"] == 0 or alone_possible)
    expires = row["lease_expires_at"]
    abandoned = row["status"] == JobStatus.RUNNING and expires is not None and expires < now
    return abandoned and alone_possible
