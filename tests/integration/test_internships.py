"""Internship placements, monthly attendance reports (one by one and as CSV/XLSX files)
and their calculation, through the API on SQLite and PostgreSQL. Months are in 2025:
attendance is reported after the month has ended."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date
from typing import Any

import httpx
import pytest
import xlsxwriter

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from subsidies.claims.tables import Claim
from subsidies.internships import programme_rules, programmes
from subsidies.internships.month_rows import COLUMNS
from subsidies.policies import catalogue
from tests.conftest import ADMIN, bearer, org_key, staff_token, unique
from tests.support import registry_data, waiting
from tests.support.claim_rows import claim_rows

PREFIX = "/api/v1/internships"
# This test's registered programmes: name -> id (made afresh for each test).
REGISTERED: dict[str, int] = {}


async def register_programme(name: str, **changes: Any) -> dict[str, Any]:
    fields = {
        "name": name,
        "plan_year": 2025,
        "start_date": date(2022, 1, 1),  # the internship policy's first day
        "end_date": date(2099, 12, 31),
        **changes,
    }
    return await programmes.create(ADMIN, programme_rules.ProgrammeFields(**fields))


@pytest.fixture(autouse=True)
async def registered(db: str) -> None:
    REGISTERED.clear()
    for plan in ("百校千人", "莞训"):
        name = unique(f"{plan}-2025-")
        REGISTERED[plan] = (await register_programme(name))["id"]
        REGISTERED[f"{plan}:name"] = name


def programme_name(plan: str = "百校千人") -> str:
    return str(REGISTERED[f"{plan}:name"])


def placement_body(person_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "school": "东莞市技师学院",
        "programme_id": REGISTERED["百校千人"],
        "start_date": "2025-03-01",
        "end_date": "2025-08-31",
        "insurance_reference": unique("PICC-"),
        "insured_from": "2025-03-01",
        "insured_to": "2025-08-31",
        **changes,
    }


async def host() -> tuple[dict[str, Any], dict[str, str]]:
    org, key = await org_key("enterprise")
    return org, bearer(key)


async def officer(*roles: StaffRole) -> dict[str, str]:
    _, token = await staff_token(*(roles or (StaffRole.OFFICER,)))
    return bearer(token)


async def register(
    client: httpx.AsyncClient, h: dict[str, str], person_id: int, **changes: Any
) -> dict[str, Any]:
    r = await client.post(PREFIX, json=placement_body(person_id, **changes), headers=h)
    assert r.status_code == 201, r.text
    return r.json()


async def report(
    client: httpx.AsyncClient, h: dict[str, str], placement_id: int, month: str, days: int
) -> httpx.Response:
    return await client.post(
        f"{PREFIX}/{placement_id}/months", json={"month": month, "days_attended": days}, headers=h
    )


async def months_reported(
    client: httpx.AsyncClient, start: str, end: str, months: list[tuple[str, int]]
) -> tuple[dict[str, str], dict[str, Any], list[int]]:
    """A new intern placed (and insured) from `start` to `end` by a new host, who
    reports `months` (month, days attended): the host's headers, the placement and the
    claim ids."""
    _, h = await host()
    person = await registry_data.person()
    placement = await register(
        client,
        h,
        person["id"],
        start_date=start,
        end_date=end,
        insured_from=start,
        insured_to=end,
    )
    ids = []
    for month, days in months:
        r = await report(client, h, placement["id"], month, days)
        assert r.status_code == 201, r.text
        ids.append(r.json()["claim_id"])
    return h, placement, ids


async def calculated(claim_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Waits for the calculation runs the reports queued."""
    rows = await waiting.until(
        lambda: claim_rows(Claim.id.is_in(claim_ids)),
        lambda rows: len(rows) == len(claim_ids) and all(r["status"] == "calculated" for r in rows),
        f"claims {claim_ids} calculated",
    )
    return {r["id"]: r for r in rows}


