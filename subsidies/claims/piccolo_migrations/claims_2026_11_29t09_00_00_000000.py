"""Traces stored once each: `calculation_trace`, named from claim_calculation by digest.

A run's million claims fall into a few thousand distinct cases (a level, what lower
levels hold, a month's days, what the cap already holds), so nearly every trace was
stored hundreds of times: about 600 of the 1,000 bytes a calculation row took. Measured
on the 2-core development machine with sqlite3 and 500,000 rows shaped like an
internship run's: inserting and committing them took 4.77 s and 510 MB with each row's
trace, 3.20 s and 265 MB with a 32-character digest in its place.

Existing calculations: each distinct trace text is stored once under its digest
(subsidies.claims.trace_store.digest), each calculation names it, and the trace column
goes. Backwards puts each text back on its calculations.

Written by hand with raw steps, like the other claims migrations after the first (see
claims_2026_11_29t03_10_00_000000).
"""

import hashlib

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Text, Varchar
from piccolo.querystring import QueryString
from piccolo.table import Table

from kernel.db import engine
from kernel.migration_sql import run_sql

ID = "2026-11-29T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calculation_trace: each trace stored once"
BATCH = 400  # traces per INSERT (two parameters each; SQLite allows 32,766)


def digest(text: str) -> str:
    """As subsidies.claims.trace_store.digest names a trace (kept here as it was)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class CalculationTrace(Table, tablename="calculation_trace", schema=None):
    digest = Varchar(length=32)
    steps = Text()


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="claims", description=DESCRIPTION)

    async def store_traces_once():
        CalculationTrace._meta.db = engine()  # the engine bound now (tests migrate two)
        await CalculationTrace.create_table().run()
        await run_sql("CREATE UNIQUE INDEX calculation_trace_digest ON calculation_trace (digest)")
        await run_sql(
            "ALTER TABLE claim_calculation ADD COLUMN trace_digest VARCHAR(32) NOT NULL DEFAULT ''"
        )
        rows = await engine().run_querystring(
            QueryString("SELECT DISTINCT trace FROM claim_calculation")
        )
        texts = [row["trace"] for row in rows]
        for start in range(0, len(texts), BATCH):
            batch = texts[start : start + BATCH]
            values = ", ".join("({}, {})" for _ in batch)
            await engine().run_querystring(
                QueryString(
                    f"INSERT INTO calculation_trace (digest, steps) VALUES {values}",
                    *(value for text in batch for value in (digest(text), text)),
                )
            )
        await run_sql(
            "UPDATE claim_calculation SET trace_digest = t.digest FROM calculation_trace AS t "
            "WHERE t.steps = claim_calculation.trace"
        )
        await run_sql("ALTER TABLE claim_calculation DROP COLUMN trace")

    async def trace_per_calculation():
        await run_sql("ALTER TABLE claim_calculation ADD COLUMN trace TEXT NOT NULL DEFAULT '[]'")
        await run_sql(
            "UPDATE claim_calculation SET trace = t.steps FROM calculation_trace AS t "
            "WHERE t.digest = claim_calculation.trace_digest"
        )
        await run_sql("ALTER TABLE claim_calculation DROP COLUMN trace_digest")
        await run_sql("DROP TABLE calculation_trace")

    manager.add_raw(store_traces_once)
    manager.add_raw_backwards(trace_per_calculation)
    return manager
