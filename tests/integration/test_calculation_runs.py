"""Calculation runs (job "subsidies.calculate"), the policy catalogue API and what-if
simulations, on SQLite and PostgreSQL, with the real skill-level calculator.

The session's database is shared with other test modules, so every run here names its
claims (claim_ids) and every simulation is held to dates no other test uses (2032)."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import pandas as pd
import pytest

from accounts.roles import StaffRole
from kernel.db import engine, is_sqlite, unit_of_work
from registry.tables import Employment
from subsidies.claims import calculation, calculation_store, statuses, trace_store
from subsidies.claims.holds import hold_or_flag
from subsidies.claims.submission import CALCULATE, CALCULATE_LANE, NewClaim, insert_claims
from subsidies.claims.tables import Budget, Claim, ClaimCalculation
from subsidies.policies import catalogue
from subsidies.policies.tables import PolicyVersion
from subsidies.policies.vocabulary import Condition
from tests.conftest import bearer, staff_token, unique
from tests.support import registry_data, waiting
from tests.support.claim_rows import claims_by_id, stored_trace
from workers import runner
from workers.outbox import enqueue
from workers.status import JobStatus
from workers.tables import Job

EMPLOYED = Condition("employed_in_dongguan", "is", True)


async def headers(*roles: StaffRole) -> dict[str, str]:
    _, token = await staff_token(*roles)
    return bearer(token)


async def skilled_person(
    level: int, issued_on: date, *, employed: bool = True, insured: bool = True
) -> tuple[int, int]:
    """A person with a certificate of `level` issued on `issued_on`, employed (and
    insured) by a Dongguan enterprise since before it unless told otherwise."""
    person = await registry_data.person()
    issuer = await registry_data.organisation(org_type="evaluation_organisation")
    cert = await registry_data.certificate(person, issuer, level=level, issued_on=issued_on)
    if employed:
        employer = await registry_data.organisation()
        await Employment.insert(
            Employment(
                person=person["id"],
                employer=employer["id"],
                started_on=date(2020, 1, 1),
                insured=insured,
                reported_by="test",
            )
        ).run()
    return person["id"], cert["id"]


async def _insert_skill_claim(person_id: int, cert_id: int, day: date, dedupe_key: str):
    """(claim id, whether it was put on hold at once)."""
    async with unit_of_work():
        ids, held = await insert_claims(
            [
                NewClaim(
                    scheme="skill_level",
                    dedupe_key=dedupe_key,
                    basis_date=day,
                    payee_kind="person",
                    submitted_by="test",
                    person_id=person_id,
                    certificate_id=cert_id,
                )
            ]
        )
    return ids[0], held


async def skill_claim(person_id: int, cert_id: int, day: date, level: int) -> int:
    claim_id, held = await _insert_skill_claim(
        person_id, cert_id, day, f"skill_level:{person_id}:{level}"
    )
    assert not held
    return claim_id


async def skill_claim_of(person_id: int, cert_id: int, day: date) -> int:
    """A senior-technician claim; several per person (one per certificate) may live."""
    claim_id, _ = await _insert_skill_claim(
        person_id, cert_id, day, f"skill_level:{person_id}:1:{unique()}"
    )
    return claim_id


async def senior_technician_of_four_occupations(day: date) -> tuple[int, list[int]]:
    """A person employed in Dongguan with four senior-technician certificates issued on
    `day`, in four occupations (so no lower-level difference applies)."""
    person, first_cert = await skilled_person(1, day)
    issuer = await registry_data.organisation(org_type="evaluation_organisation")
    certs = [first_cert]
    for occupation in (registry_data.ELECTRICIAN, "6-29-01-01", "6-30-02-01"):
        cert = await registry_data.certificate(
            {"id": person}, issuer, level=1, occupation=occupation, issued_on=day
        )
        certs.append(cert["id"])
    return person, certs


async def claims_of(ids: list[int]) -> dict[int, dict[str, Any]]:
    return await claims_by_id(ids)


async def run(client, h: dict[str, str], claim_ids: list[int] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"scheme": "skill_level"}
    if claim_ids is not None:
        body["claim_ids"] = claim_ids
    r = await client.post("/api/v1/calculation-runs", headers=h, json=body)
    assert r.status_code == 202, r.text
    url = r.json()["job_url"]
    assert url == f"/api/v1/jobs/{r.json()['job_id']}"
    job = await waiting.api_job_finished(client, url, h)
    assert job["status"] == JobStatus.DONE, job
    return job


def texts(trace_json: str, lang: str = "en") -> list[str]:
    return [step[lang] for step in json.loads(trace_json)]


def document(**changes: Any) -> dict[str, Any]:
    doc = {
        "title_zh": "技能等级提升资助（测试）",
        "title_en": "Skill-level subsidy (test)",
        "source": "test",
        "effective_from": "2031-01-01",
        "payee": "person",
        "conditions": [
            {"fact": "employed_in_dongguan", "op": "is", "value": True},
            {"fact": "level", "op": "at_least", "value": 4},
        ],
        "parameters": {
            "cap_per_person_fen": 5_000_000,
            "amount_by_level_fen": {"4": 100_000, "3": 300_000, "2": 800_000, "1": 1_500_000},
        },
    }
    doc.update(changes)
    return doc


# -- runs ----------------------------------------------------------------------------------


async def test_a_run_calculates_and_running_again_changes_nothing(client):
    h = await headers(StaffRole.OFFICER)
    day = date(2024, 3, 1)
    eligible_person, eligible_cert = await skilled_person(3, day)
    idle_person, idle_cert = await skilled_person(3, day, employed=False)
    paid = await skill_claim(eligible_person, eligible_cert, day, 3)
    refused = await skill_claim(idle_person, idle_cert, day, 3)

    job = await run(client, h, [paid, refused])
    assert job["result"]["claims"] == 2 and job["result"]["total_fen"] == 300_000
    rows = await claims_of([paid, refused])
    good, bad = rows[paid], rows[refused]
    assert good["status"] == statuses.CALCULATED and good["amount_fen"] == 300_000
    assert good["calculation_job"] == job["id"] and good["calculated_at"] is not None
    assert good["cap_key"] == f"skill_level:{eligible_person}"
    inputs = json.loads(good["inputs"])
    assert inputs["level"] == 3 and inputs["already_fen"] == 0 and inputs["employed_in_dongguan"]
    assert any("senior worker" in t for t in texts(good["trace"]))
    # The failed condition comes first, with what the person actually is.
    assert bad["status"] == statuses.CALCULATED and bad["amount_fen"] == 0
    steps = texts(bad["trace"])
    assert steps[0] == ("condition not met: employed by a Dongguan enterprise is yes (actual: no)")
    assert texts(bad["trace"], "zh")[0].startswith("不符合条件：在莞企业就业为是")
    version = (
        await PolicyVersion.select().where(PolicyVersion.id == good["policy_version"]).first().run()
    )
    assert version["scheme"] == "skill_level" and version["used_at"] is not None

    again = await run(client, h, [paid, refused])
    assert again["result"]["claims"] == 0
    assert await claims_of([paid, refused]) == rows


async def test_a_run_appends_calculations_and_leaves_the_claims_alone(client):
    """Results are rows of claim_calculation; the claim row stays SUBMITTED with no
    amount (it is shown as calculated) until it leaves SUBMITTED, which copies the
    version, amount and cap key onto it."""
    h = await headers(StaffRole.OFFICER)
    day = date(2024, 3, 1)
    person, cert = await skilled_person(3, day)
    claim_id = await skill_claim(person, cert, day, 3)
    job = await run(client, h, [claim_id])
    stored = await Claim.select().where(Claim.id == claim_id).first().run()
    assert stored["status"] == statuses.SUBMITTED and stored["amount_fen"] is None
    [calculation] = await ClaimCalculation.select().where(ClaimCalculation.claim == claim_id).run()
    assert calculation["amount_fen"] == 300_000 and calculation["job"] == job["id"]
    # The row holds the inputs' values; their names are stored once, apart.
    names = await trace_store.input_names_of([calculation["input_names"]])
    values = dict(
        zip(
            json.loads(names[calculation["input_names"]]),
            json.loads(calculation["inputs"]),
            strict=True,
        )
    )
    assert values["level"] == 3 and values["cap_key"] == f"skill_level:{person}"
    r = await client.get(f"/api/v1/claims/{claim_id}", headers=h)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["status"] == statuses.CALCULATED and shown["amount_fen"] == 300_000
    assert shown["policy_version"] is not None and shown["trace"]
    r = await client.get(
        "/api/v1/claims", headers=h, params={"status": "calculated", "scheme": "skill_level"}
    )
    assert claim_id in [c["id"] for c in r.json()["items"]]
    r = await client.get(
        "/api/v1/claims", headers=h, params={"status": "submitted", "scheme": "skill_level"}
    )
    assert claim_id not in [c["id"] for c in r.json()["items"]]

    r = await client.post(
        f"/api/v1/claims/{claim_id}/reject", headers=h, json={"reason": "测试 test"}
    )
    assert r.status_code == 200, r.text
    stored = await Claim.select().where(Claim.id == claim_id).first().run()
    assert stored["status"] == statuses.REJECTED and stored["amount_fen"] == 300_000
    assert stored["policy_version"] == calculation["policy_version"]
    assert stored["cap_key"] == calculation["cap_key"] == f"skill_level:{person}"


async def test_a_claim_put_on_hold_while_a_run_priced_it_holds_nothing(client):
    """The race a run cannot see on PostgreSQL: the claim leaves SUBMITTED (on hold)
    after the run loaded it and before its calculation is stored. The claim shows the
    status it has and no amount, and counts against no cap."""
    h = await headers(StaffRole.OFFICER)
    day = date(2024, 3, 1)
    person, cert = await skilled_person(3, day)
    claim_id = await skill_claim(person, cert, day, 3)
    async with unit_of_work():
        await hold_or_flag("test", Claim.id == claim_id, "revoked", "revoked")
    key = f"skill_level:{person}"
    await ClaimCalculation.insert(
        ClaimCalculation(
            claim=claim_id,
            amount_fen=300_000,
            cap_key=key,
            trace_digest=await stored_trace("[]"),
        )
    ).run()
    r = await client.get(f"/api/v1/claims/{claim_id}", headers=h)
    assert r.json()["status"] == statuses.ON_HOLD and r.json()["amount_fen"] is None
    async with unit_of_work():
        assert (await calculation_store.held_by_cap([key])).empty


async def test_only_submitted_claims_without_a_calculation_are_loaded(client):
    """What a run plans and loads: SUBMITTED claims with no calculation, with their own
    cap key, no amount and the status submitted; a calculated claim and one on hold
    are left out, by the plan (submitted_basis, all or named) and by the chunk's load."""
    day = date(2024, 3, 1)
    fresh, calculated, held = [await skilled_person(3, day) for _ in range(3)]
    ids = [await skill_claim(p, c, day, 3) for p, c in (fresh, calculated, held)]
    await Claim.update({Claim.cap_key: "own-key"}).where(Claim.id == ids[0]).run()
    await ClaimCalculation.insert(
        ClaimCalculation(
            claim=ids[1], amount_fen=300_000, cap_key="calc-key",
            trace_digest=await stored_trace("[]"),
        )
    ).run()  # fmt: skip
    async with unit_of_work():
        await hold_or_flag("test", Claim.id == ids[2], "revoked", "revoked")
    async with unit_of_work():
        loaded = await calculation_store.load_submitted(ids)
        named = await calculation_store.submitted_basis("skill_level", ids)
        every = await calculation_store.submitted_basis("skill_level", None)
        lanes = [
            await calculation_store.submitted_basis("skill_level", None, (k, 2)) for k in (0, 1)
        ]
    assert loaded["id"].tolist() == [ids[0]]
    [row] = loaded.to_dict("records")
    assert row["status"] == statuses.SUBMITTED and row["cap_key"] == "own-key"
    assert row["amount_fen"] is None or row["amount_fen"] is pd.NA
    assert named["id"].tolist() == [ids[0]] and named["person"].tolist() == [fresh[0]]
    assert ids[0] in every["id"].tolist()
    assert not {ids[1], ids[2]} & set(every["id"].tolist())
    # A lane's claims: those whose person is the lane's number modulo the lanes.
    for k, lane in enumerate(lanes):
        assert set(lane["person"] % 2) <= {k}
    assert sorted(lanes[0]["id"].tolist() + lanes[1]["id"].tolist()) == every["id"].tolist()


