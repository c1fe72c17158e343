"""Storing an import in parts, each in a transaction of its own, side by side.

One PostgreSQL transaction runs on one core: a million outcomes, half a million new
people and certificates kept one backend busy for most of an import while the other
core idled. The writes split cleanly by person: every new certificate and every
outcome row belongs to one person (classify.within_file and against_certificates
reject a certificate that would name two), so parts cut at person ids never refer to
each other's rows, and never wait on each other's keys.

The first part runs in the job's own transaction, which also marks the job done; the
others commit on connections of their own just before it. If the job fails after some
of them committed, its retry finds those rows written by this same report and counts
them as that attempt did (classify.against_outcomes, `stored_as`): nothing is written
twice and the report's counts come out the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kernel.db import unit_of_work
from kernel.side_by_side import side_by_side
from registry.outcomes.store import Bulk

# Below this many rows to write, one transaction: a second connection would cost more
# than it saves, and a small report stays all-or-nothing.
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


async def store_all(bulk: Bulk, parts: list[Part], open_bulk: Callable[[], Bulk]) -> None:
    """The first part through `bulk` (the open transaction), each other part in a
    transaction of its own (opened with `open_bulk`), all at once. Returns when every
    part is stored and the others committed."""
    first, *others = parts
    await side_by_side(store(bulk, first), *(_in_own_transaction(open_bulk, p) for p in others))


async def _in_own_transaction(open_bulk: Callable[[], Bulk], part: Part) -> None:
    async with unit_of_work():
        bulk = open_bulk()
        try:
            await store(bulk, part)
        finally:
            bulk.close()
