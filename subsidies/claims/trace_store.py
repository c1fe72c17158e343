"""Traces stored once each (subsidies.claims.tables.CalculationTrace), named by digest;
and so the names of calculations' inputs (CalculationInputNames).

A calculation names its trace by the BLAKE2b-128 digest of the trace's JSON text; the
text is stored once however many calculations share it. Writers add the texts they
name in the same transaction as the calculations (`store`, `store_input_names`);
readers resolve digests to texts (`texts_of`, `input_names_of`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from kernel.db import engine, is_sqlite, raw_connection
from kernel.where_in import select_where_in
from subsidies.claims.tables import CalculationInputNames, CalculationTrace


def digest(text: str) -> str:
    """The name of a trace's JSON text (32 hex characters)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


async def store(traces: dict[str, str]) -> None:
    """Adds the traces (digest -> JSON text) not stored yet, inside the caller's unit of
    work (kernel.db.raw_connection): the same text always has the same digest, so a
    trace stored already, by this run or another, is left as it is. In digest order:
    runs of different schemes share a few traces ("no version covers the date"), and
    two runs inserting them in opposite orders would deadlock on PostgreSQL."""
    await _store("calculation_trace", "steps", traces)


async def store_input_names(names: dict[str, str]) -> None:
    """Adds the lists of input names (digest -> JSON text) not stored yet, as `store`."""
    await _store("calculation_input_names", "names", names)


async def _store(table: str, column: str, texts: dict[str, str]) -> None:
    if not texts:
        return
    texts = dict(sorted(texts.items()))
    conn = raw_connection()
    if is_sqlite(engine()):
        conn.executemany(
            f"INSERT INTO {table} (digest, {column}) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING",
            list(texts.items()),
        )
        return
    await conn.execute(
        f"INSERT INTO {table} (digest, {column}) "
        "SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (digest) DO NOTHING",
        list(texts),
        list(texts.values()),
    )


async def texts_of(digests: list[Any]) -> dict[str, str]:
    """The JSON text of each of these traces (None and unknown digests left out)."""
    rows = await select_where_in(
        CalculationTrace, CalculationTrace.digest, digests, CalculationTrace.steps
    )
    return {r["digest"]: r["steps"] for r in rows}


async def input_names_of(digests: list[Any]) -> dict[str, str]:
    """The JSON list of names each of these digests names (None and unknown left out)."""
    rows = await select_where_in(
        CalculationInputNames, CalculationInputNames.digest, digests, CalculationInputNames.names
    )
    return {r["digest"]: r["names"] for r in rows}