async def test_runs_at_once_store_each_calculation_once(client):
    """Two runs over the same claims, started together: each claim is calculated by
    exactly one of them (the unique calculation per claim decides a race)."""
    h = await headers(StaffRole.OFFICER)
    day = date(2024, 3, 1)
    claim_ids = []
    for _ in range(6):
        person, cert = await skilled_person(2, day)
        claim_ids.append(await skill_claim(person, cert, day, 2))
    first, second = await asyncio.gather(
        run(client, h, claim_ids), run(client, h, list(reversed(claim_ids)))
    )
    assert first["result"]["claims"] + second["result"]["claims"] == len(claim_ids)
    rows = await ClaimCalculation.select(ClaimCalculation.claim).where(
        ClaimCalculation.claim.is_in(claim_ids)
    )
    assert sorted(r["claim"] for r in rows) == sorted(claim_ids)


async def per_occupation_in(client, h: dict[str, str], year: int) -> None:
    """A version pricing the upgrade per occupation, in force for `year` only."""
    doc = document(effective_from=f"{year}-01-01", effective_to=f"{year}-12-31")
    doc["parameters"]["upgrade_basis"] = "occupation"
    r = await client.post("/api/v1/policies/skill_level/versions", headers=h, json=doc)
    assert r.status_code == 201, r.text


