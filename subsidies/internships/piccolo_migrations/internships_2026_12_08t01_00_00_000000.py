"""Registered internship programmes; placements name one, and the cap key is by its id.

Hosts typed programmes as free text, so one plan under two spellings ("百校千人-2026",
"百校千人2026") had two caps: an intern was paid 12,000 yuan against 9,000. Nothing is
registered on a live database yet, so this migration:

1. groups the placements' names by their normalised form (NFKC, case-folded, without
   whitespace, punctuation or symbols) and registers one programme per group, named
   after its most frequent spelling (the earliest placement's on a tie), plan year from
   the first four-digit year in the name (else the earliest start), dates spanning its
   placements, rate, months and cap from the internship policy version in force on its
   start, marked `needs_review` for an officer;
2. links the placements; a name with no letter or digit maps to nothing and is listed
   for an officer (GET /api/v1/internship-programmes/unmapped-placements);
3. moves the claims' and calculations' cap keys to "internship:{person}:programme-{id}"
   and merges the approved figures of cap_usage;
4. where a merge puts an intern over the cap or the months, the claims beyond (in claim
   order, as the calculator fills the cap) go on hold, or are flagged for recovery if
   paid, audited (subsidies.claims.holds): never repriced silently.

Backwards gives each claim and calculation the cap key of its placement's typed name
again and recounts those keys' cap_usage from the claims whose approval took a share;
holds and recovery flags stay (an officer decides them). On SQLite the new column has
no REFERENCES clause: SQLite cannot drop a column that has one, and programmes are
never deleted.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import BigInt, Boolean, Date, SmallInt, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.querystring import QueryString
from piccolo.table import Table

from kernel.db import engine, is_sqlite
from kernel.migration_sql import run_sql

ID = "2026-12-08T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "internship_programme: registered programmes, cap per intern per programme id"
ACTOR = "system:migration 2026-12-08T01"
LIVE = ("proposed", "submitted", "approved", "on_hold", "paid")
COMMITTED = ("approved", "on_hold", "paid")
YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d|21\d\d)(?!\d)")
# The internship policy's defaults (internship.v1.toml), where no version is stored.
DEFAULT_TERMS = (300_000, 3, 900_000)


class InternshipProgramme(Table, tablename="internship_programme", schema=None):
    name = Varchar(length=60)
    name_key = Varchar(length=60)
    plan_year = SmallInt()
    scheme = Varchar(length=40)
    monthly_rate_fen = BigInt()
    max_months = SmallInt()
    cap_per_intern_fen = BigInt()
    start_date = Date()
    end_date = Date()
    needs_review = Boolean(default=False)
    created_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


def name_key(name: str) -> str:
    """As subsidies.internships.programme_rules.name_key (kept here as it was)."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PZSC")


async def sql(text: str, *args: Any) -> list[dict[str, Any]]:
    return await engine().run_querystring(QueryString(text, *args))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def _policy_terms() -> list[tuple[date, date | None, int, tuple[int, int, int]]]:
    rows = await sql(
        "SELECT version, effective_from, effective_to, document FROM policy_version "
        "WHERE scheme = 'internship'"
    )
    out = []
    for row in rows:
        p = json.loads(row["document"])["parameters"]
        to = row["effective_to"]
        out.append(
            (
                _day(row["effective_from"]),
                _day(to) if to is not None else None,
                row["version"],
                (p["monthly_rate_fen"], p["max_months"], p["cap_per_intern_fen"]),
            )
        )
    return out


def _terms_on(policies: list, day: date) -> tuple[int, int, int]:
    """The version in force on the day (the latest to take effect); else the latest."""
    covering = [p for p in policies if p[0] <= day and (p[1] is None or day <= p[1])]
    chosen = max(covering or policies, key=lambda p: (p[0], p[2]), default=None)
    return chosen[3] if chosen else DEFAULT_TERMS


async def _create_schema() -> None:
    InternshipProgramme._meta.db = engine()  # the engine bound now (tests migrate two)
    await InternshipProgramme.create_table().run()
    await run_sql(
        "CREATE UNIQUE INDEX internship_programme_key ON internship_programme "
        "(name_key, plan_year)"
    )
    references = "" if is_sqlite(engine()) else " REFERENCES internship_programme (id)"
    await run_sql(f"ALTER TABLE internship_placement ADD COLUMN programme_id INTEGER{references}")
    await run_sql(
        "CREATE INDEX internship_placement_programme_id ON internship_placement (programme_id)"
    )


