"""Running one job: claim it under a lease, run its handler, finish it exactly once.

A claim is one conditional UPDATE, so two deliveries of the same message (a resend by
the sweeper, a broker redelivery) cannot both run it. Every later write is guarded by
the attempt number: a worker whose lease was taken over can no longer write, and its
final transaction, which carries the job's effect, rolls back.

A job whose lease expired while it was running was being run by a process that died
(killed, out of memory) or hung: taking it over counts a death. Such a job runs alone
in its process (workers.gate), so its next death is its own and not a neighbour's: at
MAX_DEATHS it is failed and quarantined instead of run. A file that passes the door
checks but kills its worker would otherwise kill a worker at every start until its
attempts ran out. A job cut off by a graceful stop is handed back, not charged
(workers.stopping). Exceptions a handler raises keep the retry policy of
RETRY_BACKOFF_SECONDS.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kernel.clock import utcnow
from kernel.context import request_id_var
from kernel.db import unit_of_work
from kernel.errors import DomainError
from workers import kinds, stopping
from workers.gate import GATE
from workers.status import JobStatus
from workers.tables import Job

log = logging.getLogger(__name__)

LEASE_SECONDS = 120
RETRY_BACKOFF_SECONDS = (5, 30, 120, 600)
MAX_DEATHS = 2  # one death may be bad luck (a host restart); a second is the job
QUARANTINE_REASON = (
    "quarantined: the worker process died twice while running this job, the second time "
    "while running it alone (killed by a signal, out of memory, or hung); it is not run "
    "again 已隔离：工作进程两次在运行此任务时终止，第二次时只运行此任务（被信号终止、内存不足"
    "或卡死），不再运行"
)


class PermanentFailure(DomainError):
    """A failure that another attempt cannot cure (a file that cannot be read): the job
    fails at once with this message instead of retrying."""


class LeaseLost(Exception):
    """Another worker holds this job now; stop without writing."""


@dataclass
class JobContext:
    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    lease_seconds: int
    finished: bool = field(default=False)

    @property
    def actor(self) -> str:
        return f"job:{self.job_id}:{self.kind}"

    def _mine(self) -> Any:
        return (
            (Job.id == self.job_id)
            & (Job.status == JobStatus.RUNNING)
            & (Job.attempts == self.attempt)
        )

    async def progress(self, percent: int) -> None:
        """Records progress and renews the lease; raises LeaseLost if it was taken over."""
        await self._renew({Job.progress: max(0, min(99, int(percent)))})

    async def hold(self) -> None:
        """Renews the lease inside the open unit of work, which then holds the job's row
        until it ends: no other worker can take the job over between here and the
        commit. For work that commits elsewhere first (registry.outcomes.parts). Raises
        LeaseLost if another worker already has."""
        await self._renew({})

    async def _renew(self, changes: dict[Any, Any]) -> None:
        now = utcnow()
        rows = (
            await Job.update(
                {
                    **changes,
                    Job.lease_expires_at: now + timedelta(seconds=self.lease_seconds),
                    Job.updated_at: now,
                }
            )
            .where(self._mine())
            .returning(Job.id)
            .run()
        )
        if not rows:
            raise LeaseLost(self.job_id)

    @asynccontextmanager
    async def finishing(self, result: dict[str, Any] | None = None) -> AsyncIterator[None]:
        """The job's effect and its `done` mark in one transaction: both or neither."""
        async with unit_of_work():
            yield
            await self._mark_done(result)
        self.finished = True

    async def finish(self, result: dict[str, Any] | None = None) -> None:
        """Marks the job done, for handlers whose work has no effect of its own."""
        async with unit_of_work():
            await self._mark_done(result)
        self.finished = True

    async def _mark_done(self, result: dict[str, Any] | None) -> None:
        now = utcnow()
        rows = (
            await Job.update(
                {
                    Job.status: JobStatus.DONE,
                    Job.progress: 100,
                    Job.result: json.dumps(result or {}, ensure_ascii=False, sort_keys=True),
                    Job.error: None,
                    Job.finished_at: now,
                    Job.updated_at: now,
                    Job.lease_expires_at: None,
                }
            )
            .where(self._mine())
            .returning(Job.id)
            .run()
        )
        if not rows:
            raise LeaseLost(self.job_id)