async def test_a_run_over_every_submitted_claim_fills_the_cap_in_claim_id_order(client):
    """No claim_ids: every SUBMITTED claim of the scheme. Four senior-technician claims
    of one person (four occupations, priced per occupation by a version in force in 2034,
    a year no other test uses, so no lower-level difference) ask 15,000 each against the
    50,000 cap: what an earlier run calculated counts first, then this run's claims in
    id order, and the last gets the 5,000 left."""
    h = await headers(StaffRole.ADMIN)
    await per_occupation_in(client, h, 2034)
    day = date(2034, 5, 1)
    person, certs = await senior_technician_of_four_occupations(day)
    first = await skill_claim_of(person, certs[0], day)
    await run(client, h, [first])
    later = [await skill_claim_of(person, c, day) for c in certs[1:]]
    await run(client, h, None)
    rows = await claims_of([first, *later])
    assert [rows[c]["amount_fen"] for c in [first, *later]] == [
        1_500_000, 1_500_000, 1_500_000, 500_000,
    ]  # fmt: skip
    assert [json.loads(rows[c]["inputs"])["already_fen"] for c in later] == [1_500_000] * 3
    assert "cap 50,000 per person, 4,500,000 already" not in rows[later[2]]["trace"]
    assert any("45,000 already" in t for t in texts(rows[later[2]]["trace"]))
    assert sum(r["amount_fen"] for r in rows.values()) == 5_000_000