async def _register_groups() -> dict[tuple[int, str], int]:
    """Registers one programme per normalised name; (person, typed name) -> its id."""
    placements = await sql(
        "SELECT id, person, programme, start_date, end_date FROM internship_placement "
        "ORDER BY id"
    )
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in placements:
        key = name_key(row["programme"])
        if key:
            groups[key].append(row)
    policies = await _policy_terms()
    mapped: dict[tuple[int, str], int] = {}
    for key, rows in groups.items():
        counts = Counter(r["programme"] for r in rows)
        first_seen = {}
        for r in rows:
            first_seen.setdefault(r["programme"], r["id"])
        name = max(counts, key=lambda n: (counts[n], -first_seen[n]))
        start = min(_day(r["start_date"]) for r in rows)
        end = max(_day(r["end_date"]) for r in rows)
        year = YEAR.search(unicodedata.normalize("NFKC", name))
        rate, months, cap = _terms_on(policies, start)
        created = await sql(
            "INSERT INTO internship_programme (name, name_key, plan_year, scheme, "
            "monthly_rate_fen, max_months, cap_per_intern_fen, start_date, end_date, "
            "needs_review, created_by, created_at, updated_at) VALUES ({}, {}, {}, "
            "'internship', {}, {}, {}, {}, {}, {}, {}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) "
            "RETURNING id",
            name,
            key,
            int(year[1]) if year else start.year,
            rate,
            months,
            cap,
            start,
            end,
            True,
            ACTOR,
        )
        programme_id = created[0]["id"]
        ids = [r["id"] for r in rows]
        for at in range(0, len(ids), 500):
            chunk = ids[at : at + 500]
            marks = ", ".join("{}" for _ in chunk)
            await sql(
                f"UPDATE internship_placement SET programme_id = {{}} WHERE id IN ({marks})",
                programme_id,
                *chunk,
            )
        for r in rows:
            mapped[(r["person"], r["programme"])] = programme_id
    return mapped


async def _move_cap_keys(mapped: dict[tuple[int, str], int]) -> dict[str, set[str]]:
    """Claims' and calculations' cap keys by programme id; new key -> the old keys."""
    merged: dict[str, set[str]] = defaultdict(set)
    for (person, typed), programme_id in mapped.items():
        old = f"internship:{person}:{typed}"
        new = f"internship:{person}:programme-{programme_id}"
        merged[new].add(old)
        await sql("UPDATE claim SET cap_key = {} WHERE cap_key = {}", new, old)
        await sql("UPDATE claim_calculation SET cap_key = {} WHERE cap_key = {}", new, old)
        used = await sql("SELECT used_fen FROM cap_usage WHERE key = {}", old)
        if used:
            await sql("DELETE FROM cap_usage WHERE key = {}", old)
            await sql(
                "INSERT INTO cap_usage (key, used_fen, updated_at) VALUES "
                "({}, {}, CURRENT_TIMESTAMP) ON CONFLICT (key) DO UPDATE SET "
                "used_fen = cap_usage.used_fen + excluded.used_fen",
                new,
                used[0]["used_fen"],
            )
    return merged


async def _beyond_the_cap(key: str, programme_id: int) -> tuple[list[int], int, int]:
    """Claims of one merged key past the programme's months or cap, in claim order (a
    month counts once it pays); and the cap and months."""
    terms = await sql(
        "SELECT max_months, cap_per_intern_fen FROM internship_programme WHERE id = {}",
        programme_id,
    )
    most, cap = terms[0]["max_months"], terms[0]["cap_per_intern_fen"]
    statuses = ", ".join(f"'{s}'" for s in LIVE)
    claims = await sql(
        "SELECT claim.id, COALESCE(claim.amount_fen, calc.amount_fen) AS amount "
        "FROM claim LEFT JOIN claim_calculation AS calc ON calc.claim = claim.id "
        "WHERE COALESCE(claim.cap_key, calc.cap_key) = {} "
        f"AND claim.status IN ({statuses}) ORDER BY claim.id",
        key,
    )
    beyond, total, months = [], 0, 0
    for claim in claims:
        amount = claim["amount"] or 0
        if amount <= 0:
            continue  # not priced yet (it will be, under the merged key) or paid nothing
        total += amount
        months += 1
        if total > cap or months > most:
            beyond.append(claim["id"])
    return beyond, cap, most


