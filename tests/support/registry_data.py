"""Registry rows inserted straight into the tables, for tests that read them (search,
exports, statistics) without going through the services that write them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from accounts import api_keys
from registry.credit_codes import make_credit_code
from registry.levels import Route
from registry.resident_ids import compose
from registry.tables import Certificate, Organisation, Person, TrainingOutcome
from tests.conftest import ADMIN, unique

WELDER = "6-18-02-04"
ELECTRICIAN = "6-31-01-03"
_NAMES = {WELDER: "焊工", ELECTRICIAN: "电工"}


def _serial() -> int:
    return int(unique(""))


def resident_id() -> str:
    """A well-formed, session-unique resident ID (Dongguan region code). Its sequence
    numbers (901-999) are kept apart from those of tests.support.outcome_files
    (1-900), whose people are born in the same years."""
    n = _serial()
    birth = date(1970, 1, 1) + timedelta(days=n % 12_000)
    return compose("441900", birth, 901 + (n // 12_000) % 99)


async def organisation(town: str = "长安", org_type: str = "enterprise") -> dict[str, Any]:
    row = Organisation(
        name=unique("机构"),
        org_type=org_type,
        credit_code=make_credit_code(_serial()),
        town=town,
    )
    await row.save().run()
    return {"id": row.id, "name": row.name, "town": town, "org_type": org_type}


async def organisation_with_key(
    town: str = "长安", org_type: str = "training_institution"
) -> tuple[dict[str, Any], str]:
    org = await organisation(town, org_type)
    key = await api_keys.issue(ADMIN, org["id"], "test")
    return org, key["key"]


async def person(
    *,
    town: str | None = None,
    hukou: str = "non_local",
    name: str | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    number = resident_id()
    row = Person(
        id_number=number,
        name=name or unique("张"),
        birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        sex="M" if int(number[16]) % 2 else "F",
        hukou=hukou,
        town=town,
        created_by="test",
    )
    if created_at is not None:
        row.created_at = created_at
    await row.save().run()
    return {"id": row.id, "id_number": number, "name": row.name, "town": town}


async def certificate(
    holder: dict[str, Any],
    issuer: dict[str, Any],
    *,
    level: int = 3,
    occupation: str = WELDER,
    issued_on: date = date(2023, 5, 1),
    status: str = "valid",
) -> dict[str, Any]:
    row = Certificate(
        person=holder["id"],
        occupation_code=occupation,
        occupation_name=_NAMES.get(occupation, "职业"),
        level=level,
        number=unique("Z"),
        issuer=issuer["id"],
        issued_on=issued_on,
        route=Route.ENTERPRISE_SELF_EVALUATION,
        status=status,
        revoked_reason="test" if status == "revoked" else None,
        revoked_on=issued_on + timedelta(days=30) if status == "revoked" else None,
        created_by="test",
    )
    await row.save().run()
    return {"id": row.id, "number": row.number, "person": holder["id"], "issuer": issuer["id"]}


async def outcome(
    holder: dict[str, Any],
    institution: dict[str, Any],
    *,
    occupation: str = WELDER,
    end_date: date = date(2023, 6, 30),
    passed: bool = True,
    late: bool = False,
    cert: dict[str, Any] | None = None,
) -> dict[str, Any]:
    row = TrainingOutcome(
        institution=institution["id"],
        person=holder["id"],
        course=unique("课程"),
        occupation_code=occupation,
        occupation_name=_NAMES.get(occupation, "职业"),
        hours=80,
        start_date=end_date - timedelta(days=60),
        end_date=end_date,
        passed=passed,
        certificate=cert["id"] if cert else None,
        late=late,
    )
    await row.save().run()
    return {"id": row.id, "person": holder["id"], "institution": institution["id"]}
