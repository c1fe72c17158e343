"""The skill-level subsidy on SQLite and PostgreSQL: employment reports, the automatic
"policy finds people" scan (and running it twice), the calculation of what it found,
and what a certificate's revocation does to the claims based on it."""

from __future__ import annotations

import asyncio
import json
import tomllib
from datetime import date, timedelta
from typing import Any

import pytest

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from kernel.clock import local_today
from registry.tables import Employment
from subsidies.claims import calculations, statuses
from subsidies.claims.tables import Budget, CapUsage, Claim, ClaimCalculation
from subsidies.policies.documents import DEFAULTS_DIR
from subsidies.skill_levels import scan
from tests.conftest import bearer, org_key, staff_token
from tests.integration.test_people import staff_headers
from tests.support import registry_data as data
from tests.support import waiting
from tests.support.claim_rows import claim_rows, stored_trace
from tests.support.registry_data import ELECTRICIAN, WELDER
from workers import runner
from workers.tables import Job

FITTER = "6-20-01-01"
DEFAULT_FILE = DEFAULTS_DIR / "skill_level.v2.toml"


@pytest.fixture
def staff(db: str):
    return staff_headers(db)


async def employ(
    person: dict[str, Any],
    employer: dict[str, Any],
    started_on: date = date(2022, 6, 1),
    ended_on: date | None = None,
    insured: bool = True,
) -> int:
    rows = (
        await Employment.insert(
            Employment(
                person=person["id"],
                employer=employer["id"],
                started_on=started_on,
                ended_on=ended_on,
                insured=insured,
                reported_by="test",
            )
        )
        .returning(Employment.id)
        .run()
    )
    return rows[0]["id"]


async def wait_for_job(client, job_url: str, headers: dict[str, str]) -> dict[str, Any]:
    return await waiting.api_job_finished(client, job_url, headers)


async def claims_of(*people: dict[str, Any]) -> list[dict[str, Any]]:
    rows = (
        await Claim.select()
        .where(Claim.person.is_in([p["id"] for p in people]))
        .order_by(Claim.certificate, Claim.id)
        .run()
    )
    return await calculations.merged_rows(rows)


async def run_scan(client, staff) -> dict[str, Any]:
    h = await staff(StaffRole.OFFICER)
    r = await client.post("/api/v1/scans", headers=h, json={})
    assert r.status_code == 202, r.text
    job = await wait_for_job(client, r.json()["job_url"], h)
    assert job["status"] == "done", job
    return job["result"]


# -- employment reports ----------------------------------------------------------------