async def claim(
    job_id: int, lease_seconds: int = LEASE_SECONDS, deaths: int | None = None
) -> JobContext | None:
    """Takes a pending job, or a running one whose lease has expired (its worker died:
    one more death; at MAX_DEATHS the job is quarantined, not run). With `deaths`, only
    if the job has that many once taken (what the gate was entered for); otherwise None,
    and the job's message is sent again."""
    now = utcnow()
    pending = (Job.status == JobStatus.PENDING) & (
        Job.not_before.is_null() | (Job.not_before <= now)
    )
    abandoned = (Job.status == JobStatus.RUNNING) & (Job.lease_expires_at < now)
    if deaths is not None:
        pending &= Job.deaths == deaths
        abandoned &= Job.deaths == deaths - 1
    row = await _take(job_id, pending, {}, now, lease_seconds)
    if row is None:
        row = await _take(job_id, abandoned, {Job.deaths: Job.deaths + 1}, now, lease_seconds)
    if row is None:
        return None
    ctx = JobContext(
        job_id, row["kind"], json.loads(row["payload"]), row["attempts"], lease_seconds
    )
    if row["deaths"] >= MAX_DEATHS:
        log.error("job %s (%s): %s", job_id, ctx.kind, QUARANTINE_REASON)
        await _give_up(ctx, QUARANTINE_REASON, quarantine=True)
        return None
    if row["attempts"] > row["max_attempts"]:
        await _give_up(ctx, f"gave up after {row['max_attempts']} attempts")
        return None
    return ctx


async def _take(
    job_id: int, state: Any, changes: dict[Any, Any], now: datetime, lease_seconds: int
) -> dict[str, Any] | None:
    rows = (
        await Job.update(
            {
                **changes,
                Job.status: JobStatus.RUNNING,
                Job.attempts: Job.attempts + 1,
                Job.lease_expires_at: now + timedelta(seconds=lease_seconds),
                Job.updated_at: now,
            }
        )
        .where((Job.id == job_id) & state)
        .returning(Job.kind, Job.payload, Job.attempts, Job.max_attempts, Job.deaths)
        .run()
    )
    return rows[0] if rows else None


async def execute(job_id: int, lease_seconds: int = LEASE_SECONDS) -> None:
    deaths = await _deaths_if_taken(job_id)
    if deaths is None:
        return
    async with GATE.entered(alone=1 <= deaths < MAX_DEATHS) as let_in:
        if not let_in:
            await _not_run_here(job_id)
            return
        ctx = await claim(job_id, lease_seconds, deaths)
        if ctx is None:
            return
        with stopping.tracked():
            await _run(ctx)


async def _deaths_if_taken(job_id: int) -> int | None:
    """The job's deaths once taken (a takeover counts one), or None when it cannot be
    taken now."""
    row = await (
        Job.select(Job.status, Job.deaths, Job.not_before, Job.lease_expires_at)
        .where(Job.id == job_id)
        .first()
        .run()
    )
    if row is None:
        return None
    now = utcnow()
    if row["status"] == JobStatus.PENDING and (
        row["not_before"] is None or row["not_before"] <= now
    ):
        return row["deaths"]
    expires = row["lease_expires_at"]
    if row["status"] == JobStatus.RUNNING and expires is not None and expires < now:
        return row["deaths"] + 1
    return None


async def _not_run_here(job_id: int) -> None:
    """A stop began while the job waited its turn, or it is a suspect met inside a job
    of this process: another worker takes it, sent by the next sweep."""
    await (
        Job.update({Job.sent_at: None})
        .where((Job.id == job_id) & (Job.status == JobStatus.PENDING))
        .run()
    )


async def _run(ctx: JobContext) -> None:
    token = request_id_var.set(f"job-{ctx.job_id}-{ctx.attempt}")
    heartbeat = asyncio.create_task(_keep_lease(ctx))
    try:
        result = await kinds.handler_for(ctx.kind)(ctx)
        if not ctx.finished:  # the handler had no effect to commit with its done mark
            await ctx.finish(result)
    except LeaseLost:
        log.warning(
            "job %s: lease taken over by another worker; dropped attempt %s",
            ctx.job_id,
            ctx.attempt,
        )
    except PermanentFailure as exc:
        log.warning("job %s (%s) failed for good: %s", ctx.job_id, ctx.kind, exc.message)
        await _give_up(ctx, exc.message)
    except Exception as exc:
        log.exception("job %s (%s) attempt %s failed", ctx.job_id, ctx.kind, ctx.attempt)
        await _after_failure(ctx, _public_error(exc, ctx))
    except asyncio.CancelledError:
        if not stopping.was_cut_off():
            # Cancelled otherwise (a time limit): the attempt counts; the job keeps its
            # lease and is taken over once that lapses.
            raise
        # The handler's transactions rolled back as the cancellation passed through.
        heartbeat.cancel()
        await _hand_back(ctx)
        asyncio.current_task().uncancel()  # type: ignore[union-attr]
    finally:
        heartbeat.cancel()
        request_id_var.reset(token)