def trace_text(claim: dict[str, Any], language: str = "en") -> str:
    import json

    return " | ".join(step[language] for step in json.loads(claim["trace"]))


# -- placements ----------------------------------------------------------------------


async def test_an_enterprise_registers_an_intern_and_reports_a_month(client):
    org, h = await host()
    person = await registry_data.person()
    placement = await register(client, h, person["id"])
    assert placement["host_organisation_id"] == org["id"]
    assert placement["person_id"] == person["id"]
    assert placement["programme_id"] == REGISTERED["百校千人"]
    assert placement["programme"] == programme_name()
    assert placement["id_number"] != person["id_number"]  # masked for organisations
    assert placement["months"] == []

    r = await report(client, h, placement["id"], "2025-03", 31)
    assert r.status_code == 201, r.text
    month = r.json()
    assert month["month"] == "2025-03" and month["days_attended"] == 31
    assert month["days_in_month"] == 31 and month["calculation_job_id"] > 0
    claim_id = month["claim_id"]

    claim = (await calculated([claim_id]))[claim_id]
    assert claim["scheme"] == "internship" and claim["payee_kind"] == "organisation"
    assert claim["claimant"] == org["id"] and claim["payee_organisation"] == org["id"]
    assert claim["person"] == person["id"] and str(claim["basis_date"]) == "2025-03-01"
    assert claim["dedupe_key"] == f"internship:{placement['id']}:2025-03"
    assert claim["cap_key"] == f"internship:{person['id']}:programme-{REGISTERED['百校千人']}"
    assert claim["amount_fen"] == 300_000
    assert "3,000 yuan a month x 31/31 days = 3,000" in trace_text(claim)
    assert "3,000 元/月 × 31/31 天 = 3,000 元" in trace_text(claim, "zh")

    r = await client.get(f"{PREFIX}/{placement['id']}", headers=h)
    assert r.status_code == 200
    [shown] = r.json()["months"]
    assert shown["claim_id"] == claim_id and shown["amount_fen"] == 300_000
    assert shown["status"] == "calculated" and shown["trace"][0]["zh"]

    entries = await AuditEntry.select(AuditEntry.action).where(
        AuditEntry.object_id.is_in([str(placement["id"]), str(claim_id)])
    )
    actions = {e["action"] for e in entries}
    assert {"internship.registered", "internship.month_reported"} <= actions


