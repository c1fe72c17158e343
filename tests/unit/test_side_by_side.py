"""kernel.side_by_side: parts at once; a failing part stops the others at once."""

from __future__ import annotations

import asyncio

import pytest

from kernel.side_by_side import side_by_side


async def test_every_part_runs_at_once():
    started: list[str] = []
    both = asyncio.Event()

    async def part(name: str) -> None:
        started.append(name)
        if len(started) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 1)  # waits for the other: only at once

    await side_by_side(part("here"), part("other"))
    assert sorted(started) == ["here", "other"]


async def test_a_failing_part_cancels_the_others_and_raises_its_own_error():
    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def failing() -> None:
        await asyncio.sleep(0.01)
        raise LookupError("part two failed")

    with pytest.raises(LookupError, match="part two failed"):
        async with asyncio.timeout(1):  # not after `here`'s ten seconds
            await side_by_side(slow(), failing())
    with pytest.raises(ValueError, match="here failed"):
        await side_by_side(_raise(ValueError("here failed")), slow())
    assert cancelled.is_set()


async def _raise(error: Exception) -> None:
    raise error