async def _hand_back(ctx: JobContext) -> None:
    """Pending again, for any worker, as if this attempt had not been made: no death,
    and one more attempt allowed in place of this one (the attempt number itself only
    grows: it guards every write of an attempt)."""
    now = utcnow()
    try:
        rows = await asyncio.wait_for(
            Job.update(
                {
                    Job.status: JobStatus.PENDING,
                    Job.max_attempts: Job.max_attempts + 1,
                    Job.lease_expires_at: None,
                    Job.not_before: None,
                    Job.sent_at: None,  # the next sweep sends it again
                    Job.updated_at: now,
                }
            )
            .where(ctx._mine())
            .returning(Job.id)
            .run(),
            stopping.HAND_BACK_SECONDS,
        )
    except Exception:
        log.exception("job %s: handing it back failed; its lease will lapse", ctx.job_id)
        return
    if rows:
        log.warning("job %s (%s): cut off; handed back for another run", ctx.job_id, ctx.kind)


async def _keep_lease(ctx: JobContext) -> None:
    """Renews the lease while the handler runs, so a long step without progress
    reports is not mistaken for a dead worker. It dies with its process, and then the
    lease expires as it should. A database outage longer than the lease lets another
    worker take the job over as abandoned, though this process lives: one death, which
    costs a healthy job one run alone (workers.gate), accepted over tracking which
    processes live."""
    while not ctx.finished:
        await asyncio.sleep(ctx.lease_seconds / 3)
        try:
            await ctx._renew({})
        except LeaseLost:
            return
        except Exception:
            log.exception("job %s: renewing the lease failed; trying again", ctx.job_id)


def _public_error(exc: Exception, ctx: JobContext) -> str:
    """What the job's owner sees: domain messages whole, anything else by kind only
    (driver messages stay in the worker log, found by the request id)."""
    if isinstance(exc, DomainError):
        return exc.message
    return (
        f"internal error ({type(exc).__name__}); see log request id job-{ctx.job_id}-{ctx.attempt}"
    )


async def _after_failure(ctx: JobContext, error: str) -> None:
    job = await Job.select(Job.max_attempts).where(Job.id == ctx.job_id).first().run()
    if job and ctx.attempt >= job["max_attempts"]:
        await _give_up(ctx, error)
        return
    delay = RETRY_BACKOFF_SECONDS[min(ctx.attempt, len(RETRY_BACKOFF_SECONDS)) - 1]
    now = utcnow()
    await (
        Job.update(
            {
                Job.status: JobStatus.PENDING,
                Job.error: error[:2000],
                Job.not_before: now + timedelta(seconds=delay),
                Job.sent_at: None,  # the sweeper sends it again once not_before has passed
                Job.lease_expires_at: None,
                Job.updated_at: now,
            }
        )
        .where(ctx._mine())
        .run()
    )


async def _give_up(ctx: JobContext, error: str, *, quarantine: bool = False) -> None:
    """Marks the job failed (and quarantined) and, in the same transaction, runs its
    kind's give-up hook (an outcome report marked failed). A failing hook is logged
    and the job is marked failed without it."""
    hook = kinds.give_up_hook(ctx.kind)
    if hook is not None:
        try:
            async with unit_of_work():
                if await _mark_failed(ctx, error, quarantine):
                    await hook(ctx.payload, error)
            return
        except Exception:
            log.exception("job %s (%s): its give-up hook failed", ctx.job_id, ctx.kind)
    await _mark_failed(ctx, error, quarantine)


async def _mark_failed(ctx: JobContext, error: str, quarantine: bool = False) -> bool:
    now = utcnow()
    failed = await (
        Job.update(
            {
                Job.status: JobStatus.FAILED,
                Job.error: error[:2000],
                Job.finished_at: now,
                Job.updated_at: now,
                Job.lease_expires_at: None,
                Job.quarantined_at: now if quarantine else None,
            }
        )
        .where(ctx._mine())
        .returning(Job.id)
        .run()
    )
    return bool(failed)