async def test_placement_input_is_checked(client):
    _, h = await host()
    person = await registry_data.person()
    r = await client.post(PREFIX, json=placement_body(999_999_999), headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "person_id"
    r = await client.post(
        PREFIX,
        json=placement_body(person["id"], end_date="2025-02-28", insured_to="2025-02-01"),
        headers=h,
    )
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"end_date", "insured_to"}
    r = await client.post(PREFIX, json=placement_body(person["id"], school="  "), headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "school"
    # The same registration twice (e.g. a retried request) answers 409.
    first = await register(client, h, person["id"])
    r = await client.post(PREFIX, json=placement_body(person["id"]), headers=h)
    assert r.status_code == 409 and str(first["id"]) in r.json()["detail"]
    # A start date equal to the end date is a one-day placement.
    await register(client, h, person["id"], start_date="2025-09-01", end_date="2025-09-01")


async def test_who_may_register_and_see_placements(client):
    org, h = await host()
    other, oh = await host()
    person = await registry_data.person()
    placement = await register(client, h, person["id"])

    # Another enterprise: 404 on read and write, and its list does not show it.
    assert (await client.get(f"{PREFIX}/{placement['id']}", headers=oh)).status_code == 404
    assert (await report(client, oh, placement["id"], "2025-03", 5)).status_code == 404
    r = await client.put(
        f"{PREFIX}/{placement['id']}/insurance",
        json={"insurance_reference": "X", "insured_from": "2025-01-01", "insured_to": "2025-12-31"},
        headers=oh,
    )
    assert r.status_code == 404
    listed = (await client.get(PREFIX, headers=oh)).json()["items"]
    assert placement["id"] not in [p["id"] for p in listed]
    assert placement["id"] in [
        p["id"] for p in (await client.get(PREFIX, headers=h)).json()["items"]
    ]
    # An enterprise cannot register for another host.
    r = await client.post(
        PREFIX, json=placement_body(person["id"], host_organisation_id=other["id"]), headers=h
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "host_organisation_id"

    # A training institution does not host interns.
    _, tkey = await org_key("training_institution")
    r = await client.post(PREFIX, json=placement_body(person["id"]), headers=bearer(tkey))
    assert r.status_code == 403

    # An officer registers on a host's behalf and sees whole ID numbers; a reviewer may
    # read but not write.
    oh_staff = await officer()
    r = await client.post(PREFIX, json=placement_body(person["id"]), headers=oh_staff)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "host_organisation_id"
    r = await client.post(
        PREFIX,
        json=placement_body(person["id"], host_organisation_id=other["id"]),
        headers=oh_staff,
    )
    assert r.status_code == 201, r.text
    assert r.json()["host_organisation_id"] == other["id"]
    assert r.json()["id_number"] == person["id_number"]
    rh = await officer(StaffRole.REVIEWER)
    assert (await client.get(f"{PREFIX}/{placement['id']}", headers=rh)).status_code == 200
    assert (await report(client, rh, placement["id"], "2025-03", 5)).status_code == 403
    r = await client.get(PREFIX, params={"host_organisation_id": org["id"]}, headers=rh)
    assert [p["id"] for p in r.json()["items"]] == [placement["id"]]


# -- monthly reports -----------------------------------------------------------------


async def test_a_month_is_reported_once(client):
    _, h = await host()
    person = await registry_data.person()
    placement = await register(client, h, person["id"])
    r = await report(client, h, placement["id"], "2025-04", 30)
    assert r.status_code == 201, r.text
    claim_id = r.json()["claim_id"]
    again = await report(client, h, placement["id"], "2025-04", 12)
    assert again.status_code == 409
    assert f"claim {claim_id}" in again.json()["detail"]
    assert again.json()["errors"][0]["field"] == "dedupe_key"


async def test_days_must_lie_within_the_month_and_the_placement(client):
    _, h = await host()
    person = await registry_data.person()
    placement = await register(
        client, h, person["id"], start_date="2025-03-10", end_date="2025-05-20"
    )
    pid = placement["id"]
    cases = [
        ("2025-03", 23, "days_attended"),  # 22 placement days in March (10th-31st)
        ("2025-05", 21, "days_attended"),  # 20 in May (1st-20th)
        ("2025-02", 1, "month"),  # before the placement
        ("2025-06", 1, "month"),  # after it
        ("2025-04", 31, "days_attended"),  # April has 30 days
        ("2025-04", 0, "days_attended"),
        ("2025-13", 5, "month"),
        ("March", 5, "month"),
    ]
    for month, days, field in cases:
        r = await report(client, h, pid, month, days)
        assert r.status_code == 400, (month, days, r.text)
        assert r.json()["errors"][0]["field"] == field, (month, days, r.text)
    outside = await report(client, h, pid, "2025-03", 23)
    assert "a day outside the placement" in outside.json()["errors"][0]["reason"]
    # The edges pass.
    assert (await report(client, h, pid, "2025-03", 22)).status_code == 201
    assert (await report(client, h, pid, "2025-05", 20)).status_code == 201
    # A month that has not ended cannot be reported yet.
    future = await register(client, h, person["id"], start_date="2099-01-01", end_date="2099-03-31")
    r = await report(client, h, future["id"], "2099-01", 5)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "month"


async def test_a_month_not_insured_for_the_whole_period_calculates_to_zero(client):
    _, h = await host()
    person = await registry_data.person()
    # Insured from the 5th: March is not covered from its first placement day.
    placement = await register(
        client, h, person["id"], insured_from="2025-03-05", insured_to="2025-04-30"
    )
    march = (await report(client, h, placement["id"], "2025-03", 31)).json()["claim_id"]
    april = (await report(client, h, placement["id"], "2025-04", 30)).json()["claim_id"]
    may = (await report(client, h, placement["id"], "2025-05", 31)).json()["claim_id"]
    claims = await calculated([march, april, may])
    assert claims[march]["amount_fen"] == 0
    assert "insured for the whole period" in trace_text(claims[march])
    assert "期间已参保" in trace_text(claims[march], "zh")
    assert claims[april]["amount_fen"] == 300_000
    assert claims[may]["amount_fen"] == 0  # insurance ended on April 30
    # The host records renewed insurance; a later month is covered.
    r = await client.put(
        f"{PREFIX}/{placement['id']}/insurance",
        json={
            "insurance_reference": "PICC-R",
            "insured_from": "2025-03-01",
            "insured_to": "2025-08-31",
        },
        headers=h,
    )
    assert r.status_code == 200 and r.json()["insured_to"] == "2025-08-31"
    june = (await report(client, h, placement["id"], "2025-06", 30)).json()["claim_id"]
    assert (await calculated([june]))[june]["amount_fen"] == 300_000


async def test_two_hosts_for_one_intern_share_the_months_and_the_cap(client):
    _, ha = await host()
    _, hb = await host()
    person = await registry_data.person()
    a = await register(client, ha, person["id"], start_date="2025-03-01", end_date="2025-04-30")
    b = await register(client, hb, person["id"], start_date="2025-04-15", end_date="2025-07-31")
    ids = []
    for h, pid, month, days in [
        (ha, a["id"], "2025-03", 31),
        (ha, a["id"], "2025-04", 30),
        (hb, b["id"], "2025-05", 31),
        (hb, b["id"], "2025-06", 30),
    ]:
        r = await report(client, h, pid, month, days)
        assert r.status_code == 201, r.text
        ids.append(r.json()["claim_id"])
    # Host B cannot also be paid for April: host A already claimed the intern's April.
    r = await report(client, hb, b["id"], "2025-04", 16)
    assert r.status_code == 409 and f"claim {ids[1]}" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "month"

    claims = await calculated(ids)
    amounts = [claims[i]["amount_fen"] for i in ids]
    assert amounts == [300_000, 300_000, 300_000, 0]
    assert sum(amounts) == 900_000
    assert "month 4 of this intern" in trace_text(claims[ids[3]])
    assert "cap 9,000 per intern, 6,000 already" in trace_text(claims[ids[2]])
    # Another programme is a separate cap.
    c = await register(
        client,
        hb,
        person["id"],
        programme_id=REGISTERED["莞训"],
        start_date="2025-08-01",
        end_date="2025-08-31",
    )
    r = await report(client, hb, c["id"], "2025-08", 31)
    assert r.status_code == 201
    claim_id = r.json()["claim_id"]
    assert (await calculated([claim_id]))[claim_id]["amount_fen"] == 300_000


async def test_a_month_reported_after_three_later_months_paid_is_a_fourth_and_pays_nothing(
    client,
):
    """At most three months pay, whatever order they are reported in. Partial later
    months leave room under the 9,000 cap, so only the month limit can refuse the
    late-reported March. A what-if of the unchanged policy agrees: nothing changes."""
    h, placement, later = await months_reported(
        client, "2022-03-01", "2022-08-31", [("2022-04", 20), ("2022-05", 20), ("2022-06", 20)]
    )
    paid = await calculated(later)
    assert [paid[i]["amount_fen"] for i in later] == [200_000, 193_548, 200_000]

    r = await report(client, h, placement["id"], "2022-03", 31)
    assert r.status_code == 201, r.text
    march = r.json()["claim_id"]
    claim = (await calculated([march]))[march]
    assert claim["amount_fen"] == 0
    assert "month 4 of this intern" in trace_text(claim)

    default = (await catalogue.get_version("internship", 1)).policy.raw
    draft = {k: v for k, v in default.items() if k not in ("scheme", "version")}
    draft.update(effective_from="2022-03-01", effective_to="2022-06-30")
    r = await client.post(
        "/api/v1/policies/internship/simulate", headers=await officer(), json=draft
    )
    assert r.status_code == 200, r.text
    assert (r.json()["claims"], r.json()["up"], r.json()["down"]) == (4, 0, 0), r.json()


async def test_a_withdrawn_month_can_be_reported_again(client):
    _, ha = await host()
    _, hb = await host()
    person = await registry_data.person()
    a = await register(client, ha, person["id"])
    b = await register(client, hb, person["id"])
    first = (await report(client, ha, a["id"], "2025-07", 31)).json()["claim_id"]
    assert (await report(client, hb, b["id"], "2025-07", 31)).status_code == 409
    await calculated([first])
    r = await client.post(f"/api/v1/claims/{first}/withdraw", headers=ha)
    assert r.status_code == 200, r.text
    assert (await report(client, hb, b["id"], "2025-07", 31)).status_code == 201
    assert (await report(client, ha, a["id"], "2025-07", 20)).status_code == 409


# -- files ---------------------------------------------------------------------------


def months_csv(rows: list[list[str]], *, english: bool = False, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.en if english else c.zh for c in COLUMNS])
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def months_xlsx(rows: list[list[Any]]) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, [f"{c.zh}/{c.en}" for c in COLUMNS])
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(i, j, value)
            else:
                sheet.write_number(i, j, value)
    workbook.close()
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient, h: dict[str, str], content: bytes, filename: str, **params: Any
) -> httpx.Response:
    return await client.post(
        f"{PREFIX}/month-files", params={"filename": filename, **params}, content=content, headers=h
    )


