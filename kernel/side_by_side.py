"""Running one job's independent parts at once, each in a transaction of its own.

A PostgreSQL transaction runs on one core. A bulk job that splits its work into parts
that never touch each other's rows (registry.outcomes.parts, the lanes of
subsidies.claims.calculation) can keep both cores of this machine busy by running each
part on a connection of its own.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any


async def side_by_side(here: Coroutine[Any, Any, None], *others: Coroutine[Any, Any, None]) -> None:
    """Runs `here` inside this task's open unit of work (if any) and each of `others`
    outside it, all at once. Returns when all have finished. As soon as one fails, the
    others still running are cancelled (their transactions roll back) and its error is
    raised as it was, not wrapped in a group."""
    # `here` in a copy of this context (it shares the open unit of work); the others
    # in empty ones, so they open units of work of their own.
    tasks = [
        asyncio.create_task(here),
        *(asyncio.create_task(other, context=contextvars.Context()) for other in others),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task in done and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
