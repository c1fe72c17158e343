"""Registered internship programmes through the API on SQLite and PostgreSQL: officers
register them, hosts choose one by id, and the months and the 9,000 yuan cap are per
intern per registered programme whichever hosts report, also under concurrent
approvals."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from subsidies.claims import statuses
from subsidies.claims.tables import CapUsage, Claim
from tests.conftest import bearer, staff_token, unique
from tests.integration.test_internships import (
    PREFIX,
    REGISTERED,
    calculated,
    host,
    officer,
    placement_body,
    register,
    registered,  # noqa: F401 (the autouse fixture registering this test's programmes)
    report,
    trace_text,
)
from tests.integration.test_programme_migration import claim, placement
from tests.support import registry_data

PROGRAMMES = "/api/v1/internship-programmes"
BUDGET = 10**11


def programme_body(**changes: Any) -> dict[str, Any]:
    return {
        "name": unique("百校千人-2025-"),
        "plan_year": 2025,
        "start_date": "2025-03-01",
        "end_date": "2025-12-31",
        **changes,
    }


async def budget_for_2025(client) -> None:
    _, token = await staff_token(StaffRole.FINANCE)
    r = await client.put(
        "/api/v1/budgets/internship/2025", json={"amount_fen": BUDGET}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text


async def test_officers_register_change_and_list_programmes(client):
    oh = await officer()
    body = programme_body()
    r = await client.post(PROGRAMMES, json=body, headers=oh)
    assert r.status_code == 201, r.text
    made = r.json()
    # Rate, months and cap default to the internship policy version in force.
    assert (made["monthly_rate_fen"], made["max_months"], made["cap_per_intern_fen"]) == (
        300_000,
        3,
        900_000,
    )
    assert made["scheme"] == "internship" and made["needs_review"] is False

    # The same name spelled otherwise (width, spaces, punctuation) is the same programme.
    variant = body["name"].replace("-", " ").replace("2025", "２０２５")
    r = await client.post(PROGRAMMES, json={**body, "name": variant}, headers=oh)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "name"
    assert str(made["id"]) in r.json()["detail"]

    # Never above the policy; each problem named.
    r = await client.post(
        PROGRAMMES,
        json=programme_body(cap_per_intern_fen=1_200_000, max_months=4, end_date="2025-01-01"),
        headers=oh,
    )
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"end_date"}
    r = await client.post(
        PROGRAMMES, json=programme_body(cap_per_intern_fen=1_200_000, max_months=4), headers=oh
    )
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"cap_per_intern_fen", "max_months"}

    # A host lists and reads them, and cannot register one.
    _, h = await host()
    listed = (await client.get(PROGRAMMES, headers=h)).json()["items"]
    assert made["id"] in [p["id"] for p in listed]
    r = await client.get(PROGRAMMES, params={"needs_review": "true"}, headers=h)
    assert made["id"] not in [p["id"] for p in r.json()["items"]]
    r = await client.get(PROGRAMMES, params={"needs_review": "yes"}, headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "needs_review"
    assert (await client.get(f"{PROGRAMMES}/{made['id']}", headers=h)).json() == made
    assert (await client.post(PROGRAMMES, json=programme_body(), headers=h)).status_code == 403
    assert (await client.get(f"{PROGRAMMES}/999999999", headers=h)).status_code == 404

    # An officer lowers the rate; placements must stay within the programme's dates.
    person = await registry_data.person()
    await register(
        client,
        h,
        person["id"],
        programme_id=made["id"],
        start_date="2025-03-01",
        end_date="2025-05-31",
        insured_from="2025-03-01",
        insured_to="2025-05-31",
    )
    r = await client.put(
        f"{PROGRAMMES}/{made['id']}", json={**body, "start_date": "2025-04-01"}, headers=oh
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "start_date"
    r = await client.put(
        f"{PROGRAMMES}/{made['id']}", json={**body, "monthly_rate_fen": 250_000}, headers=oh
    )
    assert r.status_code == 200 and r.json()["monthly_rate_fen"] == 250_000
    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.after).where(
        (AuditEntry.object_type == "internship_programme")
        & (AuditEntry.object_id == str(made["id"]))
    )
    assert [e["action"] for e in entries] == [
        "internship_programme.registered",
        "internship_programme.updated",
    ]
    # Not made by the migration: nothing to review.
    r = await client.post(f"{PROGRAMMES}/{made['id']}/review", headers=oh)
    assert r.status_code == 409


async def test_a_host_chooses_a_registered_programme_and_cannot_type_one(client):
    _, h = await host()
    person = await registry_data.person()
    r = await client.post(
        PREFIX, json=placement_body(person["id"], programme_id=999_999), headers=h
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "programme_id"
    body = {**placement_body(person["id"]), "programme": "百校千人2025"}
    del body["programme_id"]
    r = await client.post(PREFIX, json=body, headers=h)
    assert r.status_code == 400 and "programme" in r.text
    # Outside the programme's dates (2022-01-01 to 2099-12-31 here).
    early = await client.post(
        PREFIX,
        json=placement_body(person["id"], start_date="2021-12-01", insured_from="2021-12-01"),
        headers=h,
    )
    assert early.status_code == 400
    assert [e["field"] for e in early.json()["errors"]] == ["start_date"]
    assert "outside the programme (2022-01-01 to 2099-12-31)" in early.json()["errors"][0]["reason"]


async def test_two_hosts_are_paid_9000_yuan_for_one_intern_in_a_registered_programme(client):
    """The defect this prevents: host A and host B typed the programme differently and
    were paid 3,000 x 3 and 3,000 more. Now both choose the registered programme."""
    await budget_for_2025(client)
    _, ha = await host()
    _, hb = await host()
    person = await registry_data.person()
    programme_id = REGISTERED["百校千人"]
    a = await register(client, ha, person["id"], start_date="2025-03-01", end_date="2025-05-31")
    b = await register(client, hb, person["id"], start_date="2025-06-01", end_date="2025-08-31")
    assert a["programme_id"] == b["programme_id"] == programme_id
    ids = []
    for h, pid, month, days in [
        (ha, a["id"], "2025-03", 31),
        (ha, a["id"], "2025-04", 30),
        (ha, a["id"], "2025-05", 31),
        (hb, b["id"], "2025-06", 30),
    ]:
        r = await report(client, h, pid, month, days)
        assert r.status_code == 201, r.text
        ids.append(r.json()["claim_id"])
    claims = await calculated(ids)
    assert [claims[i]["amount_fen"] for i in ids] == [300_000, 300_000, 300_000, 0]
    assert "month 4 of this intern" in trace_text(claims[ids[3]])
    assert "at most 3 months pay, so 0" in trace_text(claims[ids[3]])
    assert "超过最多 3 个月，本月 0 元" in trace_text(claims[ids[3]], "zh")

    heads = [(await officer()) for _ in range(2)]
    for n, claim_id in enumerate(ids):
        r = await client.post(f"/api/v1/claims/{claim_id}/approve", headers=heads[n % 2])
        assert r.status_code == 200, r.text
    key = f"internship:{person['id']}:programme-{programme_id}"
    used = await CapUsage.select(CapUsage.used_fen).where(CapUsage.key == key).first().run()
    assert used["used_fen"] == 900_000
    rows = await Claim.select(Claim.status, Claim.amount_fen).where(Claim.id.is_in(ids))
    assert {r["status"] for r in rows} == {statuses.APPROVED}
    assert sum(r["amount_fen"] for r in rows) == 900_000


async def test_concurrent_approvals_of_two_hosts_never_pass_the_programme_cap(client):
    """Six full months of one intern reported by two hosts in turn, priced with the
    programme's cap, approved by four officers at once: 9,000 yuan committed, no more."""
    await budget_for_2025(client)
    person = await registry_data.person()
    (_, ha), (_, hb) = await host(), await host()
    a, b = [
        await register(
            client, h, person["id"], start_date=start, end_date=end, insured_from=start,
            insured_to=end,
        )
        for h, start, end in ((ha, "2025-01-01", "2025-03-31"), (hb, "2025-04-01", "2025-06-30"))
    ]  # fmt: skip
    reports = [(ha, a["id"], f"2025-0{m}") for m in (1, 2, 3)]
    reports += [(hb, b["id"], f"2025-0{m}") for m in (4, 5, 6)]
    days = {"01": 31, "02": 28, "03": 31, "04": 30, "05": 31, "06": 30}
    ids = []
    for h, pid, month in sorted(reports, key=lambda r: r[2][-1] in "135"):
        r = await report(client, h, pid, month, days[month[-2:]])
        assert r.status_code == 201, r.text
        ids.append(r.json()["claim_id"])
        await calculated(ids[-1:])
    claims = await calculated(ids)
    # February, April and June (reported first) are months 1 to 3; the others pay 0.
    assert [claims[i]["amount_fen"] for i in ids] == [300_000] * 3 + [0] * 3

    heads = [(await officer()) for _ in range(4)]
    rotation = itertools.cycle(heads)
    decided = await asyncio.gather(
        *(client.post(f"/api/v1/claims/{i}/approve", headers=next(rotation)) for i in ids)
    )
    assert all(r.status_code == 200 for r in decided), [r.text for r in decided]
    rows = await Claim.select(Claim.status, Claim.amount_fen).where(Claim.id.is_in(ids))
    assert {r["status"] for r in rows} == {statuses.APPROVED}
    assert sum(r["amount_fen"] for r in rows) == 900_000
    key = f"internship:{person['id']}:programme-{REGISTERED['百校千人']}"
    used = await CapUsage.select(CapUsage.used_fen).where(CapUsage.key == key).first().run()
    assert used["used_fen"] == 900_000


