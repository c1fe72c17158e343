"""Sealing committed audit rows into the hash chain, in batches.

A change writes its audit row unsealed, in its own transaction and without any lock;
the sealer gives rows their place in the chain shortly after they commit. Holding
one chain-wide lock inside every change's transaction would serialise all writes
behind it, through each commit's WAL flush.

Rows are sealed in the order the sealer sees them committed (by id within a batch),
so a row whose transaction commits late simply takes a later place in the chain.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from audit import chain
from audit.tables import AuditEntry
from kernel.db import before_pool_closes, lock_for_append, unit_of_work

log = logging.getLogger(__name__)

# Any constant works; it names the one advisory lock that serialises sealers on
# PostgreSQL (on SQLite the write transaction already excludes them).
SEAL_LOCK_KEY = 7_201_311
BATCH = 1000
SEAL_DELAY_SECONDS = 0.05

CONTENT = ("at", "actor", "action", "object_type", "object_id", "before", "after", "request_id")


async def seal_pending() -> int:
    """Seals every row committed so far; returns how many it sealed."""
    total = 0
    while True:
        sealed = await _seal_batch()
        total += sealed
        if sealed < BATCH:
            return total


async def _seal_batch() -> int:
    async with unit_of_work():
        await lock_for_append(SEAL_LOCK_KEY)
        head = await (
            AuditEntry.select(AuditEntry.seq, AuditEntry.hash)
            .where(AuditEntry.seq.is_not_null())
            .order_by(AuditEntry.seq, ascending=False)
            .first()
            .run()
        )
        rows = await (
            AuditEntry.select(AuditEntry.id, *(getattr(AuditEntry, f) for f in CONTENT))
            .where(AuditEntry.seq.is_null())
            .order_by(AuditEntry.id)
            .limit(BATCH)
            .run()
        )
        if not rows:
            return 0
        links: list[tuple[int, int, str, str]] = []
        previous: dict[str, Any] | None = head
        for row in rows:
            previous = chain.link(previous, {f: row[f] for f in CONTENT})
            links.append((row["id"], previous["seq"], previous["prev_hash"], previous["hash"]))
        await _write_links(links)
    return len(rows)


async def _write_links(links: list[tuple[int, int, str, str]]) -> None:
    """One UPDATE for the whole batch (UPDATE … FROM VALUES: PostgreSQL and SQLite)."""
    values = ", ".join("(CAST({} AS INTEGER), CAST({} AS INTEGER), {}, {})" for _ in links)
    await AuditEntry.raw(
        "UPDATE audit_entry SET seq = v.column2, prev_hash = v.column3, hash = v.column4 "
        f"FROM (VALUES {values}) AS v WHERE audit_entry.id = v.column1",
        *(value for link in links for value in link),
    ).run()


# -- sealing soon after a commit, batched per event loop -------------------------------

_scheduled: set[asyncio.AbstractEventLoop] = set()
_tasks: set[asyncio.Task[None]] = set()


async def seal_soon() -> None:
    """after_commit hook: one sealing round per loop within SEAL_DELAY_SECONDS, however
    many rows were committed meanwhile."""
    loop = asyncio.get_running_loop()
    if loop in _scheduled:
        return
    _scheduled.add(loop)
    task = loop.create_task(_seal_later(loop))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _seal_later(loop: asyncio.AbstractEventLoop) -> None:
    await asyncio.sleep(SEAL_DELAY_SECONDS)
    _scheduled.discard(loop)
    try:
        await seal_pending()
    except Exception:
        # The maintenance loop of every process seals too; nothing is lost.
        log.exception("sealing audit rows failed; the next round will retry")


@before_pool_closes
async def drain() -> None:
    """Lets this loop's scheduled sealing round finish before the connections close (a
    round that starts after would fail: "pool is closing", or the database is gone)."""
    loop = asyncio.get_running_loop()
    pending = [task for task in _tasks if task.get_loop() is loop and not task.done()]
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
