"""Search lists, CSV/XLSX exports and skills statistics, through the API.

The database is shared with every other test of the session, so each test gives its
rows dates nobody else uses (issue and course-end dates in the 1950s-70s, statistics
years in the 1930s) or scopes its queries to organisations it just created.
"""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pandas as pd

from accounts.roles import StaffRole
from app.factory import create_app
from audit.tables import AuditEntry
from kernel.masking import mask_id_number
from tests.conftest import bearer, staff_token
from tests.support import registry_data as data
from tests.support.asgi import serve
from tests.support.registry_data import ELECTRICIAN, WELDER

_windows = itertools.count()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def window() -> date:
    """The first of 20 days of dates no other test uses."""
    return date(1950, 1, 1) + timedelta(days=20 * next(_windows))


async def as_staff(*roles: StaffRole) -> dict[str, str]:
    _, token = await staff_token(*roles)
    return bearer(token)


async def all_items(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**{k: str(v) for k, v in params.items()}, "limit": 200}
        if cursor:
            query["cursor"] = cursor
        r = await client.get(path, params=query, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


async def ids(client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any):
    return {item["id"] for item in await all_items(client, path, headers, **params)}


# -- filters --------------------------------------------------------------------------


async def test_certificate_filters_each_narrow_the_list(client):
    d0 = window()
    a, b = await data.organisation("虎门"), await data.organisation("长安")
    p1, p2, p3 = await data.person(town="东城"), await data.person(), await data.person()
    c1 = await data.certificate(p1, a, level=3, occupation=WELDER, issued_on=d0)
    c2 = await data.certificate(p2, a, level=5, occupation=ELECTRICIAN, issued_on=d0 + timedelta(1))
    c3 = await data.certificate(p3, b, level=3, issued_on=d0 + timedelta(5), status="revoked")
    c4 = await data.certificate(p1, b, level=2, occupation=ELECTRICIAN, issued_on=d0 + timedelta(9))
    c1, c2, c3, c4 = (c["id"] for c in (c1, c2, c3, c4))
    h = await as_staff(StaffRole.REVIEWER)
    scope = {"issued_from": d0, "issued_to": d0 + timedelta(10)}
    cases = [
        ({}, {c1, c2, c3, c4}),
        ({"level": 3}, {c1, c3}),
        ({"level": "高级工"}, {c1, c3}),
        ({"occupation": WELDER}, {c1, c3}),
        ({"town": "东城"}, {c1, c4}),  # the holder's town
        ({"town": "虎门"}, {c2}),  # holder without a town: the issuer's
        ({"town": "长安"}, {c3}),  # not c4: its holder lives in 东城
        ({"organisation": a["id"]}, {c1, c2}),
        ({"status": "revoked"}, {c3}),
        ({"status": "valid"}, {c1, c2, c4}),
        ({"person": p1["id"]}, {c1, c4}),
        ({"issued_from": d0 + timedelta(1), "issued_to": d0 + timedelta(5)}, {c2, c3}),
        ({"level": 2, "town": "东城", "status": "valid"}, {c4}),
    ]
    for extra, expected in cases:
        found = await ids(client, "/api/v1/certificates", h, **{**scope, **extra})
        assert found == expected, extra
    items = await all_items(client, "/api/v1/certificates", h, person=p2["id"])
    assert [i["id"] for i in items] == [c2]
    item = items[0]
    assert item["town"] == "虎门" and item["issuer_id"] == a["id"]
    assert (item["level"], item["level_zh"], item["level_en"]) == (5, "初级工", "junior worker")
    assert item["issued_on"] == str(d0 + timedelta(1)) and item["person_name"] == p2["name"]


async def test_people_filters_each_narrow_the_list(client):
    a = await data.organisation("虎门", "training_institution")
    b = await data.organisation("长安")
    p1 = await data.person(town="东城")
    await data.certificate(p1, a, level=2, occupation=WELDER)
    p2 = await data.person(town="虎门", hukou="local")
    await data.certificate(p2, a, level=4, occupation=WELDER)
    await data.certificate(p2, a, level=1, occupation=ELECTRICIAN, status="revoked")
    p3 = await data.person()
    await data.outcome(p3, a, occupation=ELECTRICIAN)
    # 20:00 on 1 March in Beijing
    p4 = await data.person(town="东城", created_at=datetime(2001, 3, 1, 12, tzinfo=UTC))
    await data.outcome(p4, a, occupation=WELDER, passed=False)
    await data.certificate(p4, b, level=3, occupation=ELECTRICIAN)
    # 23:30 on 28 February in Beijing
    p6 = await data.person(created_at=datetime(2001, 2, 28, 15, 30, tzinfo=UTC))
    await data.outcome(p6, a, occupation="2-02-07-04")
    p5 = await data.person(town="东城")
    await data.certificate(p5, b, level=5)
    p1, p2, p3, p4, p5, p6 = (p["id"] for p in (p1, p2, p3, p4, p5, p6))
    h = await as_staff(StaffRole.FINANCE)
    scope = {"organisation": a["id"]}
    cases = [
        ({}, {p1, p2, p3, p4, p6}),
        ({"town": "东城"}, {p1, p4}),
        ({"hukou": "local"}, {p2}),
        ({"level": 3}, {p1, p4}),  # p2's senior technician certificate is revoked
        ({"level": 2}, {p1}),
        ({"occupation": ELECTRICIAN}, {p3, p4}),  # an outcome, a certificate
        ({"occupation": WELDER}, {p1, p2, p4}),
        ({"level": 3, "occupation": WELDER}, {p1}),  # p4's senior worker is electrician
        ({"created_from": "2001-03-01", "created_to": "2001-03-01"}, {p4}),
        ({"created_to": "2001-02-28"}, {p6}),
    ]
    for extra, expected in cases:
        found = await ids(client, "/api/v1/people", h, **{**scope, **extra})
        assert found == expected, extra
    assert await ids(client, "/api/v1/people", h, organisation=b["id"]) == {p4, p5}
    shown = {i["id"]: i for i in await all_items(client, "/api/v1/people", h, **scope)}
    assert shown[p1]["highest_level"] == 2 and shown[p1]["level_zh"] == "技师"
    assert shown[p2]["highest_level"] == 4  # the revoked level 1 does not count
    assert shown[p3]["highest_level"] is None and shown[p4]["highest_level"] == 3


async def test_outcome_filters_each_narrow_the_list(client):
    d0 = window()
    a = await data.organisation("虎门", "training_institution")
    b = await data.organisation("长安", "training_institution")
    p1, p2 = await data.person(town="东城"), await data.person()
    o1 = await data.outcome(p1, a, occupation=WELDER, end_date=d0)
    o2 = await data.outcome(
        p2, a, occupation=ELECTRICIAN, end_date=d0 + timedelta(3), passed=False, late=True
    )
    cert = await data.certificate(p2, b, issued_on=d0)
    o3 = await data.outcome(p2, b, end_date=d0 + timedelta(8), late=True, cert=cert)
    o1, o2, o3 = (o["id"] for o in (o1, o2, o3))
    h = await as_staff(StaffRole.AUDITOR)
    scope = {"end_from": d0, "end_to": d0 + timedelta(10)}
    cases = [
        ({}, {o1, o2, o3}),
        ({"organisation": a["id"]}, {o1, o2}),
        ({"occupation": WELDER}, {o1, o3}),
        ({"passed": "false"}, {o2}),
        ({"passed": "true"}, {o1, o3}),
        ({"late": "true"}, {o2, o3}),
        ({"late": "否"}, {o1}),
        ({"person": p2["id"]}, {o2, o3}),
        ({"town": "虎门"}, {o2}),  # holder without a town: the institution's
        ({"town": "东城"}, {o1}),
        ({"end_from": d0 + timedelta(1), "end_to": d0 + timedelta(8)}, {o2, o3}),
    ]
    for extra, expected in cases:
        found = await ids(client, "/api/v1/outcomes", h, **{**scope, **extra})
        assert found == expected, extra
    [item] = await all_items(client, "/api/v1/outcomes", h, person=p2["id"], organisation=b["id"])
    assert item["certificate_number"] == cert["number"] and item["town"] == "长安"
    assert item["late"] is True and item["passed"] is True and item["hours"] == 80


async def test_lists_page_through_several_pages_without_gaps_or_repeats(client):
    d0 = window()
    org = await data.organisation("莞城", "training_institution")
    made = []
    for i in range(7):
        holder = await data.person()
        made.append((await data.certificate(holder, org, issued_on=d0 + timedelta(i)))["id"])
        await data.outcome(holder, org, end_date=d0 + timedelta(i))
    h = await as_staff(StaffRole.OFFICER)
    for path, params in (
        ("/api/v1/certificates", {"organisation": org["id"]}),
        ("/api/v1/people", {"organisation": org["id"]}),
        ("/api/v1/outcomes", {"end_from": d0, "end_to": d0 + timedelta(19)}),
    ):
        pages, cursor = [], None
        while True:
            query = {**{k: str(v) for k, v in params.items()}, "limit": 3}
            if cursor:
                query["cursor"] = cursor
            body = (await client.get(path, params=query, headers=h)).json()
            pages.append([i["id"] for i in body["items"]])
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert [len(p) for p in pages] == [3, 3, 1], (path, pages)
        seen = [i for p in pages for i in p]
        assert seen == sorted(set(seen)), path
    assert seen  # the last path walked the outcomes
    certificates = await ids(client, "/api/v1/certificates", h, organisation=org["id"])
    assert certificates == set(made)


# -- visibility and masking ------------------------------------------------------------


async def test_an_organisation_sees_only_its_own_records_and_people(client):
    a, a_key = await data.organisation_with_key("虎门")
    b, b_key = await data.organisation_with_key("长安")
    shared, only_b = await data.person(), await data.person()
    ca = await data.certificate(shared, a, level=4, occupation=WELDER)
    await data.certificate(shared, b, level=2, occupation=ELECTRICIAN)
    await data.certificate(only_b, b)
    oa = await data.outcome(shared, a)
    await data.outcome(only_b, b)
    ha = bearer(a_key)
    assert await ids(client, "/api/v1/certificates", ha) == {ca["id"]}
    assert await ids(client, "/api/v1/outcomes", ha) == {oa["id"]}
    people = await all_items(client, "/api/v1/people", ha)
    assert [p["id"] for p in people] == [shared["id"]]
    # Its own certificates only: b's technician certificate stays b's business.
    assert people[0]["highest_level"] == 4
    assert await ids(client, "/api/v1/people", ha, level=2) == set()
    assert await ids(client, "/api/v1/people", ha, occupation=ELECTRICIAN) == set()
    # Another organisation's id finds nothing, not even what the two share.
    for path in ("/api/v1/certificates", "/api/v1/outcomes", "/api/v1/people"):
        assert await ids(client, path, ha, organisation=b["id"]) == set(), path
    for path in ("/api/v1/certificates", "/api/v1/outcomes"):
        assert await ids(client, path, ha, person=only_b["id"]) == set(), path
    r = await client.get("/api/v1/certificates/export", headers=ha)
    rows = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig", dtype=str)
    assert rows["证书记录号 / record id"].astype(int).tolist() == [ca["id"]]
    hb = bearer(b_key)
    assert await ids(client, "/api/v1/people", hb) == {shared["id"], only_b["id"]}
    assert ca["id"] not in await ids(client, "/api/v1/certificates", hb)
    assert await ids(client, "/api/v1/certificates", hb, person=shared["id"], level=4) == set()
    staff = await as_staff(StaffRole.REVIEWER)
    staff_view = await all_items(client, "/api/v1/people", staff, organisation=a["id"])
    assert staff_view[0]["highest_level"] == 2
    r = await client.get("/api/v1/statistics/skills", headers=ha)
    assert r.status_code == 403


async def test_resident_ids_are_masked_except_for_officers_and_admins(client):
    org, key = await data.organisation_with_key("南城")
    holder = await data.person()
    await data.certificate(holder, org)
    await data.outcome(holder, org)
    full, masked = holder["id_number"], mask_id_number(holder["id_number"])
    assert masked == full[:4] + "*" * 10 + full[-4:]
    who = {role.value: await as_staff(role) for role in StaffRole}
    who["organisation"] = bearer(key)
    for label, headers in who.items():
        expected = full if label in ("officer", "admin") else masked
        for path in ("/api/v1/certificates", "/api/v1/outcomes", "/api/v1/people"):
            items = await all_items(client, path, headers, organisation=org["id"])
            assert [i["id_number"] for i in items] == [expected], (label, path)
    for label in ("officer", "reviewer"):
        r = await client.get(
            "/api/v1/people/export", params={"organisation": org["id"]}, headers=who[label]
        )
        rows = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig", dtype=str)
        expected = full if label == "officer" else masked
        assert rows["身份证号 / resident ID"].tolist() == [expected], label


# -- exports --------------------------------------------------------------------------


async def test_csv_export_has_a_bom_chinese_headers_and_the_filtered_rows(client):
    d0 = window()
    org = await data.organisation("虎门")
    holder = await data.person(name="=HYPERLINK(1)")
    certs = [
        await data.certificate(holder, org, level=level, issued_on=d0 + timedelta(level))
        for level in (1, 3, 5)
    ]
    _, token = await staff_token(StaffRole.OFFICER)
    params = {"format": "csv", "issued_from": str(d0), "issued_to": str(d0 + timedelta(4))}
    r = await client.get(
        "/api/v1/certificates/export",
        params=params,
        headers={**bearer(token), "X-Request-ID": f"export-{d0}"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="certificates-')
    assert r.headers["content-disposition"].split(";")[1].strip().endswith('.csv"')
    assert r.content.startswith(b"\xef\xbb\xbf")
    text = r.content.decode("utf-8-sig")
    header = text.splitlines()[0]
    assert "证书编号 / certificate number" in header and "镇街 / town" in header
    rows = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert rows["证书记录号 / record id"].astype(int).tolist() == [c["id"] for c in certs[:2]]
    assert rows["等级 / level"].tolist() == ["高级技师", "高级工"]
    assert rows["等级代码 / level code"].tolist() == ["1", "3"]
    # Readers get Chinese; the codes stay in columns of their own for machines.
    assert rows["评价途径 / route"].tolist() == ["企业自主评价"] * 2
    assert rows["评价途径代码 / route code"].tolist() == ["enterprise_self_evaluation"] * 2
    assert rows["状态 / status"].tolist() == ["有效"] * 2
    assert rows["状态代码 / status code"].tolist() == ["valid"] * 2
    assert rows["发证日期 / issue date"].tolist() == [
        str(d0 + timedelta(1)),
        str(d0 + timedelta(3)),
    ]
    assert rows["身份证号 / resident ID"].tolist() == [holder["id_number"]] * 2
    assert rows["镇街 / town"].tolist() == ["虎门"] * 2
    assert rows["撤销日期 / revocation date"].tolist() == ["", ""]
    # A name Excel would run as a formula is quoted.
    assert rows["姓名 / name"].tolist() == ["'=HYPERLINK(1)"] * 2
    entry = (
        await AuditEntry.select()
        .where(AuditEntry.action == "export", AuditEntry.request_id == f"export-{d0}")
        .first()
        .run()
    )
    assert entry["object_type"] == "certificate" and entry["actor"].startswith("staff:")
    assert json.loads(entry["after"]) == {
        "filters": {"issued_from": str(d0), "issued_to": str(d0 + timedelta(4))},
        "format": "csv",
        "rows": 2,
    }


async def test_xlsx_exports_open_and_hold_the_rows(client, settings):
    d0 = window()
    org = await data.organisation("长安", "training_institution")
    registered = datetime(2026, 12, 7, 19, 51, 51, 758300, tzinfo=UTC)
    people = [
        await data.person(town="虎门", hukou="local", created_at=registered),
        await data.person(hukou="unknown"),
    ]
    cert = await data.certificate(people[0], org, level=2, issued_on=d0)
    outcomes = [
        await data.outcome(people[0], org, end_date=d0, cert=cert),
        await data.outcome(people[1], org, end_date=d0 + timedelta(2), passed=False, late=True),
    ]
    h = await as_staff(StaffRole.REVIEWER)
    r = await client.get(
        "/api/v1/outcomes/export",
        params={"format": "xlsx", "organisation": org["id"]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(XLSX)
    assert '.xlsx"' in r.headers["content-disposition"]
    sheet = pd.read_excel(io.BytesIO(r.content), engine="calamine")
    assert sheet["培训记录号 / record id"].tolist() == [o["id"] for o in outcomes]
    assert sheet["是否合格 / passed"].tolist() == ["是", "否"]
    assert sheet["逾期报送 / reported late"].tolist() == ["否", "是"]
    assert [d.date() for d in sheet["结束日期 / end date"]] == [d0, d0 + timedelta(2)]
    assert sheet["证书编号 / certificate number"].tolist()[0] == cert["number"]
    assert sheet["镇街 / town"].tolist() == ["虎门", "长安"]
    assert sheet["身份证号 / resident ID"].tolist() == [
        mask_id_number(p["id_number"]) for p in people
    ]
    r = await client.get(
        "/api/v1/people/export", params={"format": "xlsx", "organisation": org["id"]}, headers=h
    )
    sheet = pd.read_excel(
        io.BytesIO(r.content),
        engine="calamine",
        dtype={"最高等级代码 / highest level code": "Int64"},
    )
    assert sheet["人员记录号 / record id"].tolist() == [p["id"] for p in people]
    assert sheet["最高等级 / highest level"].tolist()[0] == "技师"
    assert sheet["最高等级代码 / highest level code"].tolist()[0] == 2
    assert pd.isna(sheet["最高等级代码 / highest level code"].tolist()[1])
    assert set(sheet["性别 / sex"]) <= {"男", "女"}
    assert sheet["户籍 / hukou"].tolist() == ["本市户籍", "未知"]
    # Beijing time, to the second (19:51 UTC on the 7th is 03:51 on the 8th).
    at = sheet["登记时间(北京时间) / registered at (Beijing time)"].tolist()[0]
    assert at.to_pydatetime() == datetime(2026, 12, 8, 3, 51, 51)
    r = await client.get(
        "/api/v1/people/export", params={"format": "csv", "organisation": org["id"]}, headers=h
    )
    rows = pd.read_csv(io.StringIO(r.content.decode("utf-8-sig")), dtype=str, keep_default_na=False)
    assert rows["登记时间(北京时间) / registered at (Beijing time)"].tolist()[0] == (
        "2026-12-08 03:51:51"
    )
    assert rows["户籍 / hukou"].tolist() == ["本市户籍", "未知"]
    # The temporary file is gone once sent.
    assert not list((settings.data_dir / "tmp").glob("export-*.xlsx"))


async def test_an_export_over_the_row_cap_is_400_and_a_narrower_one_passes(db, settings):
    d0 = window()
    org = await data.organisation("虎门")
    for i in range(3):
        await data.certificate(await data.person(), org, issued_on=d0 + timedelta(i))
    app = create_app(replace(settings, export_max_rows=2), engine_bound=True, run_jobs=False)
    async with serve(app) as small:
        h = await as_staff(StaffRole.OFFICER)
        for fmt in ("csv", "xlsx"):
            r = await small.get(
                "/api/v1/certificates/export",
                params={"organisation": org["id"], "format": fmt},
                headers=h,
            )
            assert r.status_code == 400, r.text
            [error] = r.json()["errors"]
            assert error["field"] == "filters" and "3 rows" in error["reason"]
            assert "narrow" in error["reason"]
        r = await small.get(
            "/api/v1/certificates/export",
            params={"organisation": org["id"], "issued_to": str(d0 + timedelta(1))},
            headers=h,
        )
        assert r.status_code == 200
        assert len(pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig")) == 2


async def test_bad_filters_are_400_naming_every_field(client):
    h = await as_staff(StaffRole.OFFICER)
    cases = [
        (
            "/api/v1/certificates",
            {
                "level": "7",
                "town": "广州",
                "issued_from": "2023-13-01",
                "status": "lost",
                "organisation": "abc",
                "person": "0",
                "occupation": "welding",
                "colour": "red",
            },
            {"level", "town", "issued_from", "status", "organisation", "person", "occupation"}
            | {"colour"},
        ),
        (
            "/api/v1/certificates",
            {"issued_from": "2023-05-02", "issued_to": "2023-05-01"},
            {"issued_to"},
        ),
        (
            "/api/v1/people",
            {"hukou": "martian", "level": "0", "created_to": "yesterday", "town": "Paris"},
            {"hukou", "level", "created_to", "town"},
        ),
        (
            "/api/v1/outcomes",
            {"passed": "maybe", "late": "2", "end_from": "2023-02-30", "person": "1e3"},
            {"passed", "late", "end_from", "person"},
        ),
        ("/api/v1/outcomes/export", {"late": "soon"}, {"late"}),
        ("/api/v1/people/export", {"format": "pdf"}, {"format"}),
        ("/api/v1/certificates", {"organisation": str(2**31)}, {"organisation"}),
        (
            "/api/v1/statistics/skills",
            {"year_from": "abc", "year_to": "20x"},
            {"year_from", "year_to"},
        ),
        ("/api/v1/statistics/skills", {"year_from": "2024", "year_to": "2023"}, {"year_to"}),
        ("/api/v1/statistics/skills", {"format": "pdf"}, {"format"}),
        ("/api/v1/statistics/skills", {"town": "虎门"}, {"town"}),
    ]
    for path, params, fields in cases:
        r = await client.get(path, params=params, headers=h)
        assert r.status_code == 400, (path, params, r.text)
        assert {e["field"] for e in r.json()["errors"]} == fields, (path, r.json())
    r = await client.get("/api/v1/people", params={"limit": 0}, headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "limit"


# -- statistics -----------------------------------------------------------------------


async def test_skills_statistics_as_json_and_xlsx(client):
    a, b = await data.organisation("虎门"), await data.organisation("长安")
    p1, p2, p3 = await data.person(), await data.person(town="东城"), await data.person()
    await data.certificate(p1, a, level=3, issued_on=date(1931, 3, 1))  # 虎门 (issuer's)
    await data.certificate(p1, a, level=5, issued_on=date(1931, 4, 1))
    await data.certificate(p2, a, level=2, issued_on=date(1931, 5, 1))  # 东城 (holder's)
    await data.certificate(p3, b, level=4, issued_on=date(1932, 1, 1))  # 长安
    await data.certificate(p3, b, level=1, issued_on=date(1932, 2, 1), status="revoked")
    await data.certificate(p2, b, level=3, issued_on=date(1933, 1, 1))  # outside the years
    h = await as_staff(StaffRole.FINANCE)
    r = await client.get(
        "/api/v1/statistics/skills", params={"year_from": 1931, "year_to": 1932}, headers=h
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["year_from"], body["year_to"]) == (1931, 1932)
    assert body["by_town_level_year"] == [
        {
            "town": "虎门",
            "year": 1931,
            "level": 3,
            "level_zh": "高级工",
            "certificates": 1,
            "people": 1,
        },
        {
            "town": "虎门",
            "year": 1931,
            "level": 5,
            "level_zh": "初级工",
            "certificates": 1,
            "people": 1,
        },
        {
            "town": "东城",
            "year": 1931,
            "level": 2,
            "level_zh": "技师",
            "certificates": 1,
            "people": 1,
        },
        {
            "town": "长安",
            "year": 1932,
            "level": 4,
            "level_zh": "中级工",
            "certificates": 1,
            "people": 1,
        },
    ]

    def counts(c: int, p: int, high: int, share: float) -> dict[str, Any]:
        return {
            "certificates": c,
            "people": p,
            "high_skilled_certificates": high,
            "high_skilled_share": share,
        }

    assert body["by_town_year"] == [
        {"town": "虎门", "year": 1931, **counts(2, 1, 1, 50.0)},
        {"town": "东城", "year": 1931, **counts(1, 1, 1, 100.0)},
        {"town": "长安", "year": 1932, **counts(1, 1, 0, 0.0)},
    ]
    assert body["by_year"] == [
        {"year": 1931, **counts(3, 2, 2, 66.7)},
        {"year": 1932, **counts(1, 1, 0, 0.0)},
    ]
    assert body["total"] == counts(4, 3, 2, 50.0)

    r = await client.get(
        "/api/v1/statistics/skills",
        params={"year_from": 1931, "year_to": 1932, "format": "xlsx"},
        headers=h,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    assert "skills-statistics-1931-1932" in r.headers["content-disposition"]
    sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None, engine="calamine")
    detail, by_town, city = sheets.values()
    assert list(sheets) == ["镇街×等级×年份 town-level-year", "镇街×年份 town-year", "全市 city"]
    assert detail["等级 / level"].tolist() == ["高级工", "初级工", "技师", "中级工"]
    assert detail["等级代码 / level code"].tolist() == [3, 5, 2, 4]
    assert detail["镇街 / town"].tolist() == ["虎门", "虎门", "东城", "长安"]
    assert by_town["高技能占比(%) / high-skilled share (%)"].tolist() == [50.0, 100.0, 0.0]
    assert by_town["人数 / people"].tolist() == [1, 1, 1]
    assert city["年份 / year"].astype(str).tolist() == ["1931", "1932", "合计 total"]
    assert city["证书数 / certificates"].tolist() == [3, 1, 4]
    assert city["高技能占比(%) / high-skilled share (%)"].tolist() == [66.7, 0.0, 50.0]

    for role in (StaffRole.REVIEWER, StaffRole.AUDITOR, StaffRole.OFFICER, StaffRole.ADMIN):
        r = await client.get(
            "/api/v1/statistics/skills", params={"year_to": 1931}, headers=await as_staff(role)
        )
        assert r.status_code == 200 and r.json()["total"]["certificates"] >= 3, role