async def test_approval_commits_against_the_programme_cap_lowered_after_pricing(client):
    """Three full months priced under a 9,000 yuan cap; an officer then lowers the
    programme's cap to 6,000: the ledger holds approvals to 6,000, not the policy's."""
    await budget_for_2025(client)
    oh = await officer()
    body = programme_body()
    r = await client.post(PROGRAMMES, json=body, headers=oh)
    assert r.status_code == 201, r.text
    programme_id = r.json()["id"]
    _, h = await host()
    person = await registry_data.person()
    placement = await register(
        client,
        h,
        person["id"],
        programme_id=programme_id,
        start_date="2025-03-01",
        end_date="2025-05-31",
        insured_from="2025-03-01",
        insured_to="2025-05-31",
    )
    ids = []
    for month, days in (("2025-03", 31), ("2025-04", 30), ("2025-05", 31)):
        r = await report(client, h, placement["id"], month, days)
        assert r.status_code == 201, r.text
        ids.append(r.json()["claim_id"])
    claims = await calculated(ids)
    assert [claims[i]["amount_fen"] for i in ids] == [300_000] * 3

    r = await client.put(
        f"{PROGRAMMES}/{programme_id}", json={**body, "cap_per_intern_fen": 600_000}, headers=oh
    )
    assert r.status_code == 200, r.text
    heads = [await officer() for _ in range(3)]
    for claim_id, head in zip(ids[:2], heads, strict=False):
        r = await client.post(f"/api/v1/claims/{claim_id}/approve", headers=head)
        assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/claims/{ids[2]}/approve", headers=heads[2])
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["field"] == "cap_key"
    assert "6,000.00 yuan of 6,000.00 already committed" in r.json()["detail"]
    key = f"internship:{person['id']}:programme-{programme_id}"
    used = await CapUsage.select(CapUsage.used_fen).where(CapUsage.key == key).first().run()
    assert used["used_fen"] == 600_000
    approved = await AuditEntry.select(AuditEntry.after).where(
        (AuditEntry.action == "claim.approved") & (AuditEntry.object_id == str(ids[0]))
    )
    assert json.loads(approved[0]["after"])["cap_fen"] == 600_000


