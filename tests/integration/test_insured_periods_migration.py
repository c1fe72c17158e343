"""The registry migrations that turn a person's single insured-months figure into a
dated period and give organisations a province; backwards removes both again."""

from __future__ import annotations

from datetime import date

from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.querystring import QueryString

from app.migrate import migrate
from kernel.db import bind_engine, engine, make_engine
from registry import certificates
from tests.conftest import ADMIN
from tests.integration.test_people import new_id
from tests.support import databases

SCHEMA = "2026-12-08T02:00:00:000000"


async def sql(text: str, *args: object) -> list[dict]:
    return [dict(r) for r in await engine().run_querystring(QueryString(text, *args))]


def day(value: object) -> str:
    return str(value)[:10]


async def test_the_legacy_figure_becomes_a_period_recorded_when_it_was_confirmed(
    database_url, tmp_dir
):
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    url = await databases.fresh_database(kind, tmp_dir)
    try:
        result = await run_backwards(app_name="registry", migration_id=SCHEMA, auto_agree=True)
        assert result.success, result.message
        person = (
            "INSERT INTO person (id_number, name, birth_date, sex, hukou, insured_months, "
            "insured_confirmed_on, fresh_graduate, graduate_school, created_by, created_at, "
            "updated_at) VALUES ({}, '王五', {}, 'M', 'non_local', {}, {}, {}, {}, 't', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        await sql(
            person,
            new_id(date(1990, 3, 3)),
            date(1990, 3, 3),
            24,
            date(2026, 12, 1),
            True,
            "湖南某学院",
        )
        await sql(
            person, new_id(date(1991, 3, 3)), date(1991, 3, 3), 0, date(2026, 1, 5), False, None
        )
        await sql(person, new_id(date(1992, 3, 3)), date(1992, 3, 3), None, None, False, None)
        await sql(
            "INSERT INTO organisation (name, org_type, credit_code, town, created_at) "
            "VALUES ('东莞市某技工学校', 'technical_school', '91441900MA4UQ0XX1A', '长安', "
            "CURRENT_TIMESTAMP)"
        )

        result = await run_forwards(app_name="registry", migration_id="all", fake=False)
        assert result.success, result.message
        periods = await sql(
            "SELECT person, first_month, last_month, source, recorded_on FROM insured_period"
        )
        assert len(periods) == 1  # 0 months and no figure leave no period
        [period] = periods
        assert (day(period["first_month"]), day(period["last_month"])) == (
            "2025-01-01",
            "2026-12-01",
        )
        assert (period["source"], day(period["recorded_on"])) == ("legacy", "2026-12-01")
        [kept] = await sql(
            "SELECT insured_months, graduate_school, graduate_school_id FROM person WHERE id = {}",
            period["person"],
        )
        assert kept == {
            "insured_months": 24,
            "graduate_school": "湖南某学院",
            "graduate_school_id": None,
        }
        [org] = await sql("SELECT province FROM organisation")
        assert org["province"] == "广东省"

        [issuer] = await sql("SELECT id FROM organisation")
        await sql(
            "INSERT INTO certificate (person, occupation_code, occupation_name, level, number, "
            "issuer, issued_on, route, status, created_by, created_at) VALUES ({}, '6-18-01-01', "
            "'车工', 3, 'M1', {}, {}, 'enterprise_self_evaluation', 'valid', 't', "
            "'2024-01-01 04:00:00+00:00')",  # registered the day it was issued
            period["person"],
            issuer["id"],
            date(2024, 1, 1),
        )
        await sql("UPDATE person SET graduate_year = 2025 WHERE id = {}", period["person"])
        # The exact case: 24 months confirmed on 2026-12-01 were not known on 2026-06-30.
        asked = await certificates.registration_eligibility(
            ADMIN, period["person"], date(2026, 6, 30)
        )
        insured = next(
            f for c in asked.clauses if c.number == 2 for f in c.facts if f.name == "insured_months"
        )
        assert insured.actual == 0 and insured.passed is None
        assert asked.state == "undetermined" and not asked.eligible
        # Clause 3's school is free text only: undetermined too.
        assert next(c for c in asked.clauses if c.number == 3).state == "undetermined"
        later = await certificates.registration_eligibility(
            ADMIN, period["person"], date(2026, 12, 1)
        )
        assert (
            next(
                f
                for c in later.clauses
                if c.number == 2
                for f in c.facts
                if f.name == "insured_months"
            ).actual
            == 24
        )

        result = await run_backwards(app_name="registry", migration_id=SCHEMA, auto_agree=True)
        assert result.success, result.message
        [row] = await sql("SELECT * FROM person WHERE insured_months = 24")
        assert "graduate_school_id" not in row and row["graduate_school"] == "湖南某学院"
        [org] = await sql("SELECT * FROM organisation")
        assert "province" not in org
        tables = await sql(
            "SELECT name FROM sqlite_master WHERE name = 'insured_period'"
            if kind == "sqlite"
            else "SELECT tablename AS name FROM pg_tables WHERE tablename = 'insured_period'"
        )
        assert tables == []
    finally:
        if kind == "postgresql":
            await databases.drop_pg_database(url)
        bind_engine(make_engine(database_url))
        await migrate()