async def test_an_enterprise_reports_and_ends_its_employments(client, staff):
    person = await data.person()
    org, key = await org_key("enterprise")
    h = bearer(key)
    r = await client.post(
        "/api/v1/employments",
        headers=h,
        json={"person_id": person["id"], "started_on": "2023-01-01", "insured": True},
    )
    assert r.status_code == 201, r.text
    job = r.json()
    assert (job["employer_id"], job["person_id"], job["ended_on"]) == (
        org["id"],
        person["id"],
        None,
    )
    assert job["insured"] is True and job["reported_by"].startswith(f"org:{org['id']}:")

    # The same person with the same employer again, while the first is open: 409.
    again = {"id_number": person["id_number"], "started_on": "2023-05-01", "insured": False}
    r = await client.post("/api/v1/employments", headers=h, json=again)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "started_on"

    end_url = f"/api/v1/employments/{job['id']}/end"
    r = await client.post(end_url, headers=h, json={"ended_on": "2022-12-31"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "ended_on"
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    r = await client.post(end_url, headers=h, json={"ended_on": tomorrow})
    assert r.status_code == 400
    r = await client.post(end_url, headers=h, json={"ended_on": "2023-03-31"})
    assert r.status_code == 200 and r.json()["ended_on"] == "2023-03-31"
    assert (
        await client.post(end_url, headers=h, json={"ended_on": "2023-04-30"})
    ).status_code == 409

    # After it ended, a new one (found by resident ID number) is accepted.
    r = await client.post("/api/v1/employments", headers=h, json=again)
    assert r.status_code == 201 and r.json()["person_id"] == person["id"]
    audit = (
        await AuditEntry.select()
        .where((AuditEntry.action == "employment.ended") & (AuditEntry.object_id == str(job["id"])))
        .run()
    )
    assert [json.loads(a["after"]) for a in audit] == [{"ended_on": "2023-03-31"}]


async def test_bad_employment_reports_name_their_fields(client, staff):
    person = await data.person()
    _, key = await org_key("enterprise")
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    r = await client.post(
        "/api/v1/employments",
        headers=bearer(key),
        json={
            "person_id": person["id"],
            "id_number": "123",
            "started_on": tomorrow,
            "insured": True,
        },
    )
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"person_id", "started_on"}
    r = await client.post(
        "/api/v1/employments",
        headers=bearer(key),
        json={"id_number": "44190019900101001X", "started_on": "2023-01-01", "insured": True},
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "id_number"
    r = await client.post(
        "/api/v1/employments",
        headers=bearer(key),
        json={"person_id": 2147483000, "started_on": "2023-01-01", "insured": True},
    )
    assert (
        r.status_code == 400 and r.json()["errors"][0]["reason"] == "no such person in the registry"
    )

    # Officers name the enterprise; it must be one.
    h = await staff(StaffRole.OFFICER)
    body = {"person_id": person["id"], "started_on": "2023-01-01", "insured": True}
    r = await client.post("/api/v1/employments", headers=h, json=body)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "employer_id"
    school, _ = await org_key("technical_school")
    r = await client.post(
        "/api/v1/employments", headers=h, json={**body, "employer_id": school["id"]}
    )
    assert r.status_code == 400 and "enterprise" in r.text
    enterprise, _ = await org_key("enterprise")
    r = await client.post(
        "/api/v1/employments", headers=h, json={**body, "employer_id": enterprise["id"]}
    )
    assert r.status_code == 201 and r.json()["employer_id"] == enterprise["id"]


async def test_who_may_report_and_see_employments(client, staff):
    person = await data.person()
    first, first_key = await org_key("enterprise")
    second, second_key = await org_key("enterprise")
    mine = await employ(person, first)
    theirs = await employ(person, second)
    body = {"person_id": person["id"], "started_on": "2023-01-01", "insured": True}

    for role in (StaffRole.REVIEWER, StaffRole.FINANCE, StaffRole.AUDITOR):
        r = await client.post("/api/v1/employments", headers=await staff(role), json=body)
        assert r.status_code == 403
    _, trainer = await org_key("training_institution")
    assert (
        await client.post("/api/v1/employments", headers=bearer(trainer), json=body)
    ).status_code == 403

    url = f"/api/v1/employments?person_id={person['id']}"
    seen = (await client.get(url, headers=await staff(StaffRole.AUDITOR))).json()["items"]
    assert [e["id"] for e in seen] == [mine, theirs]
    seen = (await client.get(url, headers=bearer(first_key))).json()["items"]
    assert [e["id"] for e in seen] == [mine]
    r = await client.get(
        f"/api/v1/employments?employer_id={second['id']}", headers=bearer(first_key)
    )
    assert r.status_code == 400

    assert (
        await client.get(f"/api/v1/employments/{theirs}", headers=bearer(first_key))
    ).status_code == 404
    r = await client.post(
        f"/api/v1/employments/{theirs}/end",
        headers=bearer(first_key),
        json={"ended_on": "2023-01-01"},
    )
    assert r.status_code == 404
    assert (await client.get(f"/api/v1/employments/{theirs}", headers=bearer(second_key))).json()[
        "ended_on"
    ] is None
    r = await client.get("/api/v1/employments?person_id=0", headers=await staff(StaffRole.OFFICER))
    assert r.status_code == 400


# -- the automatic scan -----------------------------------------------------------------


async def test_the_scan_proposes_claims_for_eligible_people_only_and_once(client, staff):
    employer = await data.organisation()
    issuer = await data.organisation(org_type="evaluation_organisation")
    day = date(2023, 5, 1)

    eligible = await data.person()
    await employ(eligible, employer, started_on=date(2023, 1, 1))
    welder = await data.certificate(eligible, issuer, level=3, occupation=WELDER, issued_on=day)
    upgraded = await data.certificate(
        eligible, issuer, level=2, occupation=WELDER, issued_on=date(2024, 3, 1)
    )
    # The same level again in another occupation: once per person per level.
    await data.certificate(
        eligible, issuer, level=3, occupation=ELECTRICIAN, issued_on=date(2024, 1, 1)
    )

    not_insured = await data.person()
    await employ(not_insured, employer, insured=False)
    await data.certificate(not_insured, issuer, issued_on=day)
    left_before = await data.person()
    await employ(left_before, employer, ended_on=day - timedelta(days=1))
    await data.certificate(left_before, issuer, issued_on=day)
    started_after = await data.person()
    await employ(started_after, employer, started_on=day + timedelta(days=1))
    await data.certificate(started_after, issuer, issued_on=day)
    unemployed = await data.person()
    await data.certificate(unemployed, issuer, issued_on=day)
    junior = await data.person()
    await employ(junior, employer)
    await data.certificate(junior, issuer, level=5, issued_on=day)
    revoked = await data.person()
    await employ(revoked, employer)
    await data.certificate(revoked, issuer, issued_on=day, status="revoked")
    too_early = await data.person()
    await employ(too_early, employer, started_on=date(2020, 1, 1))
    await data.certificate(too_early, issuer, issued_on=date(2021, 12, 31))
    first_day = await data.person()
    await employ(first_day, employer, started_on=date(2022, 1, 1), ended_on=date(2022, 1, 1))
    on_first_day = await data.certificate(first_day, issuer, level=4, issued_on=date(2022, 1, 1))
    ineligible = [not_insured, left_before, started_after, unemployed, junior, revoked, too_early]

    result = await run_scan(client, staff)
    assert result["schemes"] == ["skill_level", "studio_grant"] and result["created"] >= 3
    found = await claims_of(eligible, first_day, *ineligible)
    assert [(c["person"], c["certificate"]) for c in found] == [
        (eligible["id"], welder["id"]),
        (eligible["id"], upgraded["id"]),
        (first_day["id"], on_first_day["id"]),
    ]
    claim = found[0]
    assert claim["scheme"] == "skill_level" and claim["origin"] == "automatic"
    assert (
        claim["status"] == statuses.PROPOSED
        and claim["dedupe_key"] == f"skill_level:{eligible['id']}:3"
    )
    assert (claim["claimant"], claim["payee_kind"], claim["payee_organisation"]) == (
        employer["id"],
        "person",
        None,
    )
    assert claim["basis_date"] == day and claim["budget_year"] == local_today().year
    assert claim["amount_fen"] is None and claim["submitted_by"].startswith("job:")
    assert json.loads(claim["details"])["employment_id"] > 0

    again = await run_scan(client, staff)
    assert again["created"] == 0
    assert len(await claims_of(eligible, first_day, *ineligible)) == 3
    audit = await AuditEntry.select().where(AuditEntry.action == "claims.proposed_by_scan").run()
    assert audit and all(json.loads(a["after"])["created"] > 0 for a in audit)


async def test_a_level_already_claimed_is_not_proposed_and_a_rejected_one_is_again(client, staff):
    employer = await data.organisation()
    issuer = await data.organisation(org_type="evaluation_organisation")
    person = await data.person()
    await employ(person, employer)
    cert = await data.certificate(person, issuer, level=3, issued_on=date(2023, 5, 1))
    await Claim.insert(
        Claim(
            scheme="skill_level",
            origin="application",
            dedupe_key=f"skill_level:{person['id']}:3",
            status=statuses.SUBMITTED,
            claimant=employer["id"],
            person=person["id"],
            payee_kind="person",
            certificate=cert["id"],
            basis_date=date(2023, 5, 1),
            budget_year=2023,
            submitted_by="test",
        )
    ).run()
    await run_scan(client, staff)
    assert [c["origin"] for c in await claims_of(person)] == ["application"]

    await Claim.update({Claim.status: statuses.REJECTED}).where(Claim.person == person["id"]).run()
    await run_scan(client, staff)
    assert [(c["origin"], c["status"]) for c in await claims_of(person)] == [
        ("application", statuses.REJECTED),
        ("automatic", statuses.PROPOSED),
    ]


async def test_only_officers_and_admins_start_a_scan(client, staff):
    for role in (StaffRole.REVIEWER, StaffRole.FINANCE, StaffRole.AUDITOR):
        assert (await client.post("/api/v1/scans", headers=await staff(role))).status_code == 403
    _, key = await org_key("enterprise")
    assert (await client.post("/api/v1/scans", headers=bearer(key))).status_code == 403
    r = await client.post(
        "/api/v1/scans", headers=await staff(StaffRole.ADMIN), json={"schemes": ["internship"]}
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "schemes"
    r = await client.post("/api/v1/scans", headers=await staff(StaffRole.ADMIN))
    assert r.status_code == 202 and r.json()["job_url"] == f"/api/v1/jobs/{r.json()['job_id']}"
    await wait_for_job(client, r.json()["job_url"], await staff(StaffRole.ADMIN))


async def test_the_daily_scan_is_queued_once_a_day(db):
    today = date(2031, 7, int(db.startswith("sqlite")) + 1)  # a day no other test queues
    first = await scan.ensure_daily_scan(today)
    assert first is not None
    assert await asyncio.gather(*(scan.ensure_daily_scan(today) for _ in range(3))) == [None] * 3
    await runner.execute(first)  # run it here: nothing is left pending for later tests
    job = await Job.select(Job.status, Job.result).where(Job.id == first).first().run()
    assert job["status"] == "done" and json.loads(job["result"])["schemes"] == [
        "skill_level",
        "studio_grant",
    ]


async def test_proposed_claims_are_confirmed_and_calculated_by_the_difference(client, staff):
    """End to end: the scan finds senior worker and technician of one welder; the employer
    confirms the person's account, claim by claim (two calculation jobs, in either
    order); the runs pay 3,000 and 5,000, never 3,000 and 8,000."""
    employer, key = await org_key("enterprise")
    issuer = await data.organisation(org_type="evaluation_organisation")
    person = await data.person()
    await employ(person, employer, started_on=date(2022, 3, 1))
    await data.certificate(person, issuer, level=3, occupation=WELDER, issued_on=date(2023, 1, 10))
    await data.certificate(person, issuer, level=2, occupation=WELDER, issued_on=date(2024, 2, 20))
    await run_scan(client, staff)
    proposed = await claims_of(person)
    assert [c["status"] for c in proposed] == [statuses.PROPOSED] * 2

    account = {"bank_name": "东莞农商银行", "bank_account": "6221000012345678"}
    r = await client.post(
        f"/api/v1/claims/{proposed[0]['id']}/confirm-account", headers=bearer(key), json=account
    )
    assert r.status_code == 202, r.text  # an officer confirms the account first
    proposals = f"/api/v1/people/{person['id']}/payment-account/proposals"
    confirmed = f"{proposals}/{r.json()['proposal_id']}/confirmation"
    assert (await client.post(confirmed, headers=await staff(StaffRole.OFFICER))).status_code == 200
    for claim in proposed:  # the person's account is on record now
        r = await client.post(
            f"/api/v1/claims/{claim['id']}/confirm-account", headers=bearer(key), json={}
        )
        assert r.status_code == 200, r.text
    done = await waiting.until(
        lambda: claims_of(person),
        lambda claims: all(c["status"] == statuses.CALCULATED for c in claims),
        "both claims calculated",
    )
    assert [c["amount_fen"] for c in done] == [300_000, 500_000], done
    # Whichever run went first: the senior-worker claim paid (or pending) counts.
    step = json.loads(done[1]["trace"])[-2]
    assert step["zh"].endswith("差额 5,000 元"), step
    assert done[1]["cap_key"] == f"skill_level:{person['id']}"


# -- the upgrade across occupations ----------------------------------------------------


async def apply(client, key: str, person: dict[str, Any], cert: dict[str, Any]):
    """The employer applies for the level `cert` shows (the basis date is its issue day)."""
    body = {
        "scheme": "skill_level",
        "basis_date": "2026-01-01",
        "person_id": person["id"],
        "details": {"certificate_id": cert["id"]},
    }
    return await client.post("/api/v1/claims", headers=bearer(key), json=body)


async def applied(client, key: str, person: dict[str, Any], cert: dict[str, Any]) -> int:
    r = await apply(client, key, person, cert)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def calculated(*claim_ids: int) -> list[dict[str, Any]]:
    """The claims once all are calculated, in the order given."""

    async def rows() -> list[dict[str, Any]]:
        found = await calculations.merged_rows(
            await Claim.select().where(Claim.id.is_in(list(claim_ids))).run()
        )
        by_id = {r["id"]: r for r in found}
        return [by_id[c] for c in claim_ids]

    return await waiting.until(
        rows,
        lambda claims: all(c["status"] == statuses.CALCULATED for c in claims),
        "claims calculated",
    )


def steps(claim: dict[str, Any], lang: str = "en") -> list[str]:
    return [step[lang] for step in json.loads(claim["trace"])]


async def test_a_second_occupation_pays_only_the_difference_per_person(client, staff):
    """The version in force pays a person's improvement: senior worker as a welder, then
    technician as an electrician, pays 3,000 and 5,000; senior worker as an electrician
    after technician as a welder pays nothing, saying why; the same level again in
    another occupation is refused, naming the claim that holds it."""
    employer, key = await org_key("enterprise")
    issuer = await data.organisation(org_type="evaluation_organisation")
    climber = await data.person()
    await employ(climber, employer, started_on=date(2022, 3, 1))
    senior = await data.certificate(
        climber, issuer, level=3, occupation=WELDER, issued_on=date(2023, 1, 10)
    )
    technician = await data.certificate(
        climber, issuer, level=2, occupation=ELECTRICIAN, issued_on=date(2024, 2, 20)
    )
    first = await applied(client, key, climber, senior)
    [senior_claim] = await calculated(first)
    second = await applied(client, key, climber, technician)
    [technician_claim] = await calculated(second)
    assert (senior_claim["amount_fen"], technician_claim["amount_fen"]) == (300_000, 500_000)
    assert steps(technician_claim)[1].startswith("basis: per person")
    assert steps(technician_claim)[2] == (
        f"3,000 already paid by this person: claim {first} ({WELDER}, senior worker, 3,000)"
    )
    again = await data.certificate(
        climber, issuer, level=3, occupation=ELECTRICIAN, issued_on=date(2024, 5, 1)
    )
    r = await apply(client, key, climber, again)
    assert r.status_code == 409 and r.json()["existing_claim_id"] == first, r.text

    descender = await data.person()
    await employ(descender, employer, started_on=date(2022, 3, 1))
    higher = await data.certificate(
        descender, issuer, level=2, occupation=WELDER, issued_on=date(2023, 1, 10)
    )
    lower = await data.certificate(
        descender, issuer, level=3, occupation=ELECTRICIAN, issued_on=date(2024, 2, 20)
    )
    paid = await applied(client, key, descender, higher)
    await calculated(paid)
    [nothing] = await calculated(await applied(client, key, descender, lower))
    assert nothing["amount_fen"] == 0
    assert steps(nothing)[2:4] == [
        f"8,000 already paid by this person: claim {paid} ({WELDER}, technician, 8,000)",
        "technician (8,000) already paid, at or above this level: less 8,000, difference 0",
    ]
    assert steps(nothing, "zh")[3].startswith("已享受的最高等级为技师")


async def test_under_the_per_occupation_option_both_occupations_pay_in_full(client, staff):
    """A version with `upgrade_basis = "occupation"` (in force in 2033 only, a year no
    other test uses) deducts only lower levels of the claim's own occupation."""
    officer = await staff(StaffRole.OFFICER)
    with DEFAULT_FILE.open("rb") as f:
        doc = tomllib.load(f)
    doc.pop("scheme"), doc.pop("version")
    doc.update(effective_from="2033-01-01", effective_to="2033-12-31", automatic=False)
    doc["parameters"]["upgrade_basis"] = "occupation"
    r = await client.post("/api/v1/policies/skill_level/versions", headers=officer, json=doc)
    assert r.status_code == 201, r.text
    version_id = r.json()["id"]

    employer, key = await org_key("enterprise")
    issuer = await data.organisation(org_type="evaluation_organisation")
    person = await data.person()
    await employ(person, employer, started_on=date(2022, 3, 1))
    senior = await data.certificate(
        person, issuer, level=3, occupation=WELDER, issued_on=date(2033, 2, 1)
    )
    technician = await data.certificate(
        person, issuer, level=2, occupation=ELECTRICIAN, issued_on=date(2033, 3, 1)
    )
    first = await applied(client, key, person, senior)
    await calculated(first)
    done = await calculated(first, await applied(client, key, person, technician))
    assert [c["amount_fen"] for c in done] == [300_000, 800_000]
    assert {c["policy_version"] for c in done} == {version_id}  # the version's id
    assert steps(done[1])[1] == (
        "basis: per occupation; an upgrade pays the difference within its occupation"
    )


async def test_claims_of_one_person_in_several_occupations_pay_once_however_they_race(
    client, staff
):
    """Applications for one level in two occupations at once make one claim; the
    technician's claim in a third occupation pays the difference; two officers
    approving both at once commit the technician's 8,000 in all, never 11,000."""
    employer, key = await org_key("enterprise")
    issuer = await data.organisation(org_type="evaluation_organisation")
    person = await data.person()
    await employ(person, employer, started_on=date(2022, 3, 1))
    seniors = [
        await data.certificate(
            person, issuer, level=3, occupation=occupation, issued_on=date(2023, 1, 10)
        )
        for occupation in (WELDER, ELECTRICIAN)
    ]
    answers = await asyncio.gather(*(apply(client, key, person, c) for c in seniors * 4))
    created = [r.json()["id"] for r in answers if r.status_code == 201]
    assert len(created) == 1, [r.text for r in answers]
    assert all(
        r.status_code == 409 and r.json()["existing_claim_id"] == created[0]
        for r in answers
        if r.status_code != 201
    ), [r.text for r in answers]
    technician = await data.certificate(
        person, issuer, level=2, occupation=FITTER, issued_on=date(2024, 2, 20)
    )
    claims = [created[0], await applied(client, key, person, technician)]
    done = await calculated(*claims)
    assert [c["amount_fen"] for c in done] == [300_000, 500_000], done

    for year in {c["budget_year"] for c in done}:
        set_for = (Budget.scheme == "skill_level") & (Budget.year == year)
        if not await Budget.exists().where(set_for):
            await Budget.insert(
                Budget(scheme="skill_level", year=year, amount_fen=10**12, set_by="test")
            ).run()
    officers = [bearer((await staff_token(StaffRole.OFFICER))[1]) for _ in claims]
    answers = await asyncio.gather(
        *(
            client.post(f"/api/v1/claims/{c}/approve", headers=h)
            for c, h in zip(claims, officers, strict=True)
        )
    )
    assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
    cap = f"skill_level:{person['id']}"
    used = await CapUsage.select(CapUsage.used_fen).where(CapUsage.key == cap).first().run()
    assert used is not None and used["used_fen"] == 800_000


# -- revocation -------------------------------------------------------------------------


async def test_revocation_holds_unpaid_claims_and_flags_paid_ones_for_recovery(client, staff):
    employer = await data.organisation()
    issuer = await data.organisation(org_type="evaluation_organisation")
    people = [await data.person() for _ in range(6)]
    cert_ids = []
    for person in people:
        cert_ids.append((await data.certificate(person, issuer, level=3))["id"])
    # One certificate, claims in every status (different people keep the keys apart).
    shared = cert_ids[0]
    states = [
        statuses.PROPOSED,
        statuses.SUBMITTED,
        statuses.CALCULATED,
        statuses.APPROVED,
        statuses.PAID,
        statuses.REJECTED,
    ]
    ids = {}
    for person, state in zip(people, states, strict=True):
        rows = (
            await Claim.insert(
                Claim(
                    scheme="skill_level",
                    origin="automatic",
                    dedupe_key=f"skill_level:{person['id']}:3",
                    status=statuses.stored((state,))[0],
                    claimant=employer["id"],
                    person=person["id"],
                    payee_kind="person",
                    certificate=shared,
                    basis_date=date(2023, 5, 1),
                    budget_year=2023,
                    amount_fen=300_000
                    if state not in (statuses.PROPOSED, statuses.SUBMITTED, statuses.CALCULATED)
                    else None,
                    submitted_by="test",
                )
            )
            .returning(Claim.id)
            .run()
        )
        ids[state] = rows[0]["id"]
        if state == statuses.CALCULATED:
            await ClaimCalculation.insert(
                ClaimCalculation(
                    claim=ids[state],
                    amount_fen=300_000,
                    trace_digest=await stored_trace("[]"),
                )
            ).run()
    # A claim on another certificate is untouched.
    other = (
        await Claim.insert(
            Claim(
                scheme="skill_level",
                origin="automatic",
                dedupe_key=f"skill_level:{people[0]['id']}:2",
                status=statuses.SUBMITTED,
                person=people[0]["id"],
                payee_kind="person",
                certificate=cert_ids[1],
                basis_date=date(2023, 5, 1),
                budget_year=2023,
                submitted_by="test",
            )
        )
        .returning(Claim.id)
        .run()
    )[0]["id"]

    h = await staff(StaffRole.OFFICER)
    r = await client.post(
        f"/api/v1/certificates/{shared}/revoke", headers=h, json={"reason": "考核记录伪造"}
    )
    assert r.status_code == 200, r.text
    job = await wait_for_job(client, r.json()["job_url"], h)
    assert job["status"] == "done", job
    assert (
        "subsidies.skill_levels.revocation.hold_claims_of_revoked_certificate"
        in job["result"]["reactions"]
    )

    rows = {c["id"]: c for c in await claim_rows(Claim.certificate.is_in([shared, cert_ids[1]]))}
    for state in (statuses.PROPOSED, statuses.SUBMITTED, statuses.CALCULATED, statuses.APPROVED):
        held = rows[ids[state]]
        assert held["status"] == statuses.ON_HOLD, state
        assert "考核记录伪造" in held["hold_reason"] and "revoked on" in held["hold_reason"]
        assert held["recovery_reason"] is None
        [entry] = (
            await AuditEntry.select()
            .where(
                (AuditEntry.action == "claim.put_on_hold")
                & (AuditEntry.object_id == str(ids[state]))
            )
            .run()
        )
        assert json.loads(entry["before"]) == {"status": state}
    paid = rows[ids[statuses.PAID]]
    assert paid["status"] == statuses.PAID and paid["hold_reason"] is None
    assert "追回" in paid["recovery_reason"] and "recovered" in paid["recovery_reason"]
    assert (
        len(
            await AuditEntry.select()
            .where(
                (AuditEntry.action == "claim.recovery_flagged")
                & (AuditEntry.object_id == str(ids[statuses.PAID]))
            )
            .run()
        )
        == 1
    )
    assert rows[ids[statuses.REJECTED]]["status"] == statuses.REJECTED
    assert rows[ids[statuses.REJECTED]]["hold_reason"] is None
    assert rows[other]["status"] == statuses.SUBMITTED

    # A revoked certificate is never proposed again, even once its claims are rejected.
    for person in people:
        await employ(person, employer, started_on=date(2022, 1, 1))
    await Claim.update({Claim.status: statuses.REJECTED}).where(Claim.certificate == shared).run()
    await run_scan(client, staff)
    assert (
        not await Claim.exists()
        .where((Claim.certificate == shared) & (Claim.status == statuses.PROPOSED))
        .run()
    )


# -- applying (POST /api/v1/claims) ---------------------------------------------------------


async def test_an_enterprise_applies_for_a_level_once(client, staff):
    employer, key = await org_key("enterprise")
    issuer = await data.organisation(org_type="evaluation_organisation")
    person = await data.person()
    cert = await data.certificate(person, issuer, level=2, issued_on=date(2024, 4, 2))
    body = {
        "scheme": "skill_level",
        "basis_date": "2026-01-01",
        "person_id": person["id"],
        "details": {"certificate_id": cert["id"]},
    }
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body)
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["dedupe_key"] == f"skill_level:{person['id']}:2"
    assert claim["basis_date"] == "2024-04-02" and claim["certificate_id"] == cert["id"]
    assert (claim["payee_kind"], claim["claimant_organisation_id"]) == ("person", employer["id"])

    # The same level again, from another certificate of another occupation: 409.
    other = await data.certificate(person, issuer, level=2, occupation=ELECTRICIAN)
    again = {**body, "details": {"certificate_id": other["id"]}}
    r = await client.post("/api/v1/claims", headers=bearer(key), json=again)
    assert r.status_code == 409 and r.json()["existing_claim_id"] == claim["id"], r.text

    stranger = await data.person()
    r = await client.post(
        "/api/v1/claims", headers=bearer(key), json={**body, "person_id": stranger["id"]}
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "details.certificate_id"
    revoked = await data.certificate(person, issuer, level=1, status="revoked")
    r = await client.post(
        "/api/v1/claims",
        headers=bearer(key),
        json={**body, "details": {"certificate_id": revoked["id"]}},
    )
    assert r.status_code == 400 and "revoked" in r.text
    _, trainer = await org_key("training_institution")
    assert (
        await client.post("/api/v1/claims", headers=bearer(trainer), json=body)
    ).status_code == 403


async def test_the_scan_proposes_only_what_the_versions_conditions_admit(
    client, staff, monkeypatch
):
    """An automatic version's conditions beyond an insured employment (here: hukou, and a
    level condition narrower than the amounts) decide what the scan proposes, as they
    decide what the calculation pays."""
    officer = await staff(StaffRole.OFFICER)
    version = {
        "title_zh": "技能等级提升资助（测试）",
        "title_en": "Skill-level subsidy (test)",
        "source": "test",
        "effective_from": "2034-01-01",
        "effective_to": "2034-12-31",
        "payee": "person",
        "automatic": True,
        "conditions": [
            {"fact": "employed_in_dongguan", "op": "is", "value": True},
            {"fact": "insured", "op": "is", "value": True},
            {"fact": "level", "op": "at_least", "value": 3},
            {"fact": "hukou", "op": "in", "value": ["non_local"]},
        ],
        "parameters": {
            "cap_per_person_fen": 5_000_000,
            "amount_by_level_fen": {"4": 100_000, "3": 300_000},
        },
    }
    r = await client.post("/api/v1/policies/skill_level/versions", headers=officer, json=version)
    assert r.status_code == 201, r.text
    employer = await data.organisation()
    issuer = await data.organisation(org_type="evaluation_organisation")
    day = date(2034, 3, 1)
    people = {}
    for name, hukou, level in [
        ("admitted", "non_local", 3),
        ("local", "local", 3),
        ("level_four", "non_local", 4),
    ]:
        people[name] = await data.person(hukou=hukou)
        await employ(people[name], employer, started_on=date(2034, 1, 1))
        await data.certificate(people[name], issuer, level=level, occupation=WELDER, issued_on=day)

    monkeypatch.setattr(scan, "DELETE_IDS_AT_ONCE", 1)  # the refused, a statement each
    result = await run_scan(client, staff)
    assert [p["created"] for p in result["periods"] if p["from"] == "2034-01-01"] == [1]
    found = await claims_of(*people.values())
    assert [c["person"] for c in found] == [people["admitted"]["id"]]
    # The ones refused left nothing behind, and a second scan proposes nothing new.
    assert await Claim.count().where(Claim.person == people["local"]["id"]).run() == 0
    assert (await run_scan(client, staff))["created"] == 0