async def test_lanes_keep_each_persons_claims_in_order(client, monkeypatch):
    """PostgreSQL calculates a run's claims in two lanes, split by person, side by side;
    SQLite in one. With chunks of one claim, each person's four senior-technician
    claims (four occupations; the version in force pays a level once per person) must
    still pay 15,000 to the first in claim-id order and nothing to the others, naming
    it, which holds only if a person's claims stay in one lane."""

    monkeypatch.setattr(calculation, "CHUNK", 1)
    monkeypatch.setattr(calculation, "CHUNK_POSTGRESQL", 1)
    lanes: list[int] = []
    real = calculation_store.serialise_runs

    async def spying(scheme: str, lane: int) -> None:
        lanes.append(lane)
        await real(scheme, lane)

    monkeypatch.setattr(calculation_store, "serialise_runs", spying)
    h = await headers(StaffRole.OFFICER)
    day = date(2024, 6, 3)
    people: list[list[int]] = []
    for _ in range(4):
        person, certs = await senior_technician_of_four_occupations(day)
        people.append([await skill_claim_of(person, c, day) for c in certs])
    # One run over all sixteen; the lanes regroup them by person.
    job = await run(client, h, sorted(c for claims in people for c in claims))
    assert job["result"]["claims"] == 16
    assert set(lanes) == ({0} if is_sqlite(engine()) else {0, 1})
    # On PostgreSQL each lane is a job of its own, named after the run, done once.
    lane_jobs = await Job.select(Job.payload, Job.status, Job.attempts).where(
        (Job.kind == CALCULATE_LANE) & Job.payload.like(f'%"parent": {job["id"]}}}')
    )
    assert sorted(
        (json.loads(j["payload"])["lane"], j["status"], j["attempts"]) for j in lane_jobs
    ) == ([] if is_sqlite(engine()) else [(0, JobStatus.DONE, 1), (1, JobStatus.DONE, 1)])
    rows = await claims_of([c for claims in people for c in claims])
    for claims in people:
        assert [rows[c]["amount_fen"] for c in claims] == [1_500_000, 0, 0, 0]
        assert {rows[c]["calculation_job"] for c in claims} == {job["id"]}
        named = f"15,000 already paid by this person: claim {claims[0]} ("
        assert all(texts(rows[c]["trace"])[2].startswith(named) for c in claims[1:])
    # Each lane stored the traces its calculations name (after them, for the other
    # lane's sake), so none names a trace that is not there.
    assert all(rows[c]["trace"] for claims in people for c in claims)


