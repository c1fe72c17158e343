"""A job kind for tests: slow steps with progress, then an effect (an audit row) in its
finishing transaction, so a test can count how often the effect was applied."""

import asyncio
import os
import signal
import time
from typing import Any

from audit.log import record
from kernel.errors import DomainError
from workers.kinds import job_handler
from workers.runner import JobContext

SLOW_EFFECT = "test.slow_effect"
FAILING = "test.failing"


@job_handler(SLOW_EFFECT)
async def slow_effect(ctx: JobContext) -> dict[str, Any]:
    steps = int(ctx.payload.get("steps", 1))
    for step in range(steps):
        await asyncio.sleep(float(ctx.payload.get("step_seconds", 0.1)))
        await ctx.progress(int((step + 1) * 100 / (steps + 1)))
    result = {"effect_for": ctx.payload["marker"], "attempt": ctx.attempt}
    async with ctx.finishing(result):
        await record(ctx.actor, "test.effect", "marker", ctx.payload["marker"])
    return result


@job_handler(FAILING)
async def failing(ctx: JobContext) -> None:
    """An unexpected error first, then a domain error (whose message owners may see)."""
    if ctx.attempt == 1:
        raise ValueError("driver detail that must stay in the log")
    raise DomainError(f"boom on attempt {ctx.attempt}")


BLOCKS_LOOP = "test.blocks_loop"


@job_handler(BLOCKS_LOOP)
async def blocks_loop(ctx: JobContext) -> None:
    """Hangs its worker: blocks the event loop its jobs and heartbeats run on."""
    await ctx.progress(10)
    time.sleep(3600)  # noqa: ASYNC251  (the point: the loop stops)


FAN_OUT = "test.fan_out"


@job_handler(FAN_OUT)
async def fan_out_parent(ctx: JobContext) -> dict[str, Any]:
    """Children of `child_kind` (default SLOW_EFFECT), one per marker, through
    workers.fan_out; its result lists theirs."""
    from workers import fan_out

    payloads = [
        {"marker": marker, "steps": 1, "step_seconds": ctx.payload.get("step_seconds", 0.1)}
        for marker in ctx.payload["markers"]
    ]
    kind = ctx.payload.get("child_kind", SLOW_EFFECT)
    children = await fan_out.children(ctx, kind, payloads)
    return {"children": children, "results": await fan_out.results(ctx, children)}


KILLS_WORKER = "test.kills_worker"


@job_handler(KILLS_WORKER)
async def kills_worker(ctx: JobContext) -> None:
    """Kills its worker process, as the out-of-memory killer would, a moment after it
    starts (while the jobs beside it run)."""
    await ctx.progress(10)
    await asyncio.sleep(float(ctx.payload.get("after_seconds", 0.5)))
    os.kill(os.getpid(), signal.SIGKILL)