def error_rows(content: bytes) -> list[tuple[int, str, str]]:
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return [(int(r[0]), r[1], r[2]) for r in table[1:]]


async def test_a_csv_file_of_months_with_row_errors(client):
    org, h = await host()
    alice, bob, carol = [await registry_data.person() for _ in range(3)]
    pa = await register(client, h, alice["id"])
    pb = await register(client, h, bob["id"], start_date="2025-03-10")
    await register(client, h, carol["id"], programme_id=REGISTERED["莞训"])
    await register(client, h, carol["id"])  # carol: two placements touch March
    already = (await report(client, h, pa["id"], "2025-03", 31)).json()["claim_id"]
    bob_may = (await report(client, h, pb["id"], "2025-05", 31)).json()["claim_id"]
    unknown = registry_data.resident_id()
    rows = [
        [
            "",
            alice["id_number"],
            alice["name"],
            "",
            "2025-03",
            "31",
        ],  # 2: same as claimed: duplicate
        ["", alice["id_number"], "", "", "2025-04", "30"],  # 3: accepted
        ["", alice["id_number"], "", "", "2025/5", "31"],  # 4: accepted (2025-05)
        ["", alice["id_number"], "", "", "2025-05", "31"],  # 5: repeats row 4: duplicate
        ["", alice["id_number"], "", "", "2025-06", "29"],  # 6: accepted
        ["", alice["id_number"], "", "", "2025-06", "30"],  # 7: other days than row 6
        [str(pb["id"]), bob["id_number"], "", "", "2025-03", "23"],  # 8: 22 days in March
        [str(pb["id"]), bob["id_number"], "李四", "", "2025-04", "30"],  # 9: name mismatch
        ["", bob["id_number"], "", "", "2025-13", "3"],  # 10: month format
        ["", "12345", "", "", "2025-04", "3"],  # 11: ID format
        ["", unknown, "", "", "2025-04", "3"],  # 12: not registered
        ["", carol["id_number"], "", "", "2025-03", "20"],  # 13: ambiguous
        ["", carol["id_number"], "", programme_name("莞训"), "2025-03", "20"],  # 14: accepted
        [str(pa["id"]), bob["id_number"], "", "", "2025-07", "20"],  # 15: another intern's
        ["", bob["id_number"], "", "", "2025-04", "x"],  # 16: days
        ["", "", "", "", "", ""],  # blank line: skipped by the reader? -> required
        ["", bob["id_number"], "", "", "2025-05", "20"],  # 18: already claimed, other days
    ]
    r = await upload(client, h, months_csv(rows), "months.csv")
    assert r.status_code == 201, r.text
    result = r.json()
    assert result["host_organisation_id"] == org["id"]
    assert (result["accepted"], result["duplicate"]) == (4, 2), result
    assert result["rejected"] == result["total_rows"] - 6
    assert len(result["claim_ids"]) == 4 and result["calculation_job_id"] > 0

    errors = await client.get(result["error_file_csv"], headers=h)
    assert errors.status_code == 200
    found = {(row, code) for row, _, code in error_rows(errors.content)}
    expected = {
        (7, "DUPLICATE_ROW"),
        (8, "DAYS_OUTSIDE_PLACEMENT"),
        (9, "NAME_MISMATCH"),
        (10, "MONTH_FORMAT"),
        (11, "ID_FORMAT"),
        (12, "PERSON_UNKNOWN"),
        (13, "PLACEMENT_AMBIGUOUS"),
        (15, "PLACEMENT_PERSON"),
        (16, "DAYS"),
        (18, "MONTH_ALREADY_CLAIMED"),
    }
    assert expected <= found, found - expected
    assert not {row for row, _ in found} & {2, 3, 4, 5, 6, 14}
    columns = {(row, column) for row, column, _ in error_rows(errors.content)}
    assert (8, "出勤天数/Days attended") in columns
    xlsx = await client.get(result["error_file_xlsx"], headers=h)
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")

    # The accepted rows are claims; the rejected ones changed nothing.
    claims = await calculated(result["claim_ids"])
    months = sorted(str(c["basis_date"])[:7] for c in claims.values())
    assert months == ["2025-03", "2025-04", "2025-05", "2025-06"]
    by_month = {str(c["basis_date"])[:7]: c for c in claims.values() if c["person"] == alice["id"]}
    # Alice: March (claimed before), April, May, then June is her fourth month.
    assert [by_month[m]["amount_fen"] for m in ("2025-04", "2025-05", "2025-06")] == [
        300_000,
        300_000,
        0,
    ]
    bob_claims = await Claim.select(Claim.id).where(Claim.person == bob["id"])
    assert bob_claims == [{"id": bob_may}]
    assert already not in result["claim_ids"]

    # The same file again creates nothing.
    again = (await upload(client, h, months_csv(rows), "months.csv")).json()
    assert again["accepted"] == 0 and again["duplicate"] == 6 and again["claim_ids"] == []
    assert again["calculation_job_id"] is None

    # Another enterprise sees neither the file nor its errors.
    _, oh = await host()
    assert (await client.get(f"{PREFIX}/month-files/{result['id']}", headers=oh)).status_code == 404
    assert (await client.get(result["error_file_csv"], headers=oh)).status_code == 404
    mine = await client.get(f"{PREFIX}/month-files/{result['id']}", headers=h)
    assert mine.status_code == 200 and mine.json()["accepted"] == 4


