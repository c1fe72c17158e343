"""Dated insured months (officer entry, the monthly import) and the clauses that read
them, and clause 3's school in Guangdong, through the API on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pytest
import xlsxwriter

from accounts.roles import StaffRole
from kernel.clock import local_today
from registry.credit_codes import make_credit_code
from registry.insured_months import add_months
from registry.tables import InsuredPeriod, Person
from tests.conftest import make_org, org_key, unique
from tests.integration.test_people import (
    audit_of,
    body,
    issue,
    make_person,
    registered_on,
    staff_headers,
)

IMPORT = "/api/v1/people/insured-months"


@pytest.fixture
def staff(db: str):
    return staff_headers(db)


def month(text: str) -> date:
    return date.fromisoformat(f"{text}-01")


async def recorded(person_id: int, first: str, last: str, on: date, source: str) -> None:
    """A period as it stands after being recorded on `on` (an import, or the migration
    of a single figure): the API records only as of today."""
    await InsuredPeriod.insert(
        InsuredPeriod(
            person=person_id,
            first_month=month(first),
            last_month=month(last),
            source=source,
            recorded_on=on,
            recorded_by="test",
        )
    ).run()


async def assess(client, h, person_id: int, on: str) -> dict[str, Any]:
    r = await client.get(
        f"/api/v1/people/{person_id}/registration-eligibility", headers=h, params={"on": on}
    )
    assert r.status_code == 200, r.text
    return r.json()


def clause(result: dict[str, Any], number: int) -> dict[str, Any]:
    return next(c for c in result["clauses"] if c["number"] == number)


def fact(result: dict[str, Any], number: int, name: str) -> dict[str, Any]:
    return next(f for f in clause(result, number)["facts"] if f["name"] == name)


def months_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["身份证号", "缴费月份", "单位统一社会信用代码"])
    writer.writerows(rows)
    return out.getvalue().encode()


# -- the dated case ----------------------------------------------------------------------


async def test_on_a_date_only_the_months_recorded_by_then_count(client, staff):
    """24 months confirmed on 2026-12-01 (2025-01 to 2026-12, as migrated), asked on
    2026-06-30: none of them was known then."""
    person = await make_person(birth=date(1990, 3, 3))
    issuer, _ = await org_key("evaluation_organisation")
    held = await issue(person["id"], issuer["id"], level=3, issued_on=date(2024, 1, 1))
    await registered_on(held, date(2024, 1, 1))
    await recorded(person["id"], "2025-01", "2026-12", date(2026, 12, 1), "legacy")
    h = await staff(StaffRole.REVIEWER)

    result = await assess(client, h, person["id"], "2026-06-30")
    assert result["eligible"] is False and result["state"] == "undetermined"
    assert result["applying_clauses"] == []
    assert clause(result, 2)["state"] == "undetermined" and clause(result, 2)["passed"] is False
    insured = fact(result, 2, "insured_months")
    assert insured["actual"] == 0 and insured["passed"] is None and insured["as_of"] is None
    # Of the 24, 18 months (2025-01 to 2026-06) lie up to the date, all recorded later.
    assert "18 months up to the date were recorded after it" in insured["note"]
    assert [(m["clause"], m["fact"]) for m in result["missing"]] == [(2, "insured_months")]

    # An import recorded on 2026-06-20 held 2024-12 to 2026-06: 19 months known on the date.
    await recorded(person["id"], "2024-12", "2026-06", date(2026, 6, 20), "import")
    result = await assess(client, h, person["id"], "2026-06-30")
    insured = fact(result, 2, "insured_months")
    assert insured["actual"] == 19 and insured["passed"] is False
    assert insured["as_of"] == "2026-06-20"
    assert clause(result, 2)["state"] == "failed"
    assert result["state"] == "not_eligible" and result["missing"] == []

    # On 2026-12-01 both were known: 2024-12 to 2026-12, overlaps counted once.
    result = await assess(client, h, person["id"], "2026-12-01")
    assert fact(result, 2, "insured_months")["actual"] == 25
    assert result["eligible"] is True and result["state"] == "eligible"
    assert result["applying_clauses"] == [2] and clause(result, 2)["state"] == "passed"


async def test_months_not_yet_reported_leave_clause_2_undetermined(client, staff):
    """On a date the months of the date's month and the two before it may not be reported
    yet: a shortfall they could make up is undetermined, a larger one fails."""
    issuer, _ = await org_key("evaluation_organisation")
    h = await staff(StaffRole.REVIEWER)

    async def senior_worker() -> dict[str, Any]:
        person = await make_person(birth=date(1990, 3, 3))
        held = await issue(person["id"], issuer["id"], level=3, issued_on=date(2024, 1, 1))
        await registered_on(held, date(2024, 1, 1))
        return person

    # 23 months (2024-07 to 2026-05) imported on 2026-06-05: June not reported yet.
    lagging = await senior_worker()
    await recorded(lagging["id"], "2024-07", "2026-05", date(2026, 6, 5), "import")
    result = await assess(client, h, lagging["id"], "2026-06-15")
    insured = fact(result, 2, "insured_months")
    assert insured["actual"] == 23 and insured["passed"] is None
    assert insured["as_of"] == "2026-06-05"
    assert clause(result, 2)["state"] == "undetermined" and result["state"] == "undetermined"
    [missing] = result["missing"]
    assert (missing["clause"], missing["fact"]) == (2, "insured_months")
    assert (
        "1 short of 24, which the months not reported by then (2026-06) could make up"
        in missing["reason"]
    )
    # June imported on 2026-07-03: 24 known from then on; on 2026-06-15 it stays open.
    await recorded(lagging["id"], "2026-06", "2026-06", date(2026, 7, 3), "import")
    result = await assess(client, h, lagging["id"], "2026-07-10")
    assert result["applying_clauses"] == [2] and result["state"] == "eligible"
    result = await assess(client, h, lagging["id"], "2026-06-15")
    assert result["state"] == "undetermined"

    # 20 months (2024-07 to 2026-02): the file imported on 2026-06-05 reached 2026-05, so
    # only 2026-06 may be unreported: 21, and it fails.
    short = await senior_worker()
    await recorded(short["id"], "2024-07", "2026-02", date(2026, 3, 5), "import")
    result = await assess(client, h, short["id"], "2026-06-15")
    insured = fact(result, 2, "insured_months")
    assert insured["actual"] == 20 and insured["passed"] is False
    assert "4 short of 24, more than the months not reported by then (2026-06)" in (insured["note"])
    assert "a month up to 2026-05, the latest month of the monthly files" in insured["note"]
    assert result["state"] == "not_eligible" and result["missing"] == []


async def test_months_the_imported_file_reached_but_not_recorded_are_not_insured(client, staff):
    """The monthly file reaches today's month (another person paid in it): the person's 21
    months, the last one four months ago, fail today rather than wait on three months
    the file has already reported."""
    issuer, _ = await org_key("evaluation_organisation")
    person, other = await make_person(birth=date(1990, 3, 3)), await make_person()
    held = await issue(person["id"], issuer["id"], level=3, issued_on=date(2024, 1, 1))
    await registered_on(held, date(2024, 1, 1))
    today = local_today()
    current = today.replace(day=1)
    paid = [add_months(current, -n) for n in range(24, 3, -1)]
    content = months_csv(
        [[person["id_number"], f"{m:%Y-%m}", ""] for m in paid]
        + [[other["id_number"], f"{current:%Y-%m}", ""]]
    )
    h = await staff(StaffRole.OFFICER)
    r = await client.post(IMPORT, params={"filename": "社保.csv"}, content=content, headers=h)
    assert r.status_code == 201, r.text

    result = await assess(client, h, person["id"], today.isoformat())
    insured = fact(result, 2, "insured_months")
    assert insured["actual"] == 21 and insured["passed"] is False
    assert f"a month up to {current:%Y-%m}, the latest month" in insured["note"]
    assert "more than the months not reported by then (none)" in insured["note"]
    assert clause(result, 2)["state"] == "failed" and result["state"] == "not_eligible"


# -- an officer's periods --------------------------------------------------------------------


async def test_an_officer_records_a_period_as_known_today(client, staff):
    person = await make_person()
    h = await staff(StaffRole.OFFICER)
    url = f"/api/v1/people/{person['id']}/insured-periods"
    code = make_credit_code(int(unique("")))
    r = await client.post(
        url,
        headers=h,
        json={"first_month": "2024-01", "last_month": "2024-12", "employer_credit_code": code},
    )
    assert r.status_code == 201, r.text
    period = r.json()
    today = local_today()
    assert period["first_month"] == "2024-01" and period["last_month"] == "2024-12"
    assert period["source"] == "officer" and period["recorded_on"] == today.isoformat()
    assert period["employer_credit_code"] == code
    # An overlapping period: each month counts once in the derived figure.
    r = await client.post(url, headers=h, json={"first_month": "2024-07", "last_month": "2025-06"})
    assert r.status_code == 201, r.text
    listed = (await client.get(url, headers=h)).json()
    assert [(p["first_month"], p["last_month"]) for p in listed] == [
        ("2024-01", "2024-12"),
        ("2024-07", "2025-06"),
    ]
    shown = (await client.get(f"/api/v1/people/{person['id']}", headers=h)).json()
    assert shown["insured_months"] == 18 and shown["insured_confirmed_on"] == today.isoformat()
    entries = await audit_of("person.insured_period_added", person["id"])
    assert len(entries) == 2
    assert json.loads(entries[0]["after"])["first_month"] == "2024-01"

    # Recorded today, the months do not count for yesterday.
    yesterday = date.fromordinal(today.toordinal() - 1).isoformat()
    result = await assess(client, h, person["id"], yesterday)
    assert fact(result, 2, "insured_months")["actual"] == 0


async def test_a_bad_period_is_refused_naming_each_field_and_records_nothing(client, staff):
    person = await make_person()
    h = await staff(StaffRole.OFFICER)
    url = f"/api/v1/people/{person['id']}/insured-periods"
    next_year = f"{local_today().year + 1}-01"
    for sent, fields in (
        ({"first_month": "2024-13", "last_month": "2024/12"}, ["first_month", "last_month"]),
        ({"first_month": "2024-06", "last_month": "2024-05"}, ["last_month"]),
        ({"first_month": "2024-06", "last_month": next_year}, ["first_month"]),
        ({"first_month": "1949-12", "last_month": "1950-02"}, ["first_month"]),
        ({"first_month": "0000-01", "last_month": "0000-12"}, ["first_month", "last_month"]),
        (
            {"first_month": "2024-01", "last_month": "2024-02", "employer_credit_code": "123"},
            ["employer_credit_code"],
        ),
    ):
        r = await client.post(url, headers=h, json=sent)
        assert r.status_code == 400, sent
        assert [e["field"] for e in r.json()["errors"]] == fields, r.text
    assert (await client.get(url, headers=h)).json() == []
    r = await client.post(
        "/api/v1/people/2147483000/insured-periods",
        headers=h,
        json={"first_month": "2024-01", "last_month": "2024-02"},
    )
    assert r.status_code == 404
    reviewer = await staff(StaffRole.REVIEWER)
    r = await client.post(
        url, headers=reviewer, json={"first_month": "2024-01", "last_month": "2024-02"}
    )
    assert r.status_code == 403


# -- the monthly file ------------------------------------------------------------------------


async def test_the_monthly_file_records_every_month_as_known_today(client, staff):
    one, two = await make_person(), await make_person()
    h = await staff(StaffRole.OFFICER)
    code = make_credit_code(int(unique("")))
    content = months_csv(
        [
            [one["id_number"], "2025-01", code],
            [one["id_number"], "2025-02", code],
            [one["id_number"], "2025-02", code],  # repeated: once
            [two["id_number"].lower(), "2025-03", ""],
        ]
    )
    r = await client.post(IMPORT, params={"filename": "社保.csv"}, content=content, headers=h)
    assert r.status_code == 201, r.text
    counts = r.json()
    assert (counts["total_rows"], counts["recorded"], counts["already_recorded"]) == (4, 3, 1)
    assert counts["people"] == 2 and counts["recorded_on"] == local_today().isoformat()
    periods = (await client.get(f"/api/v1/people/{one['id']}/insured-periods", headers=h)).json()
    assert [(p["first_month"], p["source"], p["employer_credit_code"]) for p in periods] == [
        ("2025-01", "import", code),
        ("2025-02", "import", code),
    ]
    assert periods[0]["source_file_sha256"] == counts["sha256"]
    row = await Person.select(Person.insured_months).where(Person.id == two["id"]).first().run()
    assert row["insured_months"] == 1
    # The same file again records nothing new.
    again = await client.post(IMPORT, params={"filename": "社保.csv"}, content=content, headers=h)
    assert again.status_code == 201 and again.json()["recorded"] == 0
    [entry, _] = await audit_of("person.insured_months_imported", counts["sha256"])
    assert json.loads(entry["after"])["recorded"] == 3


async def test_the_monthly_file_as_xlsx(client, staff):
    person = await make_person()
    h = await staff(StaffRole.ADMIN)
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["ID number", "Month", "Employer credit code"])
    sheet.write_row(1, 0, [person["id_number"], "2025-04"])
    sheet.write_row(2, 0, [person["id_number"], "2025年5月"])
    workbook.close()
    r = await client.post(
        IMPORT, params={"filename": "m.xlsx"}, content=buffer.getvalue(), headers=h
    )
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == ["row 3, column 缴费月份 (month)"]
    assert await InsuredPeriod.count().where(InsuredPeriod.person == person["id"]).run() == 0


async def test_a_file_with_a_bad_row_names_row_and_column_and_records_nothing(client, staff):
    person = await make_person()
    h = await staff(StaffRole.OFFICER)
    unknown = await make_person()
    await Person.delete().where(Person.id == unknown["id"]).run()  # a valid, unregistered ID
    content = months_csv(
        [
            [person["id_number"], "2025-01", ""],
            [person["id_number"], "2025-13", ""],
            [unknown["id_number"], "2025-02", "12345"],
            [person["id_number"], "0000-01", ""],
        ]
    )
    r = await client.post(IMPORT, params={"filename": "m.csv"}, content=content, headers=h)
    assert r.status_code == 400, r.text
    errors = [(e["field"], e["reason"]) for e in r.json()["errors"]]
    assert errors == [
        ("row 3, column 缴费月份 (month)", "must be a month as YYYY-MM"),
        ("row 4, column 身份证号 (id_number)", "no registered person has this ID number"),
        ("row 4, column 单位统一社会信用代码 (employer_credit_code)", errors[2][1]),
        ("row 5, column 缴费月份 (month)", "must be a month as YYYY-MM"),
    ]
    assert errors[2][1].startswith("not a valid credit code")
    assert await InsuredPeriod.count().where(InsuredPeriod.person == person["id"]).run() == 0
    # A file without the month column is refused at the door.
    r = await client.post(
        IMPORT,
        params={"filename": "m.csv"},
        content=b"ID number\n" + person["id_number"].encode(),
        headers=h,
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "file"


# -- clause 3: a school in Guangdong ------------------------------------------------------


async def school(client, h, **place: str) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/organisations",
        headers=h,
        json={
            "name": unique("职业技术学院"),
            "org_type": "vocational_school",
            "credit_code": make_credit_code(int(unique(""))),
            **place,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_clause_3_needs_a_registered_school_in_guangdong(client, staff):
    h = await staff(StaffRole.OFFICER)
    hunan = await school(client, h, province="湖南")
    assert hunan["province"] == "湖南省" and hunan["town"] is None
    dongguan = await make_org("technical_school")
    assert dongguan["province"] == "广东省"
    issuer, _ = await org_key("evaluation_organisation")
    asked = f"{local_today().year}-06-30"

    async def graduate_of(**facts: Any) -> dict[str, Any]:
        # Born 1970: too old for clause 2, so clause 3 decides alone.
        person = await make_person(birth=date(1970, 5, 5))
        r = await client.patch(
            f"/api/v1/people/{person['id']}",
            headers=h,
            json={"fresh_graduate": True, "graduate_year": local_today().year - 1, **facts},
        )
        assert r.status_code == 200, r.text
        held = await issue(person["id"], issuer["id"], level=3, issued_on=date(2024, 1, 1))
        await registered_on(held, date(2024, 1, 1))
        return r.json()

    from_hunan = await graduate_of(graduate_school_id=hunan["id"])
    assert from_hunan["graduate_school"] == hunan["name"]  # the school's name stands for it
    result = await assess(client, h, from_hunan["id"], asked)
    assert clause(result, 3)["state"] == "failed"
    assert fact(result, 3, "graduate_school")["passed"] is False
    assert "湖南省" in fact(result, 3, "graduate_school")["note"]
    assert result["eligible"] is False and result["state"] == "not_eligible"

    written = await graduate_of(graduate_school="某某技工学校")
    result = await assess(client, h, written["id"], asked)
    assert clause(result, 3)["state"] == "undetermined" and result["state"] == "undetermined"
    assert [(m["clause"], m["fact"]) for m in result["missing"]] == [(3, "graduate_school")]

    local = await graduate_of(graduate_school="东莞市技师学院", graduate_school_id=dongguan["id"])
    result = await assess(client, h, local["id"], asked)
    assert result["eligible"] is True and result["applying_clauses"] == [3]


async def test_a_graduate_school_must_be_a_school_and_a_province_a_province(client, staff):
    h = await staff(StaffRole.OFFICER)
    firm = await make_org("enterprise")
    person = await make_person()
    r = await client.patch(
        f"/api/v1/people/{person['id']}", headers=h, json={"graduate_school_id": firm["id"]}
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "graduate_school_id"
    r = await client.patch(
        f"/api/v1/people/{person['id']}", headers=h, json={"graduate_school_id": 2147483000}
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "graduate_school_id"
    base = {
        "name": unique("学校"),
        "org_type": "technical_school",
        "credit_code": make_credit_code(int(unique(""))),
    }
    for place, field in (
        ({"province": "火星"}, "province"),
        ({"town": "长安", "province": "湖南省"}, "province"),
        ({}, "town"),
    ):
        r = await client.post("/api/v1/organisations", headers=h, json={**base, **place})
        assert r.status_code == 400, place
        assert [e["field"] for e in r.json()["errors"]] == [field], r.text
    r = await client.post("/api/v1/organisations", headers=h, json={**base, "province": "44"})
    assert r.status_code == 201 and r.json()["province"] == "广东省"
    # Registered with the school linked: its name stands for the school's text.
    sent = body(fresh_graduate=True, graduate_school_id=r.json()["id"], graduate_year=2025)
    created = await client.post("/api/v1/people", headers=h, json=sent)
    assert created.status_code == 201, created.text
    assert created.json()["graduate_school"] == base["name"]
    assert created.json()["graduate_school_id"] == r.json()["id"]
