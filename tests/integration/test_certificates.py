"""Certificates, revocation and its job, levels and registration eligibility, through the
API on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from accounts.roles import StaffRole
from audit.log import record
from kernel import clock
from kernel.clock import local_today
from kernel.masking import mask_id_number
from registry import certificate_events, certificates
from registry.tables import Certificate, InsuredPeriod, Person
from tests.conftest import ADMIN, bearer, org_key, unique
from tests.integration.test_people import (
    audit_of,
    issue,
    link_by_outcome,
    make_person,
    registered_on,
    staff_headers,
)
from tests.support import waiting
from workers import runner
from workers.status import JobStatus
from workers.tables import Job


@pytest.fixture
def staff(db: str):
    return staff_headers(db)


def cert_body(person_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "occupation_code": "6-18-01-01",
        "occupation_name": "车工",
        "level": 3,
        "number": unique("No."),
        "issued_on": "2023-06-30",
        **extra,
    }


async def wait_for_job(client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    return await waiting.api_job_finished(client, url, headers)


# -- issuing -------------------------------------------------------------------------------


async def test_an_officer_issues_a_certificate_for_a_named_issuer(client, staff):
    person = await make_person()
    issuer, _ = await org_key("evaluation_organisation")
    h = await staff(StaffRole.OFFICER)
    r = await client.post(
        "/api/v1/certificates", headers=h, json=cert_body(person["id"], issuer_id=issuer["id"])
    )
    assert r.status_code == 201, r.text
    cert = r.json()
    assert cert["issuer_id"] == issuer["id"] and cert["issuer_name"] == issuer["name"]
    assert cert["route"] == "social_evaluation_organisation" and cert["status"] == "valid"
    assert (cert["level_zh"], cert["level_en"]) == ("高级工", "senior worker")
    assert cert["id_number"] == person["id_number"] and cert["person_name"] == person["name"]
    [entry] = await audit_of("certificate.issued", cert["id"])
    assert person["id_number"] not in entry["after"]

    r = await client.post("/api/v1/certificates", headers=h, json=cert_body(person["id"]))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "issuer_id"


async def test_today_is_beijings_when_issuing_and_revoking(client, staff, monkeypatch):
    """01:00 on 2 March in Dongguan is still 1 March in UTC: a certificate issued that
    day is not "in the future", and a revocation without a date is dated that day."""
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 3, 1, 17, 0, tzinfo=UTC))
    person = await make_person()
    issuer, _ = await org_key("evaluation_organisation")
    h = await staff(StaffRole.OFFICER)
    body = cert_body(person["id"], issuer_id=issuer["id"], issued_on="2026-03-02")
    r = await client.post("/api/v1/certificates", headers=h, json=body)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/certificates/{r.json()['id']}/revoke", headers=h, json={"reason": "forged"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["certificate"]["revoked_on"] == "2026-03-02"


@pytest.mark.parametrize(
    ("org_type", "route"),
    [
        ("enterprise", "enterprise_self_evaluation"),
        ("technical_school", "technical_school"),
        ("evaluation_organisation", "social_evaluation_organisation"),
    ],
)
async def test_an_organisation_issues_its_own_certificates(client, org_type, route):
    person = await make_person()
    org, key = await org_key(org_type)
    r = await client.post("/api/v1/certificates", headers=bearer(key), json=cert_body(person["id"]))
    assert r.status_code == 201, r.text
    cert = r.json()
    assert cert["issuer_id"] == org["id"] and cert["route"] == route
    assert cert["id_number"] == mask_id_number(person["id_number"])
    chosen = cert_body(person["id"], route="competition", issuer_id=org["id"])
    r = await client.post("/api/v1/certificates", headers=bearer(key), json=chosen)
    assert r.status_code == 201 and r.json()["route"] == "competition"


async def test_an_organisation_may_not_issue_for_another_or_as_a_training_institution(client):
    person = await make_person()
    other, _ = await org_key("enterprise")
    _, key = await org_key("enterprise")
    body = cert_body(person["id"], issuer_id=other["id"])
    assert (
        await client.post("/api/v1/certificates", headers=bearer(key), json=body)
    ).status_code == 403
    _, trainer = await org_key("training_institution")
    r = await client.post(
        "/api/v1/certificates", headers=bearer(trainer), json=cert_body(person["id"])
    )
    assert r.status_code == 403


async def test_only_officers_and_admins_issue_among_staff(client, staff):
    person = await make_person()
    issuer, _ = await org_key("enterprise")
    body = cert_body(person["id"], issuer_id=issuer["id"])
    for role in (StaffRole.REVIEWER, StaffRole.FINANCE, StaffRole.AUDITOR):
        r = await client.post("/api/v1/certificates", headers=await staff(role), json=body)
        assert r.status_code == 403
    r = await client.post("/api/v1/certificates", headers=await staff(StaffRole.ADMIN), json=body)
    assert r.status_code == 201


async def test_every_bad_field_of_a_certificate_is_reported(client, staff):
    person = await make_person(birth=date(1990, 3, 7))
    issuer, _ = await org_key("enterprise")
    h = await staff(StaffRole.OFFICER)
    r = await client.post(
        "/api/v1/certificates",
        headers=h,
        json=cert_body(
            person["id"],
            issuer_id=issuer["id"],
            occupation_code="lathe",
            occupation_name="",
            level=6,
            number="N" * 41,
            issued_on="1990-03-06",
            route="bought",
        ),
    )
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {
        "occupation_code",
        "occupation_name",
        "level",
        "number",
        "issued_on",
        "route",
    }
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    r = await client.post(
        "/api/v1/certificates",
        headers=h,
        json=cert_body(2147483000, issuer_id=2147483001, issued_on=tomorrow),
    )
    assert {e["field"] for e in r.json()["errors"]} == {"person_id", "issuer_id", "issued_on"}
    r = await client.post(
        "/api/v1/certificates", headers=h, json=cert_body(person["id"], issuer_id=0)
    )
    assert r.status_code == 400 and "issuer_id" in r.text


async def test_a_number_is_unique_per_issuer(client, staff):
    person = await make_person()
    first, _ = await org_key("enterprise")
    second, _ = await org_key("enterprise")
    h = await staff(StaffRole.OFFICER)
    body = cert_body(person["id"], issuer_id=first["id"])
    assert (await client.post("/api/v1/certificates", headers=h, json=body)).status_code == 201
    r = await client.post("/api/v1/certificates", headers=h, json=body)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "number"
    elsewhere = {**body, "issuer_id": second["id"]}
    assert (await client.post("/api/v1/certificates", headers=h, json=elsewhere)).status_code == 201

    racing = cert_body(person["id"], issuer_id=first["id"])
    answers = await asyncio.gather(
        *(client.post("/api/v1/certificates", headers=h, json=racing) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409]


async def test_a_certificate_is_seen_by_staff_and_its_issuer_only(client, staff):
    person = await make_person()
    issuer, issuer_key = await org_key("technical_school")
    _, other_key = await org_key("technical_school")
    cert = await issue(person["id"], issuer["id"])
    url = f"/api/v1/certificates/{cert['id']}"
    r = await client.get(url, headers=await staff(StaffRole.AUDITOR))
    assert r.status_code == 200 and r.json()["id_number"] == mask_id_number(person["id_number"])
    assert (await client.get(url, headers=bearer(issuer_key))).status_code == 200
    assert (await client.get(url, headers=bearer(other_key))).status_code == 404
    missing = "/api/v1/certificates/2147483000"
    assert (await client.get(missing, headers=await staff(StaffRole.OFFICER))).status_code == 404


# -- revocation ----------------------------------------------------------------------------


@pytest.fixture
def reactions(monkeypatch):
    """A reaction as a later package would register it: an audit row per revocation."""
    seen: list[int] = []

    async def mark_revoked(certificate_id: int, ctx) -> None:
        seen.append(certificate_id)
        await record(ctx.actor, "test.revocation_seen", "certificate", certificate_id)

    monkeypatch.setattr(certificate_events, "_REACTIONS", [])
    certificate_events.on_certificate_revoked(mark_revoked)
    certificate_events.on_certificate_revoked(mark_revoked)  # once is enough
    return seen


async def test_revocation_is_audited_and_its_job_runs_the_reactions(client, staff, reactions):
    person = await make_person()
    issuer, issuer_key = await org_key("enterprise")
    cert = await issue(person["id"], issuer["id"], issued_on=date(2021, 1, 1))
    h = await staff(StaffRole.OFFICER)
    url = f"/api/v1/certificates/{cert['id']}/revoke"
    r = await client.post(url, headers=h, json={"reason": "forged assessment record"})
    assert r.status_code == 200, r.text
    revoked = r.json()
    assert revoked["certificate"]["status"] == "revoked"
    assert revoked["certificate"]["revoked_on"] == local_today().isoformat()
    assert revoked["certificate"]["revoked_reason"] == "forged assessment record"

    [entry] = await audit_of("certificate.revoked", cert["id"])
    assert json.loads(entry["before"]) == {"status": "valid"}
    assert json.loads(entry["after"])["revoked_reason"] == "forged assessment record"
    job_row = await Job.select().where(Job.id == revoked["job_id"]).first().run()
    assert job_row["kind"] == "registry.certificate_revoked"
    assert json.loads(job_row["payload"]) == {"certificate_id": cert["id"]}

    job = await wait_for_job(client, revoked["job_url"], h)
    assert job["status"] == "done", job
    name = "tests.integration.test_certificates.reactions.<locals>.mark_revoked"
    assert job["result"] == {"certificate_id": cert["id"], "reactions": [name]}
    assert reactions == [cert["id"]]
    assert len(await audit_of("test.revocation_seen", cert["id"])) == 1

    again = await client.post(url, headers=h, json={"reason": "again"})
    assert again.status_code == 409
    assert await Job.count().where(Job.kind == "registry.certificate_revoked").run() >= 1
    seen = await client.get(f"/api/v1/certificates/{cert['id']}", headers=bearer(issuer_key))
    assert seen.json()["status"] == "revoked"


async def test_a_failing_reaction_rolls_back_every_reaction_and_the_job_retries(
    db, monkeypatch, reactions
):
    async def broken(certificate_id: int, ctx) -> None:
        raise RuntimeError("subsidy ledger unavailable")

    certificate_events.on_certificate_revoked(broken)
    sent: list[int] = []

    async def fake_send(job_id: int) -> None:
        sent.append(job_id)

    monkeypatch.setattr("workers.broker.send_job", fake_send)
    person = await make_person()
    issuer, _ = await org_key("enterprise")
    cert = await issue(person["id"], issuer["id"])
    _, job_id = await certificates.revoke(ADMIN, cert["id"], "wrong person", None)
    assert sent == [job_id]
    await runner.execute(job_id)
    job = await Job.select().where(Job.id == job_id).first().run()
    assert job["status"] == JobStatus.PENDING and "RuntimeError" in job["error"]
    assert await audit_of("test.revocation_seen", cert["id"]) == []  # rolled back


async def test_revocation_input_and_roles(client, staff):
    person = await make_person()
    issuer, issuer_key = await org_key("enterprise")
    cert = await issue(person["id"], issuer["id"], issued_on=date(2022, 4, 1))
    url = f"/api/v1/certificates/{cert['id']}/revoke"
    h = await staff(StaffRole.ADMIN)
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    for body, field in (
        ({"reason": "  "}, "reason"),
        ({"revoked_on": "2023-01-01"}, "reason"),
        ({"reason": "x", "revoked_on": "2022-03-31"}, "revoked_on"),
        ({"reason": "x", "revoked_on": tomorrow}, "revoked_on"),
        ({"reason": "x", "revoked_on": "not a date"}, "revoked_on"),
    ):
        r = await client.post(url, headers=h, json=body)
        assert r.status_code == 400, body
        assert any(field in e["field"] or field in e["reason"] for e in r.json()["errors"]), body
    for headers in (await staff(StaffRole.REVIEWER), bearer(issuer_key)):
        assert (await client.post(url, headers=headers, json={"reason": "x"})).status_code == 403
    missing = "/api/v1/certificates/2147483000/revoke"
    assert (await client.post(missing, headers=h, json={"reason": "x"})).status_code == 404
    r = await client.post(url, headers=h, json={"reason": "x", "revoked_on": "2022-04-01"})
    assert r.status_code == 200 and r.json()["certificate"]["revoked_on"] == "2022-04-01"
    stored = await Certificate.select().where(Certificate.id == cert["id"]).first().run()
    assert stored["status"] == "revoked" and stored["revoked_by"].startswith("staff:")


# -- history and levels --------------------------------------------------------------------


async def test_history_newest_first_and_current_levels_per_occupation(client, staff):
    person = await make_person()
    issuer, issuer_key = await org_key("evaluation_organisation")
    other, _ = await org_key("enterprise")
    lathe = {"occupation_code": "6-18-01-01", "occupation_name": "车工"}
    weld = {"occupation_code": "6-18-02-04", "occupation_name": "焊工"}
    old = await issue(person["id"], issuer["id"], level=4, issued_on=date(2015, 1, 1), **lathe)
    senior = await issue(person["id"], other["id"], level=3, issued_on=date(2018, 1, 1), **lathe)
    again = await issue(person["id"], issuer["id"], level=3, issued_on=date(2019, 1, 1), **lathe)
    revoked = await issue(person["id"], issuer["id"], level=2, issued_on=date(2020, 1, 1), **lathe)
    welder = await issue(person["id"], issuer["id"], level=5, issued_on=date(2021, 1, 1), **weld)
    h = await staff(StaffRole.OFFICER)
    await client.post(
        f"/api/v1/certificates/{revoked['id']}/revoke", headers=h, json={"reason": "重复发证"}
    )

    history = (await client.get(f"/api/v1/people/{person['id']}/certificates", headers=h)).json()
    assert [c["id"] for c in history] == [
        welder["id"],
        revoked["id"],
        again["id"],
        senior["id"],
        old["id"],
    ]
    assert history[1]["status"] == "revoked" and history[1]["revoked_reason"] == "重复发证"

    levels = (await client.get(f"/api/v1/people/{person['id']}/levels", headers=h)).json()
    assert [(lv["occupation_code"], lv["level"]) for lv in levels] == [
        ("6-18-01-01", 3),
        ("6-18-02-04", 5),
    ]
    assert levels[0]["certificate_id"] == senior["id"]  # the level was reached in 2018
    assert (levels[0]["level_zh"], levels[0]["level_en"]) == ("高级工", "senior worker")
    assert (levels[1]["level_zh"], levels[1]["level_en"]) == ("初级工", "junior worker")

    # The issuer sees the person, and in the history only what it issued itself.
    mine = await client.get(
        f"/api/v1/people/{person['id']}/certificates", headers=bearer(issuer_key)
    )
    assert {c["issuer_id"] for c in mine.json()} == {issuer["id"]} and len(mine.json()) == 4
    assert all(c["id_number"] == mask_id_number(person["id_number"]) for c in mine.json())
    r = await client.get(f"/api/v1/people/{person['id']}/levels", headers=bearer(issuer_key))
    assert r.status_code == 200 and len(r.json()) == 2
    _, stranger = await org_key("enterprise")
    for path in ("certificates", "levels"):
        url = f"/api/v1/people/{person['id']}/{path}"
        assert (await client.get(url, headers=bearer(stranger))).status_code == 404


async def test_a_person_without_certificates_has_an_empty_history(client, staff):
    person = await make_person()
    h = await staff(StaffRole.REVIEWER)
    for path in ("certificates", "levels"):
        r = await client.get(f"/api/v1/people/{person['id']}/{path}", headers=h)
        assert r.status_code == 200 and r.json() == []
    r = await client.get("/api/v1/people/2147483000/levels", headers=h)
    assert r.status_code == 404


# -- registration eligibility --------------------------------------------------------------

ON = date(2025, 6, 15)


async def eligibility(client, person_id: int, headers: dict[str, str], on: str | None = None):
    url = f"/api/v1/people/{person_id}/registration-eligibility"
    return await client.get(url, headers=headers, params={"on": on} if on else None)


async def test_eligibility_clause_2_at_its_boundaries(client, staff):
    person = await make_person(birth=date(1979, 6, 16))  # 45 on ON; 46 the day after
    # 2023-06 to 2025-05, as the migration carries over a figure of 24 confirmed 2025-05-31.
    await InsuredPeriod.insert(
        InsuredPeriod(
            person=person["id"],
            first_month=date(2023, 6, 1),
            last_month=date(2025, 5, 1),
            source="legacy",
            recorded_on=date(2025, 5, 31),
            recorded_by="test",
        )
    ).run()
    issuer, _ = await org_key("evaluation_organisation")
    held = await issue(person["id"], issuer["id"], level=3, issued_on=date(2024, 1, 1))
    await registered_on(held, date(2024, 1, 1))
    h = await staff(StaffRole.REVIEWER)

    r = await eligibility(client, person["id"], h, ON.isoformat())
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["eligible"] is True and result["applying_clauses"] == [2]
    assert result["on"] == "2025-06-15" and "140号" in result["scheme"]
    clause2 = next(c for c in result["clauses"] if c["number"] == 2)
    facts = {f["name"]: f for f in clause2["facts"]}
    assert facts["age"]["actual"] == 45 and facts["age"]["passed"] is True
    assert (
        facts["insured_months"]["actual"] == 24 and facts["insured_months"]["as_of"] == "2025-05-31"
    )
    assert facts["level_held"]["actual"] == 3
    record = next(f for f in result["preconditions"] if f["name"] == "no_criminal_record")
    assert record["passed"] is None

    birthday = (await eligibility(client, person["id"], h, "2025-06-16")).json()
    assert birthday["eligible"] is False
    age = next(f for c in birthday["clauses"] for f in c["facts"] if f["name"] == "age")
    assert age["actual"] == 46 and age["passed"] is False

    # The day before the months were recorded nothing was known of them.
    before = (await eligibility(client, person["id"], h, "2025-05-30")).json()
    assert before["eligible"] is False and before["state"] == "undetermined"
    assert before["missing"] == [
        {
            "clause": 2,
            "fact": "insured_months",
            "reason": "no insured months recorded on or before 2025-05-30; 24 months up to the "
            "date were recorded after it and are not counted",
        }
    ]


async def test_eligibility_counts_only_valid_certificates_issued_by_the_date(client, staff):
    person = await make_person(birth=date(1990, 1, 1))
    issuer, _ = await org_key("enterprise")
    h = await staff(StaffRole.OFFICER)
    later = await issue(person["id"], issuer["id"], level=2, issued_on=date(2025, 6, 16))
    await registered_on(later, date(2025, 6, 16))
    result = (await eligibility(client, person["id"], h, ON.isoformat())).json()
    assert result["eligible"] is False and result["applying_clauses"] == []
    assert (await eligibility(client, person["id"], h, "2025-06-16")).json()[
        "applying_clauses"
    ] == [1]
    await client.post(
        f"/api/v1/certificates/{later['id']}/revoke", headers=h, json={"reason": "invalid exam"}
    )
    assert (await eligibility(client, person["id"], h, "2025-06-16")).json()["eligible"] is False
    # Without `on`, today.
    today = (await eligibility(client, person["id"], h)).json()
    assert today["on"] == local_today().isoformat()


async def test_eligibility_counts_a_certificate_from_the_beijing_day_it_was_registered(
    client, staff
):
    person = await make_person(birth=date(1990, 1, 1))
    issuer, _ = await org_key("enterprise")
    h = await staff(StaffRole.OFFICER)
    held = await issue(person["id"], issuer["id"], level=2, issued_on=date(2025, 1, 1))
    # Registered today: not known on ON, though issued before it.
    result = (await eligibility(client, person["id"], h, ON.isoformat())).json()
    assert result["eligible"] is False and result["applying_clauses"] == []
    level = next(f for f in result["clauses"][0]["facts"] if f["name"] == "level_held")
    assert level["actual"] is None
    assert level["note"].endswith("; 1 issued by the date recorded after it, not counted")
    assert (await eligibility(client, person["id"], h)).json()["applying_clauses"] == [1]
    # 2025-06-14 17:00 UTC is 2025-06-15 01:00 in Beijing: registered on ON, not before.
    await (
        Certificate.update({Certificate.created_at: datetime(2025, 6, 14, 17, tzinfo=UTC)})
        .where(Certificate.id == held["id"])
        .run()
    )
    assert (await eligibility(client, person["id"], h, ON.isoformat())).json()[
        "applying_clauses"
    ] == [1]
    day_before = (await eligibility(client, person["id"], h, "2025-06-14")).json()
    assert day_before["applying_clauses"] == []


async def test_eligibility_of_local_and_unconfirmed_hukou(client, staff):
    local = await make_person(hukou="local")
    issuer, _ = await org_key("enterprise")
    await issue(local["id"], issuer["id"], level=1)
    h = await staff(StaffRole.FINANCE)
    result = (await eligibility(client, local["id"], h, ON.isoformat())).json()
    assert result["eligible"] is False and "local hukou" in result["reason"]
    unknown = await make_person()
    await issue(unknown["id"], issuer["id"], level=1)
    await Person.update({Person.hukou: "unknown"}).where(Person.id == unknown["id"]).run()
    result = (await eligibility(client, unknown["id"], h, ON.isoformat())).json()
    assert result["eligible"] is False and "confirmed" in result["reason"]


async def test_eligibility_date_and_visibility(client, staff):
    person = await make_person()
    trainer, trainer_key = await org_key("training_institution")
    _, stranger_key = await org_key("training_institution")
    h = await staff(StaffRole.AUDITOR)
    for bad in ("2025-13-01", "15/06/2025", "20250615", "yesterday"):
        r = await eligibility(client, person["id"], h, bad)
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "on", bad
    assert (await eligibility(client, person["id"], bearer(trainer_key))).status_code == 404
    await link_by_outcome(trainer["id"], person["id"])
    assert (await eligibility(client, person["id"], bearer(trainer_key))).status_code == 200
    assert (await eligibility(client, person["id"], bearer(stranger_key))).status_code == 404
