"""Each person's single insured-months figure becomes a period: the months ending in the
month it was confirmed, recorded on the day it was confirmed. The figure stays on the
person record, derived from the periods from now on (registry.insured_periods).

Every organisation registered so far has a Dongguan town: its province is Guangdong."""

from datetime import date

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.querystring import QueryString

ID = "2026-12-08T02:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "legacy insured months become periods"
BATCH = 500


def _month_back(confirmed: date, months: int) -> date:
    index = confirmed.year * 12 + confirmed.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def _as_date(value) -> date:
    # SQLite hands back the stored text, PostgreSQL a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def to_periods():
        from kernel.db import engine

        db = engine()
        await db.run_querystring(
            QueryString(
                "UPDATE organisation SET province = {} WHERE province IS NULL AND town <> ''",
                "广东省",
            )
        )
        rows = await db.run_querystring(
            QueryString(
                "SELECT id, insured_months, insured_confirmed_on FROM person "
                "WHERE insured_months > 0 AND insured_confirmed_on IS NOT NULL ORDER BY id"
            )
        )
        for start in range(0, len(rows), BATCH):
            values, args = [], []
            for row in rows[start : start + BATCH]:
                confirmed = _as_date(row["insured_confirmed_on"])
                last = confirmed.replace(day=1)
                values.append("({}, {}, {}, 'legacy', {}, 'migration', CURRENT_TIMESTAMP)")
                args += [row["id"], _month_back(confirmed, row["insured_months"]), last, confirmed]
            await db.run_querystring(
                QueryString(
                    "INSERT INTO insured_period (person, first_month, last_month, source, "
                    "recorded_on, recorded_by, created_at) VALUES " + ", ".join(values),
                    *args,
                )
            )

    async def drop_legacy():
        from kernel.migration_sql import run_sql

        await run_sql("DELETE FROM insured_period WHERE source = 'legacy'")

    manager.add_raw(to_periods)
    manager.add_raw_backwards(drop_legacy)
    return manager
