"""Inputs stored as a list of values, their names stored once per distinct list.

A calculation's inputs were a JSON object: about 200 of an input row's 369 bytes were
its names, the same for every claim of a scheme. Now `inputs` holds the values alone
(a JSON list) and `input_names` names the list of names, stored once in
`calculation_input_names` by digest, as traces are (subsidies.claims.trace_store).
Measured on the 2-core development machine: the same million calculations copied into
PostgreSQL in 3.4-3.5 s instead of 3.9-4.7 s (bare binary COPY, two at once).

Existing calculations keep their objects (`input_names` NULL), which readers show as
they are. Backwards turns lists back into objects.

Written by hand with raw steps, like the other claims migrations after the first.
"""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Text, Varchar
from piccolo.querystring import QueryString
from piccolo.table import Table

from kernel.db import engine
from kernel.migration_sql import run_sql

ID = "2026-11-29T21:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calculation_input_names: inputs as values, names stored once"
BATCH = 500


class CalculationInputNames(Table, tablename="calculation_input_names", schema=None):
    digest = Varchar(length=32)
    names = Text()


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="claims", description=DESCRIPTION)

    async def names_apart():
        CalculationInputNames._meta.db = engine()  # the engine bound now (tests migrate two)
        await CalculationInputNames.create_table().run()
        await run_sql(
            "CREATE UNIQUE INDEX calculation_input_names_digest "
            "ON calculation_input_names (digest)"
        )
        await run_sql("ALTER TABLE claim_calculation ADD COLUMN input_names VARCHAR(32)")

    async def objects_again():
        while True:
            rows = await engine().run_querystring(
                QueryString(
                    "SELECT calc.id, calc.inputs, n.names FROM claim_calculation AS calc "
                    "JOIN calculation_input_names AS n ON n.digest = calc.input_names "
                    f"ORDER BY calc.id LIMIT {BATCH}"
                )
            )
            if not rows:
                break
            for row in rows:
                names, values = json.loads(row["names"]), json.loads(row["inputs"])
                text = json.dumps(dict(zip(names, values, strict=True)), ensure_ascii=False)
                await engine().run_querystring(
                    QueryString(
                        "UPDATE claim_calculation SET inputs = {}, input_names = NULL "
                        "WHERE id = {}",
                        text,
                        row["id"],
                    )
                )
        await run_sql("ALTER TABLE claim_calculation DROP COLUMN input_names")
        await run_sql("DROP TABLE calculation_input_names")

    manager.add_raw(names_apart)
    manager.add_raw_backwards(objects_again)
    return manager
