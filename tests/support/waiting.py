"""Waiting for jobs in tests by their progress, not by the clock.

A busy machine (another test run beside this one) makes every job slower, so a fixed
budget tuned to a quiet machine fails tests that are merely slow. These waiters fail
only when nothing moves: neither the watched value nor any job row (claimed, progress
reported, lease renewed, finished, retried: each write sets `updated_at`) changed for
STALL_SECONDS. CAP_SECONDS bounds a wait that keeps moving but never arrives (a job
retried forever). A running job renews its lease every third of JOB_LEASE_SECONDS, so
a stall longer than the lease means its worker, not the machine, stopped.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from piccolo.query import Max

from workers.status import JobStatus
from workers.tables import Job

T = TypeVar("T")

STALL_SECONDS = 150.0
CAP_SECONDS = 1800.0
POLL_SECONDS = 0.05
FINISHED = (JobStatus.DONE, JobStatus.FAILED)


async def jobs_fingerprint() -> tuple[Any, ...]:
    """Changes whenever any job row is inserted or written."""
    row = await Job.select(Max(Job.updated_at).as_alias("latest"), Max(Job.id).as_alias("top"))
    return (row[0]["latest"], row[0]["top"]) if row else ()


async def until(
    observe: Callable[[], Awaitable[T] | T],
    ready: Callable[[T], bool],
    what: str,
    *,
    stall_seconds: float = STALL_SECONDS,
    cap_seconds: float = CAP_SECONDS,
    poll_seconds: float = POLL_SECONDS,
    progress: Callable[[], Any] | None = jobs_fingerprint,
) -> T:
    """Polls `observe()` (a coroutine function or a plain one) until `ready` accepts
    its value, and returns that value. Raises AssertionError naming `what` and the last
    value once neither the value nor `progress()` (by default the job table's
    fingerprint; None: the value alone) changed for `stall_seconds`, or after
    `cap_seconds` in all."""
    started = last_change = time.monotonic()
    seen: Any = object()
    while True:
        value = await _call(observe)
        if ready(value):
            return value
        state = (repr(value), await _call(progress) if progress is not None else None)
        now = time.monotonic()
        if state != seen:
            seen, last_change = state, now
        elif now - last_change > stall_seconds:
            raise AssertionError(
                f"no progress for {stall_seconds:g}s waiting for {what}: {value!r}"
            )
        if now - started > cap_seconds:
            raise AssertionError(f"still waiting after {cap_seconds:g}s for {what}: {value!r}")
        await asyncio.sleep(poll_seconds)


async def _call(function: Callable[[], Any]) -> Any:
    value = function()
    return await value if inspect.isawaitable(value) else value


async def job_row(job_id: int) -> dict[str, Any]:
    return await Job.select().where(Job.id == job_id).first().run()


async def job_finished(job_id: int) -> dict[str, Any]:
    """The job's row once it is done or failed."""
    return await until(
        lambda: job_row(job_id), lambda job: job["status"] in FINISHED, f"job {job_id}"
    )


async def job_done(job_id: int) -> dict[str, Any]:
    """The job's row once done; fails at once if it failed."""
    job = await job_finished(job_id)
    assert job["status"] == JobStatus.DONE, job
    return job


async def job_result(job_id: int) -> dict[str, Any]:
    return json.loads((await job_done(job_id))["result"] or "{}")


async def api_job_finished(client: Any, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """The job as GET `url` shows it, once done or failed."""

    async def fetch() -> dict[str, Any]:
        return (await client.get(url, headers=headers)).json()

    return await until(fetch, lambda job: job.get("status") in FINISHED, f"job at {url}")
