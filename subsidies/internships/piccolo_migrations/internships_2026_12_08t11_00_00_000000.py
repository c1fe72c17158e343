"""One placement per host, intern, registered programme and start date: a partial unique
index on (host, person, programme_id, start_date) where programme_id is set. The index
on the typed name (internship_placement_key) stays for placements not mapped yet.

The migration that registered programmes mapped every spelling of one plan to one
programme, so one intern registered twice with a host under two spellings from one start
date may hold two mapped placements. Of each such group the earliest placement stays
mapped; the later ones are unmapped (listed for an officer, who finds mapping them
refused as a duplicate of the first). Their claims keep the programme's cap key: what
was paid still counts towards the intern's cap and months. A claim of theirs for a month
an earlier placement of the group has approved or paid goes on hold, or is flagged for
recovery if paid (subsidies.claims.holds): one calendar month pays once.

Backwards drops the index; unmapped placements, holds and recovery flags stay (an
officer decides them).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.querystring import QueryString

from kernel.db import engine
from kernel.migration_sql import run_sql

ID = "2026-12-08T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one placement per host, intern, registered programme and start date"
ACTOR = "system:migration 2026-12-08T11"
NAME = "internship_placement_programme_key"
LIVE = ("proposed", "submitted", "approved", "on_hold", "paid")
PAID_MONTH = ("approved", "paid")


async def sql(text: str, *args: Any) -> list[dict[str, Any]]:
    return await engine().run_querystring(QueryString(text, *args))


async def _claims(placement_id: int) -> list[dict[str, Any]]:
    return await sql(
        "SELECT id, dedupe_key, status FROM claim WHERE scheme = 'internship' "
        "AND dedupe_key LIKE {} ORDER BY id",
        f"internship:{placement_id}:%",
    )


async def _unmap_duplicates() -> None:
    from subsidies.claims.holds import hold_or_flag
    from subsidies.claims.tables import Claim

    groups: dict[tuple, list[int]] = defaultdict(list)
    for row in await sql(
        "SELECT id, host, person, programme_id, start_date FROM internship_placement "
        "WHERE programme_id IS NOT NULL ORDER BY id"
    ):
        key = (row["host"], row["person"], row["programme_id"], str(row["start_date"]))
        groups[key].append(row["id"])
    for ids in groups.values():
        if len(ids) < 2:
            continue
        first, later = ids[0], ids[1:]
        marks = ", ".join("{}" for _ in later)
        await sql(
            f"UPDATE internship_placement SET programme_id = NULL WHERE id IN ({marks})", *later
        )
        months = {
            c["dedupe_key"].rsplit(":", 1)[1]
            for c in await _claims(first)
            if c["status"] in PAID_MONTH
        }
        for placement_id in later:
            claims = await _claims(placement_id)
            twice = [
                c["id"]
                for c in claims
                if c["status"] in LIVE and c["dedupe_key"].rsplit(":", 1)[1] in months
            ]
            if twice:
                why = (
                    f"实习岗位 {placement_id} 与岗位 {first} 重复登记，同月已获批或发放 / "
                    f"placement {placement_id} repeats placement {first}: this month is "
                    "approved or paid there already"
                )
                await hold_or_flag(
                    ACTOR,
                    Claim.id.is_in(twice),
                    f"{why}；暂停发放 / payment on hold",
                    f"{why}；已发放资金应予追回 / the amount paid is to be recovered",
                )
            months |= {
                c["dedupe_key"].rsplit(":", 1)[1] for c in claims if c["status"] in PAID_MONTH
            }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="internships", description=DESCRIPTION)

    async def create_key():
        await _unmap_duplicates()
        await run_sql(
            f"CREATE UNIQUE INDEX {NAME} ON internship_placement "
            "(host, person, programme_id, start_date) WHERE programme_id IS NOT NULL"
        )

    async def drop_key():
        await run_sql(f"DROP INDEX {NAME}")

    manager.add_raw(create_key)
    manager.add_raw_backwards(drop_key)
    return manager
