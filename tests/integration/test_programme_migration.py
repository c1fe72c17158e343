"""The internships migration that registers programmes from hosts' free-text names: one
programme per normalised name, placements linked, cap keys and approved figures merged,
the claims a merge puts over the cap held or flagged (audited), an unmappable name listed;
backwards gives each claim its typed key again. And the one that makes a registered
programme's placement unique per host, intern and start date."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.querystring import QueryString

from app.migrate import migrate
from audit.tables import AuditEntry
from kernel.db import bind_engine, engine, is_unique_violation, make_engine
from kernel.errors import Conflict
from subsidies.claims.tables import Claim
from subsidies.internships import programmes, service
from subsidies.internships.programme_rules import ProgrammeFields
from tests.conftest import ADMIN, make_org
from tests.support import databases, registry_data

MIGRATION = "2026-12-08T01:00:00:000000"
KEY = "2026-12-08T11:00:00:000000"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


async def sql(text: str, *args: object) -> list[dict]:
    return await engine().run_querystring(QueryString(text, *args))


async def placement(host: int, person: int, programme: str, start: str, end: str) -> int:
    rows = await sql(
        "INSERT INTO internship_placement (host, person, school, programme, start_date, "
        "end_date, insurance_reference, insured_from, insured_to, created_by, created_at, "
        "updated_at) VALUES ({}, {}, '东莞技师学院', {}, {}, {}, 'PICC', {}, {}, 'test', "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id",
        host,
        person,
        programme,
        date.fromisoformat(start),
        date.fromisoformat(end),
        date.fromisoformat(start),
        date.fromisoformat(end),
    )
    return rows[0]["id"]


async def claim(
    host: int, person: int, placement_id: int, month: str, status: str, typed: str
) -> int:
    rows = (
        await Claim.insert(
            Claim(
                scheme="internship",
                origin="application",
                dedupe_key=f"internship:{placement_id}:{month}",
                status=status,
                claimant=host,
                person=person,
                payee_kind="organisation",
                payee_organisation=host,
                basis_date=date.fromisoformat(f"{month}-01"),
                budget_year=int(month[:4]),
                details=json.dumps({"placement_id": placement_id, "days_attended": 30}),
                amount_fen=300_000,
                cap_key=f"internship:{person}:{typed}",
                submitted_by="test",
                decided_by="officer" if status in ("approved", "paid") else None,
                decided_at=NOW if status in ("approved", "paid") else None,
                paid_at=NOW if status == "paid" else None,
            )
        )
        .returning(Claim.id)
        .run()
    )
    return rows[0]["id"]


async def statuses_of(ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = await Claim.select(
        Claim.id, Claim.status, Claim.cap_key, Claim.hold_reason, Claim.recovery_reason
    ).where(Claim.id.is_in(ids))
    return {r["id"]: r for r in rows}


async def test_free_text_programmes_become_registered_ones(database_url, tmp_dir):
    # A database of its own: the test takes the schema back a step.
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    url = await databases.fresh_database(kind, tmp_dir)
    try:
        result = await run_backwards(
            app_name="internships", migration_id=MIGRATION, auto_agree=True
        )
        assert result.success, result.message
        a, b, c = [(await make_org())["id"] for _ in range(3)]
        x, y = [(await registry_data.person())["id"] for _ in range(2)]
        # Intern x: host A under "百校千人-2026" (3 months paid), host B under
        # "百校千人2026" (one month paid, one approved): 15,000 yuan against 9,000.
        pa = await placement(a, x, "百校千人-2026", "2026-03-01", "2026-05-31")
        pb = await placement(b, x, "百校千人2026", "2026-06-01", "2026-07-31")
        # Intern y: host C under "百校千人 2026", within the cap; and "莞训2026" for x.
        pc = await placement(c, y, "百校千人 2026", "2026-02-01", "2026-03-31")
        pd_ = await placement(a, x, "莞训2026", "2026-09-01", "2026-09-30")
        unmapped = await placement(c, y, "——", "2026-04-01", "2026-04-30")
        paid_a = [
            await claim(a, x, pa, m, "paid", "百校千人-2026")
            for m in ("2026-03", "2026-04", "2026-05")
        ]
        paid_b = await claim(b, x, pb, "2026-06", "paid", "百校千人2026")
        approved_b = await claim(b, x, pb, "2026-07", "approved", "百校千人2026")
        approved_c = await claim(c, y, pc, "2026-02", "approved", "百校千人 2026")
        other = await claim(a, x, pd_, "2026-09", "approved", "莞训2026")
        for key, used in (
            (f"internship:{x}:百校千人-2026", 900_000),
            (f"internship:{x}:百校千人2026", 600_000),
            (f"internship:{y}:百校千人 2026", 300_000),
            (f"internship:{x}:莞训2026", 300_000),
        ):
            await sql(
                "INSERT INTO cap_usage (key, used_fen, updated_at) "
                "VALUES ({}, {}, CURRENT_TIMESTAMP)",
                key,
                used,
            )

        result = await run_forwards(app_name="internships", migration_id="all", fake=False)
        assert result.success, result.message

        made = await sql(
            "SELECT id, name, plan_year, monthly_rate_fen, max_months, cap_per_intern_fen, "
            "start_date, end_date, needs_review FROM internship_programme ORDER BY id"
        )
        assert [(p["name"], p["plan_year"]) for p in made] == [
            ("百校千人-2026", 2026),  # three spellings, one each: the earliest placement's
            ("莞训2026", 2026),
        ]
        plan, guanxun = made[0]["id"], made[1]["id"]
        assert all(bool(p["needs_review"]) for p in made)
        assert (made[0]["monthly_rate_fen"], made[0]["max_months"]) == (300_000, 3)
        assert made[0]["cap_per_intern_fen"] == 900_000
        assert str(made[0]["start_date"])[:10] == "2026-02-01"
        assert str(made[0]["end_date"])[:10] == "2026-07-31"
        linked = await sql("SELECT id, programme_id FROM internship_placement ORDER BY id")
        assert {r["id"]: r["programme_id"] for r in linked} == {
            pa: plan,
            pb: plan,
            pc: plan,
            pd_: guanxun,
            unmapped: None,
        }

        shown = await statuses_of([*paid_a, paid_b, approved_b, approved_c, other])
        merged_x = f"internship:{x}:programme-{plan}"
        assert {shown[i]["cap_key"] for i in (*paid_a, paid_b, approved_b)} == {merged_x}
        assert shown[approved_c]["cap_key"] == f"internship:{y}:programme-{plan}"
        assert shown[other]["cap_key"] == f"internship:{x}:programme-{guanxun}"
        # Within the cap: unchanged. Beyond it: the paid month flagged, the approved held.
        assert all(shown[i]["status"] == "paid" and not shown[i]["recovery_reason"] for i in paid_a)
        assert shown[paid_b]["status"] == "paid"
        assert "百校千人-2026、百校千人2026" in shown[paid_b]["recovery_reason"]
        assert shown[approved_b]["status"] == "on_hold"
        assert "payment on hold" in shown[approved_b]["hold_reason"]
        assert shown[approved_c]["status"] == "approved"
        assert shown[other]["status"] == "approved"
        usage = {r["key"]: r["used_fen"] for r in await sql("SELECT key, used_fen FROM cap_usage")}
        assert usage == {
            merged_x: 1_500_000,
            f"internship:{y}:programme-{plan}": 300_000,
            f"internship:{x}:programme-{guanxun}": 300_000,
        }
        audited = await AuditEntry.select(AuditEntry.action, AuditEntry.object_id).where(
            AuditEntry.object_type == "claim"
        )
        assert {(e["action"], int(e["object_id"])) for e in audited} == {
            ("claim.recovery_flagged", paid_b),
            ("claim.put_on_hold", approved_b),
        }
        # An officer's lists: programmes to review, placements left unmapped.
        review = await programmes.list_all(
            needs_review=True, plan_year=None, after_id=None, limit=50
        )
        assert sorted(p["id"] for p in review) == [plan, guanxun]
        left = await programmes.unmapped_placements(ADMIN, after_id=None, limit=50)
        assert [(p["id"], p["programme_text"]) for p in left] == [(unmapped, "——")]
        with pytest.raises(Conflict) as refused:  # it takes no months
            await service.report_month(ADMIN, unmapped, "2026-04", 10)
        assert refused.value.details["field"] == "programme_id"
        # The officer confirms one; it leaves the list, audited.
        assert (await programmes.confirm(ADMIN, guanxun))["needs_review"] is False
        review = await programmes.list_all(
            needs_review=True, plan_year=None, after_id=None, limit=50
        )
        assert [p["id"] for p in review] == [plan]
        reviewed = await AuditEntry.select(AuditEntry.action).where(
            AuditEntry.object_type == "internship_programme"
        )
        assert [e["action"] for e in reviewed] == ["internship_programme.reviewed"]

        result = await run_backwards(
            app_name="internships", migration_id=MIGRATION, auto_agree=True
        )
        assert result.success, result.message
        shown = await statuses_of([*paid_a, paid_b, approved_b, approved_c, other])
        assert {shown[i]["cap_key"] for i in paid_a} == {f"internship:{x}:百校千人-2026"}
        assert {shown[i]["cap_key"] for i in (paid_b, approved_b)} == {
            f"internship:{x}:百校千人2026"
        }
        assert shown[approved_c]["cap_key"] == f"internship:{y}:百校千人 2026"
        usage = {r["key"]: r["used_fen"] for r in await sql("SELECT key, used_fen FROM cap_usage")}
        assert usage == {
            f"internship:{x}:百校千人-2026": 900_000,
            f"internship:{x}:百校千人2026": 600_000,  # the held claim was approved before
            f"internship:{y}:百校千人 2026": 300_000,
            f"internship:{x}:莞训2026": 300_000,
        }
        tables = await sql("SELECT COUNT(*) AS n FROM internship_placement")
        assert tables[0]["n"] == 5
        result = await run_forwards(app_name="internships", migration_id="all", fake=False)
        assert result.success, result.message
    finally:
        if kind == "postgresql":
            await databases.drop_pg_database(url)
        bind_engine(make_engine(database_url))
        await migrate()


async def test_one_mapped_placement_per_host_intern_programme_and_start(database_url, tmp_dir):
    """Two spellings of one plan at one host from one start date became two placements of
    one programme: the later is unmapped, its months approved or paid under the first
    held or flagged; then the index refuses another."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    url = await databases.fresh_database(kind, tmp_dir)
    try:
        result = await run_backwards(app_name="internships", migration_id=KEY, auto_agree=True)
        assert result.success, result.message
        a, b = [(await make_org())["id"] for _ in range(2)]
        x = (await registry_data.person())["id"]
        plan = (
            await programmes.create(
                ADMIN,
                ProgrammeFields("百校千人-2026", 2026, date(2026, 1, 1), date(2026, 12, 31)),
            )
        )["id"]
        first = await placement(a, x, "百校千人-2026", "2026-03-01", "2026-05-31")
        repeat = await placement(a, x, "百校千人2026", "2026-03-01", "2026-05-31")
        elsewhere = await placement(b, x, "百校千人2026", "2026-03-01", "2026-05-31")
        await sql("UPDATE internship_placement SET programme_id = {}", plan)
        typed = f"programme-{plan}"
        kept = [
            await claim(a, x, first, m, s, typed)
            for m, s in (("2026-03", "paid"), ("2026-04", "approved"))
        ]
        march, april, may = [
            await claim(a, x, repeat, m, s, typed)
            for m, s in (("2026-03", "paid"), ("2026-04", "submitted"), ("2026-05", "submitted"))
        ]

        result = await run_forwards(app_name="internships", migration_id="all", fake=False)
        assert result.success, result.message
        linked = await sql("SELECT id, programme_id FROM internship_placement ORDER BY id")
        assert {r["id"]: r["programme_id"] for r in linked} == {
            first: plan,
            repeat: None,
            elsewhere: plan,
        }
        shown = await statuses_of([*kept, march, april, may])
        assert [shown[i]["status"] for i in kept] == ["paid", "approved"]
        assert f"repeats placement {first}" in shown[march]["recovery_reason"]
        assert shown[april]["status"] == "on_hold"
        assert f"repeats placement {first}" in shown[april]["hold_reason"]
        assert shown[may]["status"] == "submitted"
        audited = await AuditEntry.select(AuditEntry.action, AuditEntry.object_id).where(
            AuditEntry.object_type == "claim"
        )
        assert {(e["action"], int(e["object_id"])) for e in audited} == {
            ("claim.recovery_flagged", march),
            ("claim.put_on_hold", april),
        }
        with pytest.raises(Exception) as refused:
            await sql(
                "UPDATE internship_placement SET programme_id = {} WHERE id = {}", plan, repeat
            )
        assert is_unique_violation(refused.value)

        result = await run_backwards(app_name="internships", migration_id=KEY, auto_agree=True)
        assert result.success, result.message
        await sql("UPDATE internship_placement SET programme_id = {} WHERE id = {}", plan, repeat)
        result = await run_forwards(app_name="internships", migration_id="all", fake=False)
        assert result.success, result.message
        again = await sql("SELECT programme_id FROM internship_placement WHERE id = {}", repeat)
        assert again[0]["programme_id"] is None
    finally:
        if kind == "postgresql":
            await databases.drop_pg_database(url)
        bind_engine(make_engine(database_url))
        await migrate()
