"""A parse that holds its slot until the test lets it go: it marks `started` once its
child runs, then waits for `release` to exist. Run in a sandbox child (few imports)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path


def hold(started: Path, release: Path) -> str:
    started.touch()
    while not release.exists():
        time.sleep(0.01)
    return "released"


async def until_started(started: Path, task: asyncio.Task) -> None:
    """Until the child runs (or the task holding it failed): progress, not a budget."""
    while not os.access(started, os.F_OK):  # a stat of a local file: never blocks long
        if task.done():
            task.result()  # its error, if any
            raise AssertionError("the held parse ended before it started")
        await asyncio.sleep(0.01)