async def test_an_officer_maps_an_unmapped_placement_and_its_paid_months_count(client):
    """Intern y was paid March and April under a typed name the migration could not map
    ("——"), and registered again under programme P, where June and July were approved.
    Mapped to P, the four months and 12,000 yuan count against P's 3 months and 9,000:
    July goes on hold and May, reported but not approved, is calculated as month 5."""
    oh = await officer()
    r = await client.post(PROGRAMMES, json=programme_body(), headers=oh)
    assert r.status_code == 201, r.text
    programme_id = r.json()["id"]
    late = await client.post(PROGRAMMES, json=programme_body(start_date="2025-06-01"), headers=oh)
    (c, hc), (d, _), (_, ha) = await host(), await host(), await host()
    y = (await registry_data.person())["id"]
    unmapped = await placement(c["id"], y, "——", "2025-03-01", "2025-05-31")
    # Another host's placement under the same typed name keeps its own month.
    elsewhere = await placement(d["id"], y, "——", "2025-09-01", "2025-09-30")
    paid = [await claim(c["id"], y, unmapped, m, "paid", "——") for m in ("2025-03", "2025-04")]
    may = await claim(c["id"], y, unmapped, "2025-05", "submitted", "——")
    await Claim.update({Claim.amount_fen: None}).where(Claim.id == may).run()
    other = await claim(d["id"], y, elsewhere, "2025-09", "paid", "——")
    again = await register(
        client, ha, y, programme_id=programme_id, start_date="2025-06-01", end_date="2025-08-31"
    )
    typed = f"programme-{programme_id}"
    june, july = [
        await claim(c["id"], y, again["id"], m, "approved", typed) for m in ("2025-06", "2025-07")
    ]
    old_key, new_key = f"internship:{y}:——", f"internship:{y}:programme-{programme_id}"
    for key, used in ((old_key, 900_000), (new_key, 600_000)):
        await CapUsage.insert(CapUsage(key=key, used_fen=used)).run()

    url = f"{PROGRAMMES}/unmapped-placements/{unmapped}/mapping"
    r = await client.post(url, json={"programme_id": programme_id}, headers=hc)
    assert r.status_code == 403
    r = await client.post(url, json={"programme_id": 999_999_999}, headers=oh)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "programme_id"
    r = await client.post(url, json={"programme_id": late.json()["id"]}, headers=oh)
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == ["start_date", "end_date"]
    r = await client.post(
        f"{PROGRAMMES}/unmapped-placements/999999999/mapping",
        json={"programme_id": programme_id},
        headers=oh,
    )
    assert r.status_code == 404

    r = await client.post(url, json={"programme_id": programme_id}, headers=oh)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["cap_key"] == new_key
    assert done["claims_moved"] == [*paid, may]
    assert done["committed_moved_fen"] == 600_000
    assert done["held_or_flagged"] == [july]
    usage = {
        row["key"]: row["used_fen"]
        for row in await CapUsage.select().where(CapUsage.key.is_in([old_key, new_key]))
    }
    assert usage == {old_key: 300_000, new_key: 1_200_000}
    rows = {
        row["id"]: row
        for row in await Claim.select(
            Claim.id, Claim.status, Claim.cap_key, Claim.hold_reason
        ).where(Claim.id.is_in([*paid, other, june, july]))
    }
    assert {rows[i]["cap_key"] for i in (*paid, june, july)} == {new_key}
    assert rows[other]["cap_key"] == old_key
    assert [rows[i]["status"] for i in (*paid, june)] == ["paid", "paid", "approved"]
    assert rows[july]["status"] == "on_hold"
    assert f"placement {unmapped} was mapped" in rows[july]["hold_reason"]
    priced = await calculated([may])
    assert priced[may]["amount_fen"] == 0
    assert "month 5 of this intern" in trace_text(priced[may])

    mapped = await AuditEntry.select(AuditEntry.before, AuditEntry.after).where(
        (AuditEntry.action == "internship_placement.mapped")
        & (AuditEntry.object_id == str(unmapped))
    )
    assert json.loads(mapped[0]["before"])["cap_key"] == old_key
    assert json.loads(mapped[0]["after"])["committed_moved_fen"] == 600_000
    held = await AuditEntry.select(AuditEntry.action).where(
        (AuditEntry.object_type == "claim") & (AuditEntry.object_id == str(july))
    )
    assert [e["action"] for e in held] == ["claim.put_on_hold"]
    r = await client.get(f"{PROGRAMMES}/unmapped-placements", headers=oh)
    assert unmapped not in [p["id"] for p in r.json()["items"]]
    r = await client.post(url, json={"programme_id": programme_id}, headers=oh)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "programme_id"