async def test_officers_start_runs_others_cannot_and_input_is_checked(client):
    for role in (StaffRole.FINANCE, StaffRole.REVIEWER, StaffRole.AUDITOR):
        r = await client.post(
            "/api/v1/calculation-runs", headers=await headers(role), json={"scheme": "skill_level"}
        )
        assert r.status_code == 403
    h = await headers(StaffRole.OFFICER)
    r = await client.post("/api/v1/calculation-runs", headers=h, json={"scheme": "lottery"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "scheme"
    r = await client.post(
        "/api/v1/calculation-runs", headers=h, json={"scheme": "skill_level", "claim_ids": []}
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "claim_ids"


async def test_a_claim_no_version_covers_gets_zero_and_says_why(client):
    h = await headers(StaffRole.OFFICER)
    day = date(2019, 6, 1)  # skill_level v1 takes effect on 2022-01-01
    person, cert = await skilled_person(3, day)
    claim = await skill_claim(person, cert, day, 3)
    await run(client, h, [claim])
    row = (await claims_of([claim]))[claim]
    assert row["status"] == statuses.CALCULATED and row["amount_fen"] == 0
    assert row["policy_version"] is None
    assert texts(row["trace"]) == [
        "no version of the policy is in force on the basis date 2019-06-01: amount 0"
    ]


# -- versions ------------------------------------------------------------------------------


async def test_a_new_version_takes_effect_on_its_date_and_is_immutable_once_used(client):
    officer = await headers(StaffRole.OFFICER)
    doc = document(
        effective_from="2031-01-01",
        effective_to="2031-12-31",
        parameters={
            "cap_per_person_fen": 5_000_000,
            "amount_by_level_fen": {"3": 500_000},
        },
    )
    r = await client.post("/api/v1/policies/skill_level/versions", headers=officer, json=doc)
    assert r.status_code == 201, r.text
    added = r.json()
    assert added["origin"] == "api" and added["used"] is False and added["version"] >= 2
    assert added["conditions"][0]["zh"] == EMPLOYED.describe()[0]
    assert added["conditions"][1]["en"] == Condition("level", "at_least", 4).describe()[1]
    number = added["version"]
    url = f"/api/v1/policies/skill_level/versions/{number}"
    # Unused: it can still be corrected.
    doc["parameters"]["amount_by_level_fen"] = {"3": 600_000}
    r = await client.put(url, headers=officer, json=doc)
    assert r.status_code == 200, r.text
    assert r.json()["parameters"]["amount_by_level_fen"] == {"3": 600_000}

    before_person, before_cert = await skilled_person(3, date(2030, 12, 31))
    on_person, on_cert = await skilled_person(3, date(2031, 1, 1))
    before = await skill_claim(before_person, before_cert, date(2030, 12, 31), 3)
    on = await skill_claim(on_person, on_cert, date(2031, 1, 1), 3)
    await run(client, officer, [before, on])
    rows = await claims_of([before, on])
    assert rows[before]["amount_fen"] == 300_000  # the day before: version 1
    assert rows[on]["amount_fen"] == 600_000  # its first day: the new version
    assert rows[on]["policy_version"] == added["id"]

    shown = (await client.get(url, headers=officer)).json()
    assert shown["used"] is True and shown["used_at"] is not None
    r = await client.put(url, headers=officer, json=doc)
    assert r.status_code == 409, r.text
    assert "add a new version" in r.json()["detail"]


async def test_the_policy_listing_and_its_guards(client):
    _, key = await registry_data.organisation_with_key(org_type="enterprise")
    r = await client.get("/api/v1/policies", headers=bearer(key))
    assert r.status_code == 200
    schemes = {s["scheme"]: s for s in r.json()["schemes"]}
    assert set(schemes) >= {"internship", "training_voucher", "skill_level", "studio_grant"}
    internship = schemes["internship"]["versions"][0]
    assert internship["version"] == 1 and internship["origin"] == "file"
    assert internship["origin_file"] == "internship.v1.toml"
    assert internship["parameters"]["cap_per_intern_fen"] == 900_000
    assert internship["title_zh"] and internship["source"].startswith("东莞市")
    assert schemes["skill_level"]["versions"][0]["automatic"] is True
    assert schemes["internship"]["in_force_today"] == 1
    r = await client.get("/api/v1/policies/internship/versions/1", headers=bearer(key))
    assert r.status_code == 200 and r.json()["conditions"][0]["fact"] == "insured_in_period"
    assert (
        await client.get("/api/v1/policies/internship/versions/99", headers=bearer(key))
    ).status_code == 404
    assert (
        await client.get("/api/v1/policies/lottery/versions/1", headers=bearer(key))
    ).status_code == 404
    # Only officers and admins write.
    for h in (bearer(key), await headers(StaffRole.FINANCE)):
        r = await client.post("/api/v1/policies/skill_level/versions", headers=h, json=document())
        assert r.status_code == 403


async def test_a_bad_version_is_refused_naming_field_and_problem(client):
    h = await headers(StaffRole.ADMIN)
    bad = document(conditions=[{"fact": "shoe_size", "op": "is", "value": 1}])
    bad["parameters"] = {"cap_per_person_fen": -5, "amount_by_level_fen": {"3": 1}}
    r = await client.post("/api/v1/policies/skill_level/versions", headers=h, json=bad)
    assert r.status_code == 400, r.text
    fields = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert "unknown fact 'shoe_size'" in fields["document.conditions[0].fact"]
    assert "document.parameters.cap_per_person_fen" in fields
    count = await PolicyVersion.count().where(PolicyVersion.scheme == "skill_level").run()
    r = await client.post(
        "/api/v1/policies/skill_level/versions", headers=h, json={**document(), "colour": "red"}
    )
    assert r.status_code == 400 and "colour" in r.text
    assert await PolicyVersion.count().where(PolicyVersion.scheme == "skill_level").run() == count


# -- simulations ---------------------------------------------------------------------------


async def test_simulate_reports_changes_and_budget_impact_and_writes_nothing(client):
    officer = await headers(StaffRole.OFFICER)
    day = date(2032, 3, 10)
    people = [await skilled_person(level, day) for level in (3, 4)]
    idle = await skilled_person(3, day, employed=False)
    claims = [
        await skill_claim(people[0][0], people[0][1], day, 3),
        await skill_claim(people[1][0], people[1][1], day, 4),
        await skill_claim(idle[0], idle[1], day, 3),
    ]
    await run(client, officer, claims)
    before = await claims_of(claims)
    assert [before[c]["amount_fen"] for c in claims] == [300_000, 100_000, 0]
    await Budget.insert(
        Budget(scheme="skill_level", year=2032, amount_fen=1_000_000, set_by="test")
    ).run()
    versions = await PolicyVersion.count().run()

    draft = document(
        effective_from="2032-03-01",
        effective_to="2032-03-31",
        parameters={
            "cap_per_person_fen": 5_000_000,
            "amount_by_level_fen": {"4": 50_000, "3": 900_000},
        },
    )
    finance = await headers(StaffRole.FINANCE)
    r = await client.post(
        "/api/v1/policies/skill_level/simulate?year=2032", headers=finance, json=draft
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["claims"] == 3
    assert (report["up"], report["down"], report["unchanged"]) == (1, 1, 1)
    assert report["before_fen"] == 400_000 and report["after_fen"] == 950_000
    assert report["change_fen"] == 550_000
    year = report["years"][0]
    assert year["year"] == 2032 and year["change_fen"] == 550_000
    assert year["remaining_fen"] == 1_000_000
    assert year["remaining_after_change_fen"] == 450_000 and year["fits_budget"] is True
    changed = {e["claim_id"]: e for e in report["examples"]}
    assert changed[claims[0]]["after_fen"] == 900_000
    assert changed[claims[1]]["after_fen"] == 50_000

    assert await claims_of(claims) == before
    assert await PolicyVersion.count().run() == versions

    # A draft whose dates cover none of the claims changes nothing; a bad one is a 400.
    r = await client.post(
        "/api/v1/policies/skill_level/simulate?year=2032",
        headers=officer,
        json=document(effective_from="2033-01-01"),
    )
    assert r.status_code == 200 and r.json()["claims"] == 0
    r = await client.post(
        "/api/v1/policies/skill_level/simulate", headers=officer, json=document(payee="nobody")
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "document.payee"
    r = await client.post(
        "/api/v1/policies/skill_level/simulate", headers=await headers(StaffRole.AUDITOR),
        json=draft,
    )  # fmt: skip
    assert r.status_code == 403


# -- lanes as jobs: guards ------------------------------------------------------------


async def _run_and_lane(claim_ids: list[int]) -> tuple[int, int]:
    """A run job (claimed, as a worker would) and lane 0 of it, enqueued."""
    async with unit_of_work():
        run_id = await enqueue(
            CALCULATE, {"scheme": "skill_level", "claim_ids": claim_ids}, created_by="test"
        )
    assert await runner.claim(run_id) is not None
    async with unit_of_work():
        lane_id = await enqueue(
            CALCULATE_LANE, {"lane": 0, "lanes": 1, "parent": run_id}, created_by="test"
        )
    return run_id, lane_id


async def test_a_lane_whose_lease_was_taken_over_stores_nothing(db, sent, monkeypatch):
    """Taken over after its last progress report: the chunk's own hold on the job stops
    it before it stores."""
    day = date(2024, 3, 1)
    person, cert = await skilled_person(3, day)
    claim_id = await skill_claim(person, cert, day, 3)
    _, lane_id = await _run_and_lane([claim_id])
    stale = await runner.claim(lane_id)

    async def reported(percent: int) -> None:
        return None

    monkeypatch.setattr(stale, "progress", reported)
    # Its lease ran out and another attempt took the lane over.
    await Job.update({Job.attempts: Job.attempts + 1}).where(Job.id == lane_id).run()
    with pytest.raises(runner.LeaseLost):
        await calculation.calculate_lane(stale)
    assert not await ClaimCalculation.exists().where(ClaimCalculation.claim == claim_id).run()


async def test_a_lane_of_a_run_that_has_ended_fails_and_stores_nothing(db, sent):
    day = date(2024, 3, 1)
    person, cert = await skilled_person(3, day)
    claim_id = await skill_claim(person, cert, day, 3)
    run_id, lane_id = await _run_and_lane([claim_id])
    await Job.update({Job.status: JobStatus.FAILED}).where(Job.id == run_id).run()
    await runner.execute(lane_id)
    lane = await Job.select(Job.status, Job.error).where(Job.id == lane_id).first().run()
    assert lane == {
        "status": JobStatus.FAILED,
        "error": f"calculation run {run_id} has ended or is gone",
    }
    assert not await ClaimCalculation.exists().where(ClaimCalculation.claim == claim_id).run()


async def test_a_version_corrected_while_a_run_prices_with_it_is_not_marked_used(
    client, monkeypatch
):
    """An officer corrects an unused version after a run read the catalogue and before
    the run stored its results: the run's attempt must not mark the corrected document
    used for amounts priced with the old one. It rolls back; its retry prices with the
    correction."""
    officer = await headers(StaffRole.OFFICER)
    doc = document(
        effective_from="2032-01-01",
        effective_to="2032-12-31",
        parameters={"cap_per_person_fen": 5_000_000, "amount_by_level_fen": {"3": 500_000}},
    )
    r = await client.post("/api/v1/policies/skill_level/versions", headers=officer, json=doc)
    assert r.status_code == 201, r.text
    number = r.json()["version"]
    corrected = {**doc, "parameters": {**doc["parameters"], "amount_by_level_fen": {"3": 700_000}}}

    # Directly: a stale read cannot be marked used, and nothing is marked.
    stale = await catalogue.get_version("skill_level", number)
    await catalogue.replace_version("test", "skill_level", number, corrected)
    with pytest.raises(catalogue.VersionChanged):
        async with unit_of_work():
            await catalogue.mark_used([stale])
    assert (await catalogue.get_version("skill_level", number)).used_at is None

    # Through a run: the correction lands just after the run read the catalogue.
    corrected_again = {
        **doc,
        "parameters": {**doc["parameters"], "amount_by_level_fen": {"3": 900_000}},
    }
    real_basis = calculation_store.submitted_basis
    corrections = [corrected_again]

    async def basis_after_a_correction(*args, **kwargs):
        # Runs just after the run (on PostgreSQL: each lane) read the catalogue; the
        # correction comes in the lane that has the claim.
        basis = await real_basis(*args, **kwargs)
        if corrections and len(basis):
            await catalogue.replace_version("test", "skill_level", number, corrections.pop())
        return basis

    monkeypatch.setattr(calculation_store, "submitted_basis", basis_after_a_correction)
    person, cert = await skilled_person(3, date(2032, 2, 1))
    claim = await skill_claim(person, cert, date(2032, 2, 1), 3)
    await run(client, officer, [claim])
    # The attempt that priced with 700,000 failed (on PostgreSQL the run's lane did).
    attempts = await Job.select(Job.attempts).where(Job.kind.is_in([CALCULATE, CALCULATE_LANE]))
    assert max(a["attempts"] for a in attempts) == 2, attempts
    rows = await claims_of([claim])
    assert rows[claim]["amount_fen"] == 900_000  # the correction's amount, not 700,000
    assert (await catalogue.get_version("skill_level", number)).used_at is not None


async def test_an_automatic_version_is_refused_for_a_scheme_no_scan_covers(client):
    officer = await headers(StaffRole.OFFICER)
    voucher = (await catalogue.get_version("training_voucher", 1)).policy.raw
    doc = {k: v for k, v in voucher.items() if k not in ("scheme", "version")}
    doc.update(automatic=True, effective_from="2040-01-01")
    r = await client.post("/api/v1/policies/training_voucher/versions", headers=officer, json=doc)
    assert r.status_code == 400, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["document.automatic"], r.json()
    # One stored before the rule existed still reads: the catalogue stays usable.
    async with unit_of_work():
        await PolicyVersion.insert(
            PolicyVersion(
                scheme="training_voucher",
                version=77,
                effective_from=date(2040, 1, 1),
                document=catalogue.canonical({**doc, "scheme": "training_voucher", "version": 77}),
                origin="api",
                created_by="test",
            )
        ).run()
    listed = await catalogue.versions("training_voucher")
    assert [s.policy.automatic for s in listed if s.policy.version == 77] == [True]
