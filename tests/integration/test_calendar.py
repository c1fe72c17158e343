"""The holiday calendar as data, on SQLite and PostgreSQL: an admin enters a year's
schedule (JSON or file), a notice reaching that year waits for it and then counts on it,
refusals change nothing, replacing a year is audited, officers plan periods of working
days, and from 1 November readiness warns while next year's schedule is missing.

The 2027 schedule below is TEST DATA shaped like a State Council notice, not the
official 2027 schedule."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import pytest
from piccolo.querystring import QueryString

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from calendar_days import replacements
from calendar_days.tables import CalendarDay, CalendarYear
from kernel import clock as kernel_clock
from kernel.db import engine, is_sqlite
from registry.appraisals import clock
from tests.conftest import bearer, org_key, staff_token
from tests.integration.test_appraisals import apply, employ, officer, pool_and_round, talent

SOURCE_2027 = "测试数据 (not the official 2027 schedule)"
SCHEDULE_2027 = [
    *({"date": f"2027-01-0{d}", "kind": "holiday", "name": "元旦"} for d in (1, 2, 3)),
    *({"date": f"2027-02-{d:02d}", "kind": "holiday", "name": "春节"} for d in range(6, 15)),
    {"date": "2027-02-20", "kind": "working_day", "name": "春节"},
]


@pytest.fixture
def day(monkeypatch):
    """Sets the appraisal workflow's today (a round takes applications in March 2026)."""
    state = {"today": date(2026, 3, 2)}
    monkeypatch.setattr(clock, "today", lambda: state["today"])
    return lambda value: state.update(today=value)


@pytest.fixture
def now(monkeypatch):
    """Sets the service's clock (UTC) for the calendar's warnings."""

    def set_now(moment: datetime) -> None:
        monkeypatch.setattr(kernel_clock, "utcnow", lambda: moment)

    return set_now


@pytest.fixture
async def without_2027(db):
    """2027 has no schedule before and after the test (the session's database is shared)."""

    async def drop() -> None:
        await CalendarDay.delete().where(CalendarDay.year == 2027)
        await CalendarYear.delete().where(CalendarYear.year == 2027)

    await drop()
    yield
    await drop()


async def admin() -> dict[str, str]:
    _, token = await staff_token(StaffRole.ADMIN)
    return bearer(token)


async def shortlisted_round(client, oh: dict[str, str]) -> str:
    """A round with one shortlisted application; the URL its notice is published at."""
    enterprise, key = await org_key("enterprise")
    rnd = await pool_and_round(client, oh)
    person = await talent()
    await employ(person, enterprise["id"])
    r = await apply(client, bearer(key), rnd["id"], person)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/appraisals/rounds/{rnd['id']}/shortlist", json={"places": 1}, headers=oh
    )
    assert r.status_code == 200, r.text
    return f"/api/v1/appraisals/rounds/{rnd['id']}/notices"


async def test_a_notice_into_2027_waits_for_its_schedule_then_counts_on_it(
    client, day, without_2027
):
    _, oh = await officer()
    publish = await shortlisted_round(client, oh)
    day(date(2026, 12, 27))
    notice = {"starts_on": "2026-12-28"}

    r = await client.post(publish, json=notice, headers=oh)
    assert r.status_code == 409, r.text
    assert "schedule for 2027 has not been entered" in r.json()["detail"]
    assert "PUT /api/v1/calendar/years/2027" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "starts_on"
    r = await client.get(
        "/api/v1/calendar/working-days", params={"start": "2026-12-28", "days": 10}, headers=oh
    )
    assert r.status_code == 409 and "for 2027" in r.json()["detail"]

    ah = await admin()
    r = await client.put(
        "/api/v1/calendar/years/2027",
        json={"source": SOURCE_2027, "days": SCHEDULE_2027},
        headers=ah,
    )
    assert r.status_code == 200, r.text
    entered = r.json()
    assert entered["year"] == 2027 and entered["source"] == SOURCE_2027
    assert len(entered["days"]) == len(SCHEDULE_2027)
    assert entered["days"][0] == {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}

    # Mon 28 - Thu 31 Dec (1-4), 1-3 Jan off, Mon 4 - Fri 8 Jan (5-9), Mon 11 Jan (10):
    # without the entered New Year's Day it would end on Fri 8 Jan.
    r = await client.post(publish, json=notice, headers=oh)
    assert r.status_code == 201, r.text
    assert r.json()["ends_on"] == "2027-01-11"
    assert r.json()["entries"][0]["notice_ends_on"] == "2027-01-11"

    [entry] = await AuditEntry.select().where(
        (AuditEntry.action == "calendar.year_entered") & (AuditEntry.object_id == "2027")
    )
    assert entry["actor"].startswith("staff:")
    assert entry["before"] is None
    after = json.loads(entry["after"])
    assert after["source"] == SOURCE_2027
    assert "2027-02-20 working_day 春节" in after["days"]