async def test_mapping_never_pays_a_placement_or_a_month_twice(client):
    """The reviewer's case: a host registered intern y again under programme P from the
    same start date as the unmapped placement; mapping it onto P is refused (409 naming
    the placement). Registered again from another date, with March and April approved
    there: the old placement's paid March stands and the other March is held before it
    is paid twice; the old April, not approved, is held; only its May is calculated
    again."""
    oh = await officer()
    r = await client.post(PROGRAMMES, json=programme_body(), headers=oh)
    assert r.status_code == 201, r.text
    programme_id = r.json()["id"]
    (c, hc), (d, hd) = await host(), await host()
    y = (await registry_data.person())["id"]
    unmapped = await placement(c["id"], y, "——", "2025-03-01", "2025-05-31")
    again = await register(
        client, hc, y, programme_id=programme_id, start_date="2025-03-01", end_date="2025-05-31"
    )
    url = f"{PROGRAMMES}/unmapped-placements/{unmapped}/mapping"
    r = await client.post(url, json={"programme_id": programme_id}, headers=oh)
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["field"] == "programme_id"
    assert f"placement {again['id']}" in r.json()["detail"]
    listed = await client.get(f"{PROGRAMMES}/unmapped-placements", headers=oh)
    assert unmapped in [p["id"] for p in listed.json()["items"]]

    # Another host registered y under P from 15 March: its March is approved.
    z = (await registry_data.person())["id"]
    old = await placement(c["id"], z, "——", "2025-03-01", "2025-05-31")
    march, april, may = [
        await claim(c["id"], z, old, m, s, "——")
        for m, s in (("2025-03", "paid"), ("2025-04", "submitted"), ("2025-05", "submitted"))
    ]
    await Claim.update({Claim.amount_fen: None}).where(Claim.id.is_in([april, may])).run()
    elsewhere = await register(
        client, hd, z, programme_id=programme_id, start_date="2025-03-15", end_date="2025-05-31"
    )
    typed = f"programme-{programme_id}"
    approved = [
        await claim(d["id"], z, elsewhere["id"], m, "approved", typed)
        for m in ("2025-03", "2025-04")
    ]
    for key, used in ((f"internship:{z}:——", 300_000), (f"internship:{z}:{typed}", 600_000)):
        await CapUsage.insert(CapUsage(key=key, used_fen=used)).run()
    url = f"{PROGRAMMES}/unmapped-placements/{old}/mapping"
    r = await client.post(url, json={"programme_id": programme_id}, headers=oh)
    assert r.status_code == 200, r.text
    assert r.json()["held_or_flagged"] == sorted([approved[0], april])
    rows = {
        row["id"]: row
        for row in await Claim.select(
            Claim.id, Claim.status, Claim.hold_reason, Claim.recovery_reason
        ).where(Claim.id.is_in([march, april, *approved]))
    }
    # The paid March stands; the other host's March, only approved, is held before it
    # is paid a second time.
    assert rows[march]["status"] == "paid" and rows[march]["recovery_reason"] is None
    assert rows[approved[0]]["status"] == "on_hold"
    assert "the one paid first stands" in rows[approved[0]]["hold_reason"]
    assert rows[april]["status"] == "on_hold"
    assert "the one paid first stands" in rows[april]["hold_reason"]
    assert rows[approved[1]]["status"] == "approved"
    assert r.json()["calculation_job_id"] is not None
    assert may in await calculated([may])
