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
    def slow(cancelled: asyncio.Event, started: asyncio.Event):
        async def run() -> None:
            started.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        return run()

    async def failing(after: asyncio.Event, error: Exception) -> None:
        await after.wait()  # the other part is running
        raise error

    # An other part fails while `here` still runs.
    here_cancelled, here_started = asyncio.Event(), asyncio.Event()
    with pytest.raises(LookupError, match="part two failed"):
        async with asyncio.timeout(1):  # not after `here`'s ten seconds
            await side_by_side(
                slow(here_cancelled, here_started),
                failing(here_started, LookupError("part two failed")),
            )
    assert here_cancelled.is_set()
    # `here` fails while an other part still runs.
    other_cancelled, other_started = asyncio.Event(), asyncio.Event()
    with pytest.raises(ValueError, match="here failed"):
        async with asyncio.timeout(1):
            await side_by_side(
                failing(other_started, ValueError("here failed")),
                slow(other_cancelled, other_started),
            )
    assert other_cancelled.is_set()


async def _raise(error: Exception) -> None:
    raise error
