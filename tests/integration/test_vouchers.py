"""Training vouchers through the API, on SQLite and PostgreSQL: issuing (one per person
per year, also under concurrent requests; bulk issuance twice issues nothing new),
redeeming once (also under a race), expiry and cancellation with their reasons,
reimbursement claims only after a passed outcome, and organisation isolation."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from kernel.clock import local_today
from kernel.db import is_unique_violation
from kernel.local_time import cn_date
from registry.tables import Employment, Person, TrainingOutcome
from subsidies.claims import calculations
from subsidies.claims.tables import Claim
from subsidies.policies import catalogue
from subsidies.vouchers import numbers, rules
from subsidies.vouchers.tables import Voucher
from tests.conftest import bearer, org_key, staff_token
from tests.support import registry_data, waiting

URL = "/api/v1/vouchers"
WELDER = registry_data.WELDER


async def officer() -> dict[str, str]:
    _, token = await staff_token(StaffRole.OFFICER)
    return bearer(token)


async def institution() -> tuple[dict[str, Any], dict[str, str]]:
    org, key = await org_key("training_institution")
    return org, bearer(key)


async def insured_person(months: int | None = 24) -> dict[str, Any]:
    """A person whose Dongguan insurance months are confirmed (or, with None, none)."""
    person = await registry_data.person()
    if months is not None:
        await (
            Person.update(
                {Person.insured_months: months, Person.insured_confirmed_on: date(2026, 1, 5)}
            )
            .where(Person.id == person["id"])
            .run()
        )
    return person


async def policy() -> Any:
    stored = await catalogue.version_on("training_voucher", local_today())
    assert stored is not None
    return stored


async def issue(client: httpx.AsyncClient, h: dict[str, str], person_id: int) -> httpx.Response:
    return await client.post(URL, json={"person_id": person_id}, headers=h)


async def issued(client: httpx.AsyncClient, h: dict[str, str]) -> tuple[dict[str, Any], dict]:
    person = await insured_person()
    r = await issue(client, h, person["id"])
    assert r.status_code == 201, r.text
    return person, r.json()


def enrolment(person: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "id_number": person["id_number"],
        "course": "焊工（中级）培训班 2026-03",
        "occupation_code": WELDER,
        "course_level": 4,
        "course_start": local_today().isoformat(),
        "course_fee_fen": 80_000,
        **changes,
    }


async def redeem(client, h, number: str, person: dict[str, Any], **changes) -> httpx.Response:
    return await client.post(
        f"{URL}/{number}/redemption", json=enrolment(person, **changes), headers=h
    )


async def job_done(job_id: int) -> dict[str, Any]:
    return await waiting.job_result(job_id)


async def vouchers_of(person_id: int) -> list[dict[str, Any]]:
    return await Voucher.select().where(Voucher.person == person_id).run()


# -- issuing -------------------------------------------------------------------------


async def test_an_officer_issues_one_voucher_per_person_per_year(client):
    oh = await officer()
    stored = await policy()
    p = stored.policy.parameters
    person, voucher = await issued(client, oh)
    today = local_today()
    assert numbers.parse(voucher["number"]) == (voucher["number"], None)
    assert voucher["number"].startswith(f"DGV-{today.year}-")
    assert voucher["status"] == "issued" and voucher["person_id"] == person["id"]
    assert voucher["face_value_fen"] == p.face_value_fen
    assert voucher["covers_levels"] == list(p.covers_levels)
    assert voucher["issued_on"] == today.isoformat()
    assert voucher["expires_on"] == (today + timedelta(days=p.valid_days)).isoformat()
    assert voucher["policy_version"] == stored.policy.version
    assert voucher["id_number"] == person["id_number"]  # officers see the whole number
    # Issuing priced the voucher with this version: it can no longer change.
    assert (await catalogue.get_version("training_voucher", stored.policy.version)).used_at

    again = await issue(client, oh, person["id"])
    assert again.status_code == 409, again.text
    assert voucher["number"] in again.json()["detail"]
    assert len(await vouchers_of(person["id"])) == 1

    audit = await AuditEntry.select().where(AuditEntry.action == "voucher.issued").run()
    assert any(json.loads(a["after"])["number"] == voucher["number"] for a in audit)


async def test_eligibility_needs_insurance_in_dongguan(client):
    oh = await officer()
    uninsured = await insured_person(months=None)
    r = await issue(client, oh, uninsured["id"])
    assert r.status_code == 400, r.text
    error = r.json()["errors"][0]
    assert error["field"] == "person_id" and rules.NOT_INSURED in error["reason"]

    zero = await insured_person(months=0)
    assert (await issue(client, oh, zero["id"])).status_code == 400

    # An employer's insured employment that covers today counts; an ended one does not.
    employer = await registry_data.organisation()
    employed, ended = await insured_person(None), await insured_person(None)
    today = local_today()
    for who, end in ((employed, None), (ended, today - timedelta(days=1))):
        await (
            Employment(
                person=who["id"],
                employer=employer["id"],
                started_on=today - timedelta(days=90),
                ended_on=end,
                insured=True,
                reported_by="test",
            )
            .save()
            .run()
        )
    assert (await issue(client, oh, employed["id"])).status_code == 201
    assert (await issue(client, oh, ended["id"])).status_code == 400

    assert (await issue(client, oh, 2_000_000_000)).json()["errors"][0]["field"] == "person_id"
    _, ih = await institution()
    assert (await issue(client, ih, employed["id"])).status_code == 403


async def test_concurrent_issues_to_one_person_give_one_voucher(client):
    oh = await officer()
    person = await insured_person()
    answers = await asyncio.gather(*(issue(client, oh, person["id"]) for _ in range(8)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 7, [a.text for a in answers]
    assert len(await vouchers_of(person["id"])) == 1


async def test_the_database_refuses_a_second_voucher_in_the_same_place(client):
    """The unique key (person, year, ordinal) is what holds under any race."""
    _, voucher = await issued(client, await officer())
    row = (await Voucher.select().where(Voucher.number == voucher["number"]).first().run()).copy()
    del row["id"]
    row["number"] = numbers.random_number(row["year"], b"\x00" * 6 + b"\x01")
    with pytest.raises(Exception) as refused:
        await Voucher.insert(Voucher(**row)).run()
    assert is_unique_violation(refused.value)


async def test_bulk_issuance_serves_every_eligible_person_once(client):
    oh = await officer()
    fresh = [await insured_person() for _ in range(3)]
    uninsured = await insured_person(months=None)
    served_before, earlier = await issued(client, oh)

    r = await client.post(f"{URL}/issuance", headers=oh)
    assert r.status_code == 202, r.text
    first = await job_done(r.json()["job_id"])
    assert first["issued"] >= 3
    for person in fresh:
        held = await vouchers_of(person["id"])
        assert len(held) == 1 and held[0]["ordinal"] == 1 and held[0]["status"] == "issued"
        assert json.loads(held[0]["facts"])["insured"] is True
    assert await vouchers_of(uninsured["id"]) == []
    audit = (
        await AuditEntry.select(AuditEntry.after)
        .where(
            (AuditEntry.action == "voucher.issued_in_bulk")
            & (AuditEntry.object_id == str(r.json()["job_id"]))
        )
        .run()
    )
    audited = {tuple(v) for entry in audit for v in json.loads(entry["after"])["vouchers"]}
    for person in fresh:
        (held,) = await vouchers_of(person["id"])
        assert (held["id"], held["number"], person["id"]) in audited
    assert [v["number"] for v in await vouchers_of(served_before["id"])] == [earlier["number"]]

    total = await Voucher.count().run()
    r = await client.post(f"{URL}/issuance", headers=oh)
    second = await job_done(r.json()["job_id"])
    assert second["issued"] == 0
    assert await Voucher.count().run() == total

    _, ih = await institution()
    assert (await client.post(f"{URL}/issuance", headers=ih)).status_code == 403


# -- reading and redeeming -----------------------------------------------------------


async def test_an_institution_looks_a_voucher_up_and_redeems_it_once(client):
    oh = await officer()
    person, voucher = await issued(client, oh)
    number = voucher["number"]
    org, ih = await institution()

    seen = await client.get(f"{URL}/{number.lower().replace('-', '')}", headers=ih)
    assert seen.status_code == 200, seen.text
    assert seen.json()["id_number"] != person["id_number"] and "*" in seen.json()["id_number"]
    typo = number[:-1] + ("A" if number[-1] != "A" else "B")
    r = await client.get(f"{URL}/{typo}", headers=ih)
    assert r.status_code == 400 and r.json()["errors"][0]["reason"] == numbers.CHECK_REASON
    enterprise_h = bearer((await org_key("enterprise"))[1])
    assert (await client.get(f"{URL}/{number}", headers=enterprise_h)).status_code == 403

    wrong_person = await registry_data.person()
    r = await redeem(client, ih, number, wrong_person)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "id_number"
    r = await redeem(client, ih, number, person, course_level=2)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "course_level"
    r = await redeem(client, ih, number, person, occupation_code="welding")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "occupation_code"

    r = await redeem(client, ih, number, person)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "redeemed" and done["institution_id"] == org["id"]
    assert done["course_fee_fen"] == 80_000 and done["redeemed_on"] == local_today().isoformat()

    again = await redeem(client, ih, number, person)
    assert again.status_code == 409 and "already redeemed" in again.json()["detail"]
    # Another institution sees that it is used, not by whom or for what.
    _, other_h = await institution()
    other_view = (await client.get(f"{URL}/{number}", headers=other_h)).json()
    assert other_view["status"] == "redeemed" and other_view["institution_id"] is None
    assert other_view["course"] is None


async def test_two_institutions_racing_to_redeem_one_voucher_one_wins(client):
    person, voucher = await issued(client, await officer())
    heads = [(await institution())[1] for _ in range(6)]
    answers = await asyncio.gather(*(redeem(client, h, voucher["number"], person) for h in heads))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 5, [a.text for a in answers]
    row = await Voucher.select().where(Voucher.number == voucher["number"]).first().run()
    winner = next(i for i, a in enumerate(answers) if a.status_code == 200)
    assert row["status"] == "redeemed" and row["redeemed_by"].startswith("org:")
    assert answers[winner].json()["institution_id"] == row["institution"]


async def test_an_expired_voucher_is_refused_with_its_last_day(client):
    oh = await officer()
    _, ih = await institution()
    today = local_today()
    last_day, expired = [await issued(client, oh) for _ in range(2)]
    await (
        Voucher.update({Voucher.expires_on: today})
        .where(Voucher.number == last_day[1]["number"])
        .run()
    )
    await (
        Voucher.update({Voucher.expires_on: today - timedelta(days=1)})
        .where(Voucher.number == expired[1]["number"])
        .run()
    )

    r = await redeem(client, ih, last_day[1]["number"], last_day[0])
    assert r.status_code == 200, r.text  # the last valid day still redeems

    view = (await client.get(f"{URL}/{expired[1]['number']}", headers=ih)).json()
    assert view["status"] == "expired"
    r = await redeem(client, ih, expired[1]["number"], expired[0])
    assert r.status_code == 409
    body = r.json()
    assert body["detail"] == (
        f"this voucher expired: its last day was {(today - timedelta(days=1)).isoformat()}"
    )
    assert body["errors"][0]["field"] == "number"


async def test_a_cancelled_voucher_is_refused(client):
    oh = await officer()
    person, voucher = await issued(client, oh)
    _, ih = await institution()
    number = voucher["number"]
    r = await client.post(f"{URL}/{number}/cancellation", json={"reason": "错发"}, headers=ih)
    assert r.status_code == 403
    r = await client.post(f"{URL}/{number}/cancellation", json={"reason": "错发"}, headers=oh)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await redeem(client, ih, number, person)
    assert r.status_code == 409 and r.json()["detail"] == "this voucher was cancelled"
    # Cancelling does not make room for another voucher this year.
    assert (await issue(client, oh, person["id"])).status_code == 409


# -- reimbursement -------------------------------------------------------------------


async def reported(
    org: dict[str, Any], person: dict[str, Any], *, passed: bool, days: int = 0
) -> int:
    """An outcome of the redeemed course, lasting `days` + 1 days up to today."""
    today = local_today()
    row = TrainingOutcome(
        institution=org["id"],
        person=person["id"],
        course=enrolment(person)["course"],
        occupation_code=WELDER,
        occupation_name="焊工",
        hours=80,
        start_date=today - timedelta(days=days),
        end_date=today,
        passed=passed,
    )
    await row.save().run()
    return row.id


async def claim_status(claim_id: int) -> dict[str, Any]:
    return await waiting.until(
        lambda: calculations.claim_row(claim_id),
        lambda claim: claim["status"] != "submitted",
        f"claim {claim_id} calculated",
    )


async def test_reimbursement_waits_for_a_passed_outcome_and_is_calculated(client):
    oh = await officer()
    person, voucher = await issued(client, oh)
    number = voucher["number"]
    org, ih = await institution()
    other, other_h = await institution()

    r = await client.post(f"{URL}/{number}/claim", json={}, headers=ih)
    assert r.status_code == 409 and "redeemed" in r.json()["detail"]  # not redeemed yet
    assert (await redeem(client, ih, number, person)).status_code == 200

    r = await client.post(f"{URL}/{number}/claim", json={}, headers=ih)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "outcome"
    assert "no passed outcome" in r.json()["detail"]
    await reported(org, person, passed=False, days=1)
    assert (await client.post(f"{URL}/{number}/claim", json={}, headers=ih)).status_code == 409
    # Another institution's passed outcome for the same person does not count, and that
    # institution cannot claim a voucher it did not redeem.
    await reported(other, person, passed=True)
    assert (await client.post(f"{URL}/{number}/claim", json={}, headers=ih)).status_code == 409
    r = await client.post(f"{URL}/{number}/claim", json={}, headers=other_h)
    assert r.status_code == 404

    outcome_id = await reported(org, person, passed=True)
    r = await client.post(f"{URL}/{number}/claim", json={}, headers=ih)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["outcome_id"] == outcome_id
    claim = await Claim.select().where(Claim.id == made["claim_id"]).first().run()
    assert claim["scheme"] == "training_voucher"
    row = await Voucher.select(Voucher.id).where(Voucher.number == number).first().run()
    assert claim["dedupe_key"] == f"training_voucher:{row['id']}"
    assert claim["payee_kind"] == "organisation" and claim["payee_organisation"] == org["id"]
    assert claim["claimant"] == org["id"] and claim["person"] == person["id"]
    assert claim["basis_date"].isoformat() == voucher["issued_on"]
    details = json.loads(claim["details"])
    assert details["voucher_number"] == number and details["outcome_id"] == outcome_id

    again = await client.post(f"{URL}/{number}/claim", json={}, headers=ih)
    assert again.status_code == 409 and str(made["claim_id"]) in again.json()["detail"]

    calculated = await claim_status(made["claim_id"])
    assert calculated["status"] == "calculated", calculated
    face = voucher["face_value_fen"]
    assert calculated["amount_fen"] == min(face, 80_000)
    trace = json.loads(calculated["trace"])
    assert any(f"培训券面值 {rules.yuan(face)} 元，课程已合格" in step["zh"] for step in trace)

    seen = (await client.get(f"{URL}/{number}", headers=ih)).json()
    assert seen["claim_id"] == made["claim_id"]


async def test_the_generic_claims_route_applies_the_same_checks(client):
    person, voucher = await issued(client, await officer())
    org, ih = await institution()
    assert (await redeem(client, ih, voucher["number"], person)).status_code == 200
    body = {
        "scheme": "training_voucher",
        "basis_date": local_today().isoformat(),
        "details": {"voucher_number": voucher["number"]},
    }
    r = await client.post("/api/v1/claims", json=body, headers=ih)
    assert r.status_code == 409 and "no passed outcome" in r.json()["detail"]
    await reported(org, person, passed=True)
    r = await client.post("/api/v1/claims", json=body, headers=ih)
    assert r.status_code == 201, r.text
    r = await client.post(f"{URL}/{voucher['number']}/claim", json={}, headers=ih)
    assert r.status_code == 409  # one live claim per voucher, whichever route made it


async def test_an_officer_prints_a_voucher_rendered_once_and_verifiable(client):
    oh = await officer()
    person, voucher = await issued(client, oh)
    url = f"{URL}/{voucher['number']}/document"
    _, ih = await institution()
    assert (await client.post(url, headers=ih)).status_code == 403
    r = await client.post(url, headers=oh)
    assert r.status_code == 202 and r.json()["document_id"] is None, r.text
    job_id = r.json()["job_id"]
    job = await waiting.api_job_finished(client, f"/api/v1/jobs/{job_id}", oh)
    assert job["status"] == "done", job
    again = (await client.post(url, headers=oh)).json()
    assert again["job_id"] is None and again["document_id"] > 0
    pdf = await client.get(f"/api/v1/documents/{again['document_id']}/download", headers=oh)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    issued_on = date.fromisoformat(voucher["issued_on"])
    assert "签发机关" in text and "东莞市人力资源和社会保障局" in text
    assert f"签发日期 Issued on {cn_date(issued_on)}" in text
    check = (await client.get(f"/verify/{again['code']}")).json()
    assert check["genuine"] is True and voucher["number"] in json.dumps(check["summary"])
    assert person["id_number"] not in json.dumps(check["summary"])  # masked
    assert check["standing"]["state"] == "valid"

    r = await client.post(
        f"{URL}/{voucher['number']}/cancellation", json={"reason": "错发"}, headers=oh
    )
    assert r.status_code == 200
    check = (await client.get(f"/verify/{again['code']}")).json()
    assert check["genuine"] is True and check["standing"]["state"] == "cancelled"
    r = await client.post(url, headers=oh)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "number"
    assert (await client.post(f"{URL}/X-1/document", headers=oh)).status_code in (400, 404)


async def test_revoking_the_certificate_a_course_led_to_holds_its_reimbursement(client):
    oh = await officer()
    person, voucher = await issued(client, oh)
    number = voucher["number"]
    org, ih = await institution()
    assert (await redeem(client, ih, number, person)).status_code == 200
    issuer = await registry_data.organisation(org_type="evaluation_organisation")
    cert = await registry_data.certificate(
        person, issuer, level=4, occupation=WELDER, issued_on=local_today()
    )
    outcome_id = await reported(org, person, passed=True)
    await TrainingOutcome.update({TrainingOutcome.certificate: cert["id"]}).where(
        TrainingOutcome.id == outcome_id
    )
    r = await client.post(f"{URL}/{number}/claim", json={}, headers=ih)
    assert r.status_code == 201, r.text
    claim_id = r.json()["claim_id"]
    assert (await claim_status(claim_id))["status"] == "calculated"

    r = await client.post(
        f"/api/v1/certificates/{cert['id']}/revoke", headers=oh, json={"reason": "考核记录伪造"}
    )
    assert r.status_code == 200, r.text
    held = await waiting.until(
        lambda: calculations.claim_row(claim_id),
        lambda claim: claim["status"] != "calculated",
        f"claim {claim_id} held",
    )
    assert held["status"] == "on_hold", held
    assert "考核记录伪造" in held["hold_reason"]
    assert held["amount_fen"] == min(voucher["face_value_fen"], 80_000)  # kept, not paid

    # Rejecting the held claim frees the voucher's dedupe key, but the course whose
    # certificate was revoked is not reimbursed after all.
    r = await client.post(
        f"/api/v1/claims/{claim_id}/reject", headers=await officer(), json={"reason": "证书撤销"}
    )
    assert r.status_code == 200, r.text
    again = await client.post(f"{URL}/{number}/claim", json={}, headers=ih)
    assert again.status_code == 409, again.text
    assert "certificate this course led to was revoked" in again.json()["detail"]
    assert again.json()["errors"][0]["field"] == "outcome_id"