async def _hold_merged(merged: dict[str, set[str]]) -> None:
    from subsidies.claims.holds import hold_or_flag
    from subsidies.claims.tables import Claim

    for key, olds in merged.items():
        if len(olds) < 2:
            continue
        programme_id = int(key.rsplit("programme-", 1)[1])
        beyond, cap, most = await _beyond_the_cap(key, programme_id)
        if not beyond:
            continue
        spellings = "、".join(sorted(o.split(":", 2)[2] for o in olds))
        why = (
            f"实习项目“{spellings}”已合并为登记项目 {programme_id}，该实习生合计超过每人 "
            f"{cap // 100:,} 元或 {most} 个月上限 / the programme spellings {spellings} were "
            f"merged into registered programme {programme_id}: the intern's total is over "
            f"the cap of {cap // 100:,} yuan or {most} months"
        )
        await hold_or_flag(
            ACTOR,
            Claim.id.is_in(beyond),
            f"{why}；暂停发放 / payment on hold",
            f"{why}；已发放资金应予追回 / the amount paid is to be recovered",
        )


async def _typed_keys_again() -> None:
    """Each claim's and calculation's cap key from its placement's typed name; the
    approved figures of those keys recounted from the claims whose approval took them."""
    placements = {
        row["id"]: f"internship:{row['person']}:{row['programme']}"
        for row in await sql("SELECT id, person, programme FROM internship_placement")
    }
    restored: set[str] = set()
    for table, claim_column in (("claim", "id"), ("claim_calculation", "claim")):
        rows = await sql(
            f"SELECT t.id AS row_id, c.details FROM {table} AS t "
            f"JOIN claim AS c ON c.id = t.{claim_column} "
            "WHERE t.cap_key LIKE 'internship:%:programme-%'"
        )
        by_key: dict[str, list[int]] = defaultdict(list)
        for row in rows:
            placement_id = json.loads(row["details"] or "{}").get("placement_id")
            if placement_id in placements:
                by_key[placements[placement_id]].append(row["row_id"])
        for key, ids in by_key.items():
            restored.add(key)
            for at in range(0, len(ids), 500):
                chunk = ids[at : at + 500]
                marks = ", ".join("{}" for _ in chunk)
                await sql(f"UPDATE {table} SET cap_key = {{}} WHERE id IN ({marks})", key, *chunk)
    await run_sql("DELETE FROM cap_usage WHERE key LIKE 'internship:%:programme-%'")
    statuses = ", ".join(f"'{s}'" for s in COMMITTED)
    for key in sorted(restored):
        used = await sql(
            "SELECT COALESCE(SUM(amount_fen), 0) AS used FROM claim WHERE cap_key = {} "
            f"AND amount_fen > 0 AND decided_at IS NOT NULL AND status IN ({statuses})",
            key,
        )
        if used[0]["used"]:
            await sql(
                "INSERT INTO cap_usage (key, used_fen, updated_at) VALUES "
                "({}, {}, CURRENT_TIMESTAMP) ON CONFLICT (key) DO UPDATE SET "
                "used_fen = excluded.used_fen",
                key,
                int(used[0]["used"]),
            )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="internships", description=DESCRIPTION)

    async def register_programmes():
        await _create_schema()
        mapped = await _register_groups()
        merged = await _move_cap_keys(mapped)
        await _hold_merged(merged)

    async def free_text_again():
        await _typed_keys_again()
        await run_sql("DROP INDEX internship_placement_programme_id")
        await run_sql("ALTER TABLE internship_placement DROP COLUMN programme_id")
        await run_sql("DROP TABLE internship_programme")

    manager.add_raw(register_programmes)
    manager.add_raw_backwards(free_text_again)
    return manager
