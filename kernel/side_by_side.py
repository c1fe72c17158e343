"""Running one job's independent parts at once, each in a transaction of its own.

A PostgreSQL transaction runs on one core. A bulk job that splits its work into parts
that never touch each other's rows (registry.outcomes.parts; workers.fan_out runs a
parent's children so) can keep both cores of this machine busy by running each part
on a connection of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from kernel.db import detach_from_unit_of_work

T = TypeVar("T")


def start_detached(work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """`work` as a task of its own, with this task's context (request id, log fields)
    but outside its unit of work: the task's units of work open their own transactions,
    on connections of their own."""

    async def detached() -> T:
        detach_from_unit_of_work()
        return await work

    return asyncio.create_task(detached())


async def side_by_side(here: Coroutine[Any, Any, None], *others: Coroutine[Any, Any, None]) -> None:
    """Runs `here` inside this task's open unit of work (if any) and each of `others`
    outside it, all at once. Returns when all have finished. As soon as one fails, the
    others still running are cancelled (their transactions roll back) and its error is
    raised as it was, not wrapped in a group."""
    tasks = [asyncio.create_task(here), *(start_detached(other) for other in others)]
    try:
        await first_failure(tasks, until_done=tasks)
    finally:
        await cancel(tasks)


async def first_failure(
    tasks: list[asyncio.Task[Any]], until_done: list[asyncio.Task[Any]]
) -> None:
    """Waits until every task of `until_done` has finished; raises, as it was, the error
    of any of `tasks` or `until_done` that fails meanwhile. A task of `tasks` that ends
    without one before then is a bug, and raises too."""
    waiting = set(until_done)
    watched = {*tasks, *until_done}
    while waiting:
        done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        watched -= done
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        if done - waiting:
            raise RuntimeError("a task ended before the tasks it was to wait for")
        waiting -= done


async def cancel(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancels those still running (their transactions roll back) and waits for all."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
