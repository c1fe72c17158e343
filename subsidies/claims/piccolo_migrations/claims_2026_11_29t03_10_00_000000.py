"""Calculation results move off `claim` into their own append-only table.

A calculation run used to rewrite every claim it priced (status, version, amount, cap
key, inputs, trace). Measured on the 2-core development machine with plain SQL on a
1,000,000-row copy of `claim`: on PostgreSQL the UPDATE took 25.0 s, because status is
indexed, so no row could be updated in place and every updated row got a new entry in
every index (7.7 s with the primary key alone); inserting the same results into a
separate table took 3.9 s. On SQLite, 10.6 s against 1.1 s. Through the whole run
(bench/calculate.py, 1M claims, on a slower VM): storing went from 63.5 s to 13.5 s on
PostgreSQL and from 24.2 s to 7.2 s on SQLite.

So a run now inserts one `claim_calculation` row per claim and leaves the claim alone;
a SUBMITTED claim with a calculation is "calculated". The version, amount and cap key are
copied onto the claim when it leaves SUBMITTED (see subsidies.claims.calculations).

Existing data: every claim with a calculation gets its row; claims stored as
"calculated" go back to SUBMITTED with their amount only in the new table; the
inputs, trace, calculated_at and calculation_job columns of `claim` go.

Written by hand with raw steps only, like the other claims migrations after the first:
Piccolo's own record of the schema does not know this table or the dropped columns, so
`piccolo migrations new claims --auto` would propose them again. Write migrations of
this app by hand.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from kernel.db import engine, is_sqlite
from kernel.migration_sql import run_sql

ID = "2026-11-29T03:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "claim_calculation: append-only calculation results"


class ClaimCalculation(Table, tablename="claim_calculation", schema=None):
    claim = Integer()
    job = Integer(null=True, default=None)
    policy_version = Integer(null=True, default=None)
    amount_fen = BigInt()
    cap_key = Varchar(length=200, null=True, default=None)
    inputs = Text(default="{}")
    trace = Text(default="[]")
    calculated_at = Timestamptz(default=TimestamptzNow())


MOVED = ("inputs", "trace", "calculated_at", "calculation_job")

FORWARDS = (
    "CREATE UNIQUE INDEX claim_calculation_claim ON claim_calculation (claim)",
    "CREATE INDEX claim_calculation_cap_key ON claim_calculation (cap_key) "
    "WHERE cap_key IS NOT NULL",
    "INSERT INTO claim_calculation (claim, job, policy_version, amount_fen, cap_key, inputs, "
    "trace, calculated_at) SELECT id, calculation_job, policy_version, amount_fen, cap_key, "
    "COALESCE(inputs, '{}'), COALESCE(trace, '[]'), COALESCE(calculated_at, updated_at) "
    "FROM claim WHERE (status = 'calculated' OR calculated_at IS NOT NULL) "
    "AND amount_fen IS NOT NULL",
    # The cap key stays: internship claims have theirs from submission.
    "UPDATE claim SET status = 'submitted', policy_version = NULL, amount_fen = NULL "
    "WHERE status = 'calculated' AND id IN (SELECT claim FROM claim_calculation)",
    *(f"ALTER TABLE claim DROP COLUMN {column}" for column in MOVED),
)


def _backwards() -> tuple[str, ...]:
    text, stamp = ("TEXT", "TIMESTAMPTZ") if is_sqlite(engine()) else ("text", "timestamptz")
    return (
        f"ALTER TABLE claim ADD COLUMN inputs {text}",
        f"ALTER TABLE claim ADD COLUMN trace {text}",
        f"ALTER TABLE claim ADD COLUMN calculated_at {stamp}",
        "ALTER TABLE claim ADD COLUMN calculation_job INTEGER",
        "UPDATE claim SET inputs = c.inputs, trace = c.trace, calculated_at = c.calculated_at, "
        "calculation_job = c.job FROM claim_calculation AS c WHERE c.claim = claim.id",
        # Only claims still SUBMITTED take their amount from the calculation: one that
        # left SUBMITTED holds what was copied onto it then (maybe nothing).
        "UPDATE claim SET status = 'calculated', policy_version = c.policy_version, "
        "amount_fen = c.amount_fen, cap_key = c.cap_key FROM claim_calculation AS c "
        "WHERE c.claim = claim.id AND claim.status = 'submitted'",
        "DROP TABLE claim_calculation",
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="claims", description=DESCRIPTION)

    async def move_results():
        ClaimCalculation._meta.db = engine()  # the engine bound now (tests migrate two)
        await ClaimCalculation.create_table().run()
        for sql in FORWARDS:
            await run_sql(sql)

    async def as_before():
        for sql in _backwards():
            await run_sql(sql)

    manager.add_raw(move_results)
    manager.add_raw_backwards(as_before)
    return manager
