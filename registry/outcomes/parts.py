"""Storing an import in parts, each in a transaction of its own, side by side.

One PostgreSQL transaction runs on one core: a million outcomes, half a million new
people and certificates kept one backend busy for most of an import while the other
core idled. The writes split cleanly by person: every new certificate and every
outcome row belongs to one person (classify.within_file and against_certificates
reject a certificate that would name two), so parts cut at person ids never refer to
each other's rows, and never wait on each other's keys.

The first part runs in the job's own transaction, which also marks the job done. The
others hold their transactions open, stored but not committed, until the job has done
everything else (error files, the report's counts, the audit entry); they commit just
before the job's own commit. Only a failure in that last moment (the job's lease lost,
the connection gone) leaves some parts committed: the retry then finds those rows
written by this same report and counts them as that attempt did
(classify.against_outcomes, `stored_as`), so nothing is written twice and the report's
counts come out the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kernel.db import unit_of_work
from kernel.side_by_side import cancel, first_failure, start_detached
from registry.outcomes.store import Bulk

# Each part writes at least this many rows (so two parts need twice as many): below it,
# a second connection costs more than it saves, and a small report stays one
# transaction, all or nothing.
MIN_ROWS_PER_PART = 100_000


@dataclass
class Part:
    people: pd.DataFrame  # new people, ids drawn already
    certificates: pd.DataFrame  # new certificates, ids drawn already
    new: pd.DataFrame  # outcomes to insert
    changed: pd.DataFrame  # outcomes to update

    @property
    def rows(self) -> int:
        return len(self.people) + len(self.certificates) + len(self.new) + len(self.changed)


def split(whole: Part, most: int) -> list[Part]:
    """`whole` cut at person ids into at most `most` parts of about equal rows."""
    count = max(1, min(most, whole.rows // MIN_ROWS_PER_PART))
    if count == 1:
        return [whole]
    owners = np.sort(
        np.concatenate(
            [
                whole.people["id"].to_numpy(dtype=np.int64),
                whole.certificates["person_id"].to_numpy(dtype=np.int64),
                whole.new["person_id"].to_numpy(dtype=np.int64),
                whole.changed["person_id"].to_numpy(dtype=np.int64),
            ]
        )
    )
    # Cuts between people: a person's rows all fall on one side of every cut.
    cuts = np.unique(owners[len(owners) * np.arange(1, count) // count])

    def cut(frame: pd.DataFrame, person: str) -> list[pd.DataFrame]:
        side = np.searchsorted(cuts, frame[person].to_numpy(dtype=np.int64), side="right")
        return [frame.loc[side == k] for k in range(len(cuts) + 1)]

    pieces = zip(
        cut(whole.people, "id"),
        cut(whole.certificates, "person_id"),
        cut(whole.new, "person_id"),
        cut(whole.changed, "person_id"),
        strict=True,
    )
    kept = [Part(*piece) for piece in pieces]
    return [p for p in kept if p.rows] or [whole]  # one person's rows fill a part alone


async def store(bulk: Bulk, part: Part) -> None:
    """People first, then their certificates, then the outcomes that name both."""
    if len(part.people):
        await bulk.insert_people(part.people)
    if len(part.certificates):
        await bulk.insert_certificates(part.certificates)
    if len(part.new):
        await bulk.insert_outcomes(part.new)
    if len(part.changed):
        await bulk.update_outcomes(part.changed)


@asynccontextmanager
async def stored(
    bulk: Bulk, parts: list[Part], open_bulk: Callable[[], Bulk]
) -> AsyncIterator[None]:
    """Stores the first part through `bulk` (the open transaction) and each other part
    in a transaction of its own (`open_bulk` gives its Bulk), all at once. Inside the
    block every part is stored; the others commit when the block ends without error,
    and roll back if it fails (or if any part does)."""
    first, *others = parts
    if others:
        await bulk.limit_lock_waits(PART_LOCK_TIMEOUT_S)
    release = asyncio.Event()
    ready = [asyncio.Event() for _ in others]
    main = asyncio.create_task(store(bulk, first))  # shares this task's transaction
    tasks = [
        start_detached(_in_own_transaction(open_bulk, part, done, release))
        for part, done in zip(others, ready, strict=True)
    ]
    waits = [asyncio.create_task(done.wait()) for done in ready]
    try:
        await first_failure([main, *tasks], until_done=[main, *waits])
        yield
        release.set()
        await first_failure(tasks, until_done=tasks)
    finally:
        await cancel([main, *tasks, *waits])


# A part waits idle, stored and uncommitted, while the job finishes; PostgreSQL does not
# count an idle transaction in its deadlock checks. Two imports sharing new people can
# then wait on each other's parts for ever, and so can a statement that queued a lock
# behind the job's transaction. With more than one part, every part's transaction (the
# job's too) gives up a lock wait after this long: the attempt fails and is retried.
PART_LOCK_TIMEOUT_S = 30


async def _in_own_transaction(
    open_bulk: Callable[[], Bulk], part: Part, done: asyncio.Event, release: asyncio.Event
) -> None:
    async with unit_of_work():
        bulk = open_bulk()
        try:
            await bulk.limit_lock_waits(PART_LOCK_TIMEOUT_S)
            await store(bulk, part)
        finally:
            bulk.close()
        done.set()
        await release.wait()
