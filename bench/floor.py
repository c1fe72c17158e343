"""The database's share of a bench run alone: the rows a run read or stored, moved again
by bare COPY (binary, PostgreSQL's cheapest path) with no application code around it,
on the same schema (indexes, key-check triggers) and the same split into transactions
side by side. No import or calculation can take less time than this on the machine it
runs on; `--floor` in bench/import_outcomes.py and bench/calculate.py prints it.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

# Each transaction of a floor run: (table, its rows as COPY binary) in order.
Part = list[tuple[str, bytes]]


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def dump(conn: asyncpg.Connection, query: str) -> bytes:
    out = io.BytesIO()
    await conn.copy_from_query(query, output=out, format="binary")
    return out.getvalue()


async def _copy_in(url: str, part: Part) -> None:
    async with connected(url) as conn, conn.transaction():
        for table, rows in part:
            await conn.copy_to_table(table, source=io.BytesIO(rows), format="binary")


async def copy_in(url: str, parts: list[Part]) -> float:
    """Seconds to COPY every part in, each in a transaction of its own, all at once."""
    started = time.perf_counter()
    await asyncio.gather(*(_copy_in(url, part) for part in parts))
    return time.perf_counter() - started


async def _read(url: str, query: str) -> int:
    async with connected(url) as conn:
        return len(await dump(conn, query))


async def read_out(url: str, queries: list[str]) -> float:
    """Seconds to read every query's rows out by COPY, all at once."""
    started = time.perf_counter()
    await asyncio.gather(*(_read(url, query) for query in queries))
    return time.perf_counter() - started


async def settle(url: str) -> None:
    """As the benches' setups do: vacuumed, analysed and checkpointed, so the timed copy
    does not pay for earlier writes."""
    async with connected(url) as conn:
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