async def test_a_gbk_csv_and_an_xlsx_file(client):
    _, h = await host()
    person = await registry_data.person()
    placement = await register(client, h, person["id"])
    gbk = months_csv(
        [["", person["id_number"], person["name"], programme_name(), "2025年3月", "31"]],
        encoding="gbk",
    )
    with_bom = b"\xef\xbb\xbf" + months_csv(
        [["", person["id_number"], "", "", "2025-04", "30"]], english=True
    )
    r = await upload(client, h, gbk, "三月.csv")
    assert r.status_code == 201, r.text
    assert r.json()["encoding"] == "gb18030" and r.json()["accepted"] == 1
    r = await upload(client, h, with_bom, "april.csv")
    assert r.status_code == 201 and r.json()["accepted"] == 1, r.text
    # XLSX: numbers as numbers, a month typed as text, the placement id given.
    content = months_xlsx(
        [
            [placement["id"], person["id_number"], "", "", "2025-05", 31],
            ["", person["id_number"], "", "", "2025-06", 40],
        ]
    )
    r = await upload(client, h, content, "months.xlsx")
    assert r.status_code == 201, r.text
    result = r.json()
    assert (result["accepted"], result["rejected"], result["file_format"]) == (1, 1, "xlsx")
    errors = await client.get(result["error_file_csv"], headers=h)
    assert [(row, code) for row, _, code in error_rows(errors.content)] == [(3, "DAYS")]
    placement = (await client.get(f"{PREFIX}/{placement['id']}", headers=h)).json()
    assert [m["month"] for m in placement["months"]] == ["2025-03", "2025-04", "2025-05"]