async def test_refusals_name_their_place_and_change_nothing(client):
    ah = await admin()
    _, oh = await officer()
    url = "/api/v1/calendar/years/2031"
    good = [
        {"date": "2031-01-01", "kind": "holiday", "name": "元旦"},
        {"date": "2031-01-04", "kind": "working_day", "name": "元旦"},  # a Saturday
    ]
    bad = [
        *good,
        {"date": "2032-01-01", "kind": "holiday", "name": "元旦"},
        {"date": "2031-01-06", "kind": "working_day", "name": "元旦"},  # a Monday
        {"date": "2031-01-01", "kind": "working_day", "name": "元旦"},
        {"date": "2031-01-04", "kind": "working_day", "name": "元旦"},
    ]
    r = await client.put(url, json={"source": "国办发明电〔2030〕1号", "days": bad}, headers=ah)
    assert r.status_code == 400, r.text
    errors = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert errors == {
        "days[2].date": "2032-01-01 is not in 2031",
        "days[3].date": "2031-01-06 is a weekday; an adjusted working day (调休上班) is a "
        "Saturday or Sunday",
        "days[4].date": "2031-01-01 is both a holiday and an adjusted working day "
        "(see days[0].date)",
        "days[5].date": "2031-01-04 appears again (first at days[1].date)",
    }
    r = await client.put(url, json={"source": " ", "days": good}, headers=ah)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "source"
    r = await client.put(url, json={"source": "x", "days": [{"date": "2031-13-01"}]}, headers=ah)
    assert r.status_code == 400 and "days[0]" in r.json()["errors"][0]["field"]
    r = await client.put(url, json={"source": "x", "days": good}, headers=oh)
    assert r.status_code == 403
    r = await client.put(
        "/api/v1/calendar/years/1999", json={"source": "x", "days": good}, headers=ah
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "year"

    upload = f"{url}/file"
    content = "日期,类型,名称\n2031-01-01,放假,元旦\n2031-01-07,上班,元旦\n2031-01-33,放假,元旦\n"
    r = await client.post(
        upload,
        params={"source": "国办发明电〔2030〕1号", "filename": "2031.csv"},
        content=content.encode("gb18030"),
        headers=ah,
    )
    assert r.status_code == 400, r.text
    assert {e["field"] for e in r.json()["errors"]} == {"row 4, column date", "row 3, column date"}
    assert (await client.get(url, headers=oh)).status_code == 404
    assert await CalendarDay.count().where(CalendarDay.year == 2031) == 0

    # The same year as a file (multipart), then replaced through the API: audited.
    content = "date,kind,name\n2031-01-01,holiday,元旦\n2031-01-04,working_day,元旦\n"
    r = await client.post(
        upload,
        params={"source": "国办发明电〔2030〕1号"},
        files={"file": ("2031.csv", content.encode(), "text/csv")},
        headers=ah,
    )
    assert r.status_code == 200, r.text
    assert [d["kind"] for d in r.json()["days"]] == ["holiday", "working_day"]
    r = await client.put(
        url, json={"source": "国办发明电〔2030〕2号", "days": good[:1]}, headers=ah
    )
    assert r.status_code == 200, r.text
    r = await client.get(url, headers=oh)
    assert r.json()["days"] == [{"date": "2031-01-01", "kind": "holiday", "name": "元旦"}]
    assert r.json()["source"] == "国办发明电〔2030〕2号"
    [entry] = await AuditEntry.select().where(
        (AuditEntry.action == "calendar.year_replaced") & (AuditEntry.object_id == "2031")
    )
    before, after = json.loads(entry["before"]), json.loads(entry["after"])
    assert before["source"] == "国办发明电〔2030〕1号" and len(before["days"]) == 2
    assert after == {
        "source": "国办发明电〔2030〕2号",
        "days": ["2031-01-01 holiday 元旦"],
        "moved": [],
    }

    r = await client.get("/api/v1/calendar/years", headers=oh)
    years = {y["year"]: y for y in r.json()["items"]}
    assert years[2026]["source"].startswith("chinesecalendar ")
    assert years[2026]["holidays"] == 33 and years[2026]["working_days"] == 6
    assert years[2031]["holidays"] == 1 and years[2031]["working_days"] == 0


async def test_officers_plan_a_period_of_working_days(client):
    _, token = await staff_token(StaffRole.REVIEWER)
    h = bearer(token)
    url = "/api/v1/calendar/working-days"
    r = await client.get(url, params={"start": "2026-09-18", "days": 10}, headers=h)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert (plan["first_day"], plan["end"]) == ("2026-09-18", "2026-10-08")
    crossed = [(d["date"], d["kind"], d["name"]) for d in plan["crossed"]]
    assert crossed[0] == ("2026-09-20", "working_day", "国庆节")
    assert ("2026-09-25", "holiday", "中秋节") in crossed
    assert crossed[-1] == ("2026-10-07", "holiday", "国庆节") and len(crossed) == 11
    # In the past too: the Friday before Spring Festival 2025 starts on day 1.
    r = await client.get(url, params={"start": "2025-01-24", "days": 10}, headers=h)
    assert r.json()["end"] == "2025-02-12"
    for params, field in (
        ({"start": "2026-09-18", "days": 0}, "days"),
        ({"start": "2026-09-18", "days": 251}, "days"),
        ({"start": "2026-02-30", "days": 5}, "start"),
        ({"start": "1999-01-04", "days": 5}, "start"),
        ({"days": 5}, "start"),
    ):
        r = await client.get(url, params=params, headers=h)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["errors"][0]["field"] == field, (params, r.text)
    _, key = await org_key("enterprise")
    r = await client.get(url, params={"start": "2026-09-18", "days": 10}, headers=bearer(key))
    assert r.status_code == 403
    r = await client.get(url, params={"start": "2026-09-18", "days": 10})
    assert r.status_code == 401


async def test_from_november_readiness_and_officers_are_warned_of_a_missing_year(
    client, day, now, without_2027
):
    _, oh = await officer()
    publish = await shortlisted_round(client, oh)
    now(datetime(2026, 10, 31, 15, 59, tzinfo=UTC))  # 23:59 on 31 October in Beijing
    r = await client.get("/api/v1/health/ready")
    assert r.status_code == 200 and r.json()["warnings"] == []

    now(datetime(2026, 10, 31, 16, 0, tzinfo=UTC))  # 1 November in Beijing
    r = await client.get("/api/v1/health/ready")
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text
    [warning] = r.json()["warnings"]
    assert "schedule for 2027 has not been entered" in warning
    assert "PUT /api/v1/calendar/years/2027" in warning
    r = await client.get("/api/v1/calendar/years", headers=oh)
    assert r.json()["warnings"] == [warning]
    r = await client.get(
        "/api/v1/calendar/working-days", params={"start": "2026-11-02", "days": 5}, headers=oh
    )
    assert r.status_code == 200 and r.json()["warnings"] == [warning]
    # A notice inside 2026 is published, and its answers tell the officer.
    day(date(2026, 11, 27))
    r = await client.post(publish, json={"starts_on": "2026-11-30"}, headers=oh)
    assert r.status_code == 201 and r.json()["ends_on"] == "2026-12-11", r.text
    assert r.json()["warnings"] == [warning]
    r = await client.get(f"/api/v1/notices/{r.json()['id']}", headers=oh)
    assert r.json()["warnings"] == [warning]

    r = await client.put(
        "/api/v1/calendar/years/2027",
        json={"source": SOURCE_2027, "days": SCHEDULE_2027},
        headers=await admin(),
    )
    assert r.status_code == 200 and r.json()["warnings"] == []
    r = await client.get("/api/v1/health/ready")
    assert r.json()["warnings"] == []


async def enter_2027(client, ah: dict[str, str], *extra: dict[str, str]):
    return await client.put(
        "/api/v1/calendar/years/2027",
        json={"source": SOURCE_2027, "days": [*SCHEDULE_2027, *extra]},
        headers=ah,
    )


def holiday(day: str) -> dict[str, str]:
    return {"date": day, "kind": "holiday", "name": "测试假日"}


async def recounts(object_type: str, object_id: int) -> list[tuple[dict, dict]]:
    rows = await AuditEntry.select().where(
        (AuditEntry.action == "appraisal.notice_end_recounted")
        & (AuditEntry.object_type == object_type)
        & (AuditEntry.object_id == str(object_id))
    )
    return [(json.loads(r["before"]), json.loads(r["after"])) for r in rows]


async def test_replacing_a_year_recounts_live_notices_and_keeps_ended_ones(
    client, day, without_2027
):
    ah = await admin()
    assert (await enter_2027(client, ah)).status_code == 200
    _, oh = await officer()
    ended_url, live_url = await shortlisted_round(client, oh), await shortlisted_round(client, oh)
    day(date(2027, 2, 25))
    r = await client.post(ended_url, json={"starts_on": "2027-03-01"}, headers=oh)
    assert r.status_code == 201 and r.json()["ends_on"] == "2027-03-12", r.text
    ended = r.json()
    day(date(2027, 4, 20))
    r = await client.post(live_url, json={"starts_on": "2027-04-26"}, headers=oh)
    assert r.status_code == 201 and r.json()["ends_on"] == "2027-05-07", r.text
    live = r.json()
    [application] = [e["application_id"] for e in live["entries"]]

    # A correction adds a holiday inside each: the running notice gets its ten working
    # days on the new schedule; the one that ended on 12 March stays as it ran.
    day(date(2027, 4, 27))
    r = await enter_2027(client, ah, holiday("2027-03-05"), holiday("2027-04-30"))
    assert r.status_code == 200, r.text
    moved = [m for m in r.json()["moved"] if m["object_id"] in (live["id"], application)]
    assert moved == [
        {
            "object_type": "talent_notice",
            "object_id": live["id"],
            "field": "ends_on",
            "before": "2027-05-07",
            "after": "2027-05-10",
        },
        {
            "object_type": "talent_application",
            "object_id": application,
            "field": "notice_ends_on",
            "before": "2027-05-07",
            "after": "2027-05-10",
        },
    ]
    assert not [m for m in r.json()["moved"] if m["object_id"] == ended["id"]]
    r = await client.get(f"/api/v1/notices/{live['id']}", headers=oh)
    assert r.json()["ends_on"] == "2027-05-10"
    assert r.json()["entries"][0]["notice_ends_on"] == "2027-05-10"
    r = await client.get(f"/api/v1/notices/{ended['id']}", headers=oh)
    assert r.json()["ends_on"] == "2027-03-12"
    assert r.json()["entries"][0]["notice_ends_on"] == "2027-03-12"

    assert await recounts("talent_notice", live["id"]) == [
        (
            {"ends_on": "2027-05-07"},
            {"ends_on": "2027-05-10", "notice_id": live["id"], "calendar_year": 2027},
        )
    ]
    assert await recounts("talent_application", application) == [
        (
            {"notice_ends_on": "2027-05-07"},
            {"notice_ends_on": "2027-05-10", "notice_id": live["id"], "calendar_year": 2027},
        )
    ]
    assert await recounts("talent_notice", ended["id"]) == []
    replaced = await AuditEntry.select(AuditEntry.after).where(
        (AuditEntry.action == "calendar.year_replaced") & (AuditEntry.object_id == "2027")
    )
    [listed] = [
        m
        for e in replaced
        for m in json.loads(e["after"]).get("moved", [])
        if m["object_type"] == "talent_notice" and m["object_id"] == live["id"]
    ]
    assert (listed["before"], listed["after"]) == ("2027-05-07", "2027-05-10")


async def test_an_extension_keeps_its_working_days_on_the_new_schedule(client, day, without_2027):
    ah = await admin()
    assert (await enter_2027(client, ah)).status_code == 200
    _, oh = await officer()
    url = await shortlisted_round(client, oh)
    day(date(2027, 4, 20))
    r = await client.post(url, json={"starts_on": "2027-04-26"}, headers=oh)
    assert r.status_code == 201, r.text
    notice = r.json()
    [application] = [e["application_id"] for e in notice["entries"]]
    day(date(2027, 5, 6))
    r = await client.post(
        "/api/v1/notices/objections",
        json={
            "application_id": application,
            "contact_name": "李四",
            "contact": "13800138000",
            "reason": "申报材料中的专利并非本人为第一发明人。",
        },
    )
    assert r.status_code == 201, r.text
    objection = r.json()["id"]
    # Decided on 6 May: 5 working days from 7 May, to Thursday 13 May.
    r = await client.post(
        f"/api/v1/appraisals/objections/{objection}/resolution",
        json={"outcome": "dismissed", "reason": "经核实专利权属无误"},
        headers=oh,
    )
    assert r.status_code == 200 and r.json()["extended_to"] == "2027-05-13", r.text

    # Holidays on 30 April (inside the notice) and 11 May (inside the extension).
    r = await enter_2027(client, ah, holiday("2027-04-30"), holiday("2027-05-11"))
    assert r.status_code == 200, r.text
    moved = {
        (m["object_type"], m["before"], m["after"])
        for m in r.json()["moved"]
        if m["object_id"] in (notice["id"], objection, application)
    }
    assert moved == {
        ("talent_notice", "2027-05-07", "2027-05-10"),
        ("talent_objection", "2027-05-13", "2027-05-14"),
        ("talent_application", "2027-05-13", "2027-05-14"),
    }
    r = await client.get(f"/api/v1/appraisals/objections?application_id={application}", headers=oh)
    assert [o["extended_to"] for o in r.json()["items"]] == ["2027-05-14"]
    r = await client.get(f"/api/v1/appraisals/applications/{application}", headers=oh)
    assert r.json()["notice_ends_on"] == "2027-05-14"
    [(before, after)] = await recounts("talent_objection", objection)
    assert before == {"extended_to": "2027-05-13"}
    assert after == {"extended_to": "2027-05-14", "notice_id": notice["id"], "calendar_year": 2027}


async def test_a_replacement_a_live_notice_cannot_be_recounted_on_is_refused(
    client, day, without_2027
):
    ah = await admin()
    assert (await enter_2027(client, ah)).status_code == 200
    _, oh = await officer()
    url = await shortlisted_round(client, oh)
    day(date(2027, 12, 1))
    r = await client.post(url, json={"starts_on": "2027-12-20"}, headers=oh)
    assert r.status_code == 201 and r.json()["ends_on"] == "2027-12-31", r.text
    notice = r.json()["id"]

    # A holiday on 24 December would push its end into 2028, which has no schedule.
    day(date(2027, 12, 21))
    replaced = AuditEntry.count().where(
        (AuditEntry.action == "calendar.year_replaced") & (AuditEntry.object_id == "2027")
    )
    replacements = await replaced
    r = await enter_2027(client, ah, holiday("2027-12-24"))
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["field"] == "notice_id"
    assert f"notice {notice} " in r.json()["detail"] and "for 2028" in r.json()["detail"]
    r = await client.get("/api/v1/calendar/years/2027", headers=oh)
    assert len(r.json()["days"]) == len(SCHEDULE_2027)
    r = await client.get(f"/api/v1/notices/{notice}", headers=oh)
    assert r.json()["ends_on"] == "2027-12-31"
    assert r.json()["entries"][0]["notice_ends_on"] == "2027-12-31"
    assert await recounts("talent_notice", notice) == []
    assert await replaced == replacements


async def waits_for_a_writer(task: asyncio.Task) -> None:
    """Returns once `task` waits for another transaction's lock, or has finished."""
    while not task.done():
        db = engine()
        if is_sqlite(db):
            if db._loop_state()[0]._waiters:  # the engine's write lock, taken in order
                return
        else:
            [row] = await db.run_querystring(
                QueryString(
                    "SELECT COUNT(*) AS n FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query LIKE '%calendar_year%'"
                )
            )
            if row["n"]:
                return
        await asyncio.sleep(0.005)


async def test_a_notice_published_while_its_year_is_replaced_counts_on_the_new_schedule(
    client, day, monkeypatch, without_2027
):
    ah = await admin()
    assert (await enter_2027(client, ah)).status_code == 200
    _, oh = await officer()
    url = await shortlisted_round(client, oh)
    day(date(2027, 4, 20))

    # The replacement's unit of work stays open after its recount until released.
    recounted, release = asyncio.Event(), asyncio.Event()

    async def held(event: replacements.YearReplaced) -> list[replacements.MovedDate]:
        recounted.set()
        await release.wait()
        return []

    monkeypatch.setattr(replacements, "_LISTENERS", [*replacements._LISTENERS, held])
    replacing = asyncio.create_task(enter_2027(client, ah, holiday("2027-04-30")))
    await recounted.wait()
    publishing = asyncio.create_task(client.post(url, json={"starts_on": "2027-04-26"}, headers=oh))
    await waits_for_a_writer(publishing)
    release.set()
    assert (await replacing).status_code == 200

    # Ten working days on the new schedule (30 April off), not the old one's 7 May.
    r = await publishing
    assert r.status_code == 201 and r.json()["ends_on"] == "2027-05-10", r.text
    assert r.json()["entries"][0]["notice_ends_on"] == "2027-05-10"