async def test_a_file_is_checked_as_a_whole(client):
    org, h = await host()
    r = await upload(client, h, "身份证号,月份\n1,2\n".encode(), "bad.csv")
    assert r.status_code == 400 and "出勤天数/Days attended" in r.json()["errors"][0]["reason"]
    r = await upload(client, h, b"%PDF-1.4 not a table", "months.pdf")
    assert r.status_code == 415
    r = await upload(client, h, months_csv([]), "empty.csv")
    assert r.status_code == 400
    # Staff upload for a named host.
    person = await registry_data.person()
    await register(client, h, person["id"])
    oh = await officer()
    content = months_csv([["", person["id_number"], "", "", "2025-08", "31"]])
    r = await upload(client, oh, content, "m.csv")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "host_organisation_id"
    r = await upload(client, oh, content, "m.csv", host_organisation_id=org["id"])
    assert r.status_code == 201 and r.json()["accepted"] == 1, r.text
    template = await client.get(f"{PREFIX}/month-files/template.csv", headers=h)
    assert template.status_code == 200 and "出勤天数/Days attended" in template.text


async def test_hosts_reporting_one_intern_month_at_once_get_one_claim(client):
    person = await registry_data.person()
    hosts = [await host() for _ in range(6)]
    placements = [await register(client, h, person["id"]) for _, h in hosts]
    answers = await asyncio.gather(
        *(
            report(client, h, placement["id"], "2025-08", 31)
            for (_, h), placement in zip(hosts, placements, strict=True)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409, 409, 409, 409, 409], [a.text for a in answers]
    live = await Claim.select(Claim.id).where(
        (Claim.person == person["id"]) & (Claim.status != "withdrawn")
    )
    assert len(live) == 1


async def test_simulating_a_lower_cap_reports_the_months_it_cuts(client):
    """What-if over internship claims: the cap spans the intern's claims in the run."""
    _, _, ids = await months_reported(
        client,
        "2023-05-01",
        "2023-08-31",
        [("2023-05", 31), ("2023-06", 30), ("2023-07", 31), ("2023-08", 31)],
    )
    before = await calculated(ids)
    assert [before[i]["amount_fen"] for i in ids] == [300_000, 300_000, 300_000, 0]

    default = (await catalogue.get_version("internship", 1)).policy.raw
    draft = {k: v for k, v in default.items() if k not in ("scheme", "version")}
    draft.update(
        effective_from="2023-05-01",
        effective_to="2023-08-31",
        parameters={**default["parameters"], "cap_per_intern_fen": 600_000},
    )
    r = await client.post(
        "/api/v1/policies/internship/simulate", headers=await officer(), json=draft
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["claims"] == 4
    assert (result["up"], result["down"], result["unchanged"]) == (0, 1, 3)
    assert (result["before_fen"], result["after_fen"]) == (900_000, 600_000)
    [cut] = result["examples"]
    assert (cut["claim_id"], cut["after_fen"]) == (ids[2], 0)
    # Nothing was written.
    assert [(await calculated(ids))[i]["amount_fen"] for i in ids] == [
        300_000, 300_000, 300_000, 0,
    ]  # fmt: skip
