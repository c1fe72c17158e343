"""Leading-talent appraisals through the API, on SQLite and PostgreSQL: both routes from
application to award and entitlements, every refusal with its reason, score secrecy,
objections, and the quota under concurrent approvals.

The workflow's day is set through registry.appraisals.clock (a notice runs ten
working days; tests do not wait for them). The days used are in 2026, a year whose
schedule the calendar is seeded with: Monday 2026-03-02 + 10 working days = Friday
2026-03-13."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import httpx
import pytest

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from certificates.tables import Document
from registry.appraisals import awards, clock
from registry.appraisals.tables import AppraisalRound, QuotaPool, TalentAward
from registry.tables import Certificate, Employment, Person
from subsidies.claims.tables import Claim
from tests.conftest import bearer, org_key, staff_token, unique
from tests.integration.test_studios import certify, make_person
from tests.support import waiting
from tests.support.claim_rows import claim_rows

OCCUPATION = {"occupation_code": "6-18-01-01", "occupation_name": "车工"}
GOLD = {"competition": "WorldSkills Competition", "year": 2024, "medal": "gold"}
EVIDENCE = {
    "frontline_years": 22,
    "achievements": "主持数控车削工艺攻关，良品率由 92% 提升到 99.5%。",
    "patents": ["一种数控车床夹具 ZL2020xxxx"],
    "awards": ["广东省技术能手"],
    "apprentices_trained": 35,
}
SCORES = {"ethics": 90, "knowledge": 85, "ability": 88, "achievements": 92}
NOTICE_START = date(2026, 3, 2)  # a Monday
NOTICE_END = date(2026, 3, 13)  # the 10th working day
AFTER_NOTICE = date(2026, 3, 16)


@pytest.fixture
def day(monkeypatch):
    """Sets the workflow's today; starts on the notice's first day."""
    state = {"today": NOTICE_START}
    monkeypatch.setattr(clock, "today", lambda: state["today"])

    def set_day(value: date) -> None:
        state["today"] = value

    return set_day


async def officer() -> tuple[dict[str, Any], dict[str, str]]:
    user, token = await staff_token(StaffRole.OFFICER)
    return user, bearer(token)


async def reviewer() -> tuple[int, dict[str, str]]:
    user, token = await staff_token(StaffRole.REVIEWER)
    return user["id"], bearer(token)


async def talent(level: int = 3) -> int:
    person = await make_person()
    await certify(person, level)
    return person


async def employ(person: int, employer: int, started_on: date = date(2025, 1, 10)) -> None:
    await Employment.insert(
        Employment(
            person=person, employer=employer, started_on=started_on, insured=True, reported_by="t"
        )
    ).run()


async def pool_and_round(
    client: httpx.AsyncClient, oh: dict[str, str], total: int = 10, quota: int | None = None
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/appraisals/pools",
        json={"name": unique("pool"), "first_year": 2026, "last_year": 2026, "total": total},
        headers=oh,
    )
    assert r.status_code == 201, r.text
    body = {
        "year": 2026,
        "title": "2026 年技能领军人才评选",
        "opens_on": "2026-02-01",
        "closes_on": "2026-03-10",
        "pool_id": r.json()["id"],
    }
    if quota is not None:
        body["quota"] = quota
    r = await client.post("/api/v1/appraisals/rounds", json=body, headers=oh)
    assert r.status_code == 201, r.text
    return r.json()


async def apply(
    client: httpx.AsyncClient, h: dict[str, str], round_id: int, person: int, **changes: Any
) -> httpx.Response:
    body: dict[str, Any] = {
        "round_id": round_id,
        "person_id": person,
        "route": "recognition",
        **OCCUPATION,
        "medal": GOLD,
        **changes,
    }
    return await client.post("/api/v1/appraisals/applications", json=body, headers=h)


async def on_notice(
    client: httpx.AsyncClient, oh: dict[str, str], round_id: int, places: int
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/appraisals/rounds/{round_id}/shortlist", json={"places": places}, headers=oh
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/appraisals/rounds/{round_id}/notices",
        json={"starts_on": NOTICE_START.isoformat()},
        headers=oh,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def claims_of(award_id: int) -> list[dict[str, Any]]:
    return await claim_rows(
        Claim.dedupe_key.like(f"leading_talent_living:award:{award_id}:%")
        | Claim.dedupe_key.like(f"leading_talent_introduction:award:{award_id}:%")
    )


async def calculated(award_id: int, count: int) -> list[dict[str, Any]]:
    """Waits for the award's calculation run, done by the embedded worker."""
    return await waiting.until(
        lambda: claims_of(award_id),
        lambda rows: len(rows) == count and all(r["status"] == "calculated" for r in rows),
        f"award {award_id}'s claims calculated",
    )


def reasons(r: httpx.Response) -> list[str]:
    return [e["reason"] for e in r.json().get("errors", [])]


# -- the recognition route -------------------------------------------------------------------


async def test_recognition_route_from_application_to_award_entitlements_and_revocation(client, day):
    enterprise, key = await org_key("enterprise")
    eh = bearer(key)
    _, oh = await officer()
    _, approver = await officer()
    person = await talent()
    await employ(person, enterprise["id"])
    rnd = await pool_and_round(client, oh, total=10)

    r = await apply(client, eh, rnd["id"], person)
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["status"] == "qualified" and app["medal"]["medal"] == "gold"
    assert app["level_basis"].startswith("certificate ") and "senior worker" in app["level_basis"]
    assert "*" in app["person_id_number"]  # an enterprise sees the ID masked

    notice = await on_notice(client, oh, rnd["id"], 1)
    assert (notice["starts_on"], notice["ends_on"]) == ("2026-03-02", "2026-03-13")
    assert notice["working_days"] == 10

    # The public notice: no login, ID masked.
    day(date(2026, 3, 5))
    r = await client.get("/api/v1/notices/current")
    assert r.status_code == 200, r.text
    [entry] = [e for e in r.json()["entries"] if e["application_id"] == app["id"]]
    person_row = await Person.select().where(Person.id == person).first().run()
    assert entry["name"] == person_row["name"]
    assert entry["organisation"] == enterprise["name"]
    assert (
        entry["id_number"] == person_row["id_number"][:4] + "*" * 10 + person_row["id_number"][-4:]
    )
    assert (entry["route"], entry["occupation_name"], entry["notice_ends_on"]) == (
        "recognition",
        "车工",
        "2026-03-13",
    )
    assert entry["paused"] is False

    # Not before the notice has ended (the end date is still inside it).
    day(NOTICE_END)
    r = await client.post(f"/api/v1/appraisals/applications/{app['id']}/approval", headers=approver)
    assert r.status_code == 409 and "the public notice ends on 2026-03-13" in r.json()["detail"]
    day(AFTER_NOTICE)
    r = await client.get("/api/v1/notices/current")
    assert app["id"] not in [e["application_id"] for e in r.json()["entries"]]
    # The officer who shortlisted it prepared the decision: four eyes.
    r = await client.post(f"/api/v1/appraisals/applications/{app['id']}/approval", headers=oh)
    assert r.status_code == 403 and "another person must approve" in r.json()["detail"]

    r = await client.post(f"/api/v1/appraisals/applications/{app['id']}/approval", headers=approver)
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved"
    award = approved["award"]
    assert award["number"] == f"DGLT-2026-{app['id']:06d}"
    # Awaiting its certificate until the job queued with the approval has stored it.
    assert award["status"] in ("awaiting_certificate", "certificate_issued"), award
    assert award["awarded_on"] == "2026-03-16"

    r = await client.get(f"/api/v1/appraisals/rounds/{rnd['id']}", headers=oh)
    assert r.json()["pool"]["used"] == 1 and r.json()["pool"]["remaining"] == 9

    # Entitlements: three living-subsidy instalments and the introduction reward (the
    # enterprise took the person on 2025-01-10, 14 months before the award).
    claims = await calculated(award["id"], 4)
    living = [c for c in claims if c["scheme"] == "leading_talent_living"]
    [intro] = [c for c in claims if c["scheme"] == "leading_talent_introduction"]
    assert [str(c["basis_date"]) for c in living] == ["2026-03-16", "2027-03-16", "2028-03-16"]
    assert [c["amount_fen"] for c in living] == [10_000_000] * 3
    assert all(c["origin"] == "award" and c["person"] == person for c in claims)
    assert living[0]["payee_kind"] == "person"
    assert intro["amount_fen"] == 100_000_000 and intro["payee_organisation"] == enterprise["id"]
    trace = json.loads(living[1]["trace"])
    assert "第 2/3 期" in trace[1]["zh"] and "instalment 2 of 3" in trace[1]["en"]
    assert "within 24 months" in json.loads(intro["trace"])[-1]["en"]

    # Officers approve the entitlements like other claims; an instalment not yet due waits.
    _, finance = await staff_token(StaffRole.FINANCE)
    for year in (2026, 2027):
        r = await client.put(
            f"/api/v1/budgets/leading_talent_living/{year}",
            json={"amount_fen": 10**12},
            headers=bearer(finance),
        )
        assert r.status_code == 200, r.text
    # The officer who approved the award created the claims: another approves the money.
    r = await client.post(f"/api/v1/claims/{living[0]['id']}/approve", headers=approver)
    assert r.status_code == 403
    _, third = await officer()
    r = await client.post(f"/api/v1/claims/{living[0]['id']}/approve", headers=third)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    r = await client.post(f"/api/v1/claims/{living[1]['id']}/approve", headers=third)
    assert r.status_code == 409 and "due on 2027-03-16" in r.json()["detail"]

    # The award qualifies its holder as a studio master.
    r = await client.post(
        "/api/v1/studios",
        json={
            "master_person_id": await talent(4),
            **OCCUPATION,
            "plan": "带徒传艺：三年培养 10 名高级工。",
        },
        headers=eh,
    )
    assert r.status_code == 400  # an intermediate worker without an award does not qualify
    r = await client.post(
        "/api/v1/studios",
        json={"master_person_id": person, **OCCUPATION, "plan": "带徒传艺：三年培养 10 名高级工。"},
        headers=eh,
    )
    assert r.status_code == 201, r.text

    # The approval queued the certificate's rendering; once stored, the award stops
    # awaiting it (once).
    facts = await awards.certificate_facts(award["id"])
    assert facts["certificate_number"] == award["number"] and "*" in facts["person_id_masked"]
    assert facts["route"] == "recognition" and facts["decision_reference"] == "东人社发〔2022〕20号"
    r = await waiting.until(
        lambda: client.get(f"/api/v1/appraisals/awards/{award['id']}", headers=eh),
        lambda r: r.json()["status"] != "awaiting_certificate",
        f"award {award['id']}'s certificate",
    )
    assert r.status_code == 200 and r.json()["status"] == "certificate_issued", r.json()
    stored = await Document.select().where(Document.subject == f"talent_award:{award['id']}").run()
    assert len(stored) == 1 and stored[0]["kind"] == "award_certificate"
    assert await awards.mark_certificate_issued("job:test", award["id"]) is False

    # Revocation: unpaid claims on hold, audited.
    r = await client.post(
        f"/api/v1/appraisals/awards/{award['id']}/revocation",
        json={"reason": "获奖材料造假"},
        headers=approver,
    )
    assert r.status_code == 200, r.text
    revoked = r.json()
    assert revoked["status"] == "revoked" and revoked["revoked_reason"] == "获奖材料造假"
    assert {c["status"] for c in revoked["claims"]} == {"on_hold"}
    assert all("获奖材料造假" in c["hold_reason"] for c in revoked["claims"])
    r = await client.post(
        f"/api/v1/appraisals/awards/{award['id']}/revocation",
        json={"reason": "again"},
        headers=approver,
    )
    assert r.status_code == 409
    actions = {
        row["action"]
        for row in await AuditEntry.select(AuditEntry.action)
        .where(AuditEntry.object_id.is_in([str(app["id"]), str(award["id"])]))
        .run()
    }
    assert {"appraisal.applied", "appraisal.approved", "appraisal.award_revoked"} <= actions

    # The certificate is still genuine, but whoever checks it sees the revocation.
    shown = (await client.get(f"/verify/{stored[0]['code']}")).json()
    assert shown["genuine"] and shown["standing"]["state"] == "revoked"
    assert shown["standing"]["zh"].startswith("称号已撤销")

    # Listed: for staff with filters, for the applicant its own only, bad filters 400.
    listing = "/api/v1/appraisals/awards"
    r = await client.get(listing, params={"status": "revoked", "person_id": person}, headers=oh)
    assert r.status_code == 200 and [a["id"] for a in r.json()["items"]] == [award["id"]]
    assert r.json()["items"][0]["revoked_reason"] == "获奖材料造假"
    r = await client.get(listing, params={"status": "certificate_issued", "person_id": person},
                         headers=oh)  # fmt: skip
    assert r.json()["items"] == []
    r = await client.get(listing, params={"round_id": rnd["id"]}, headers=eh)
    assert [a["number"] for a in r.json()["items"]] == [award["number"]]
    _, other_key = await org_key("enterprise")
    r = await client.get(listing, params={"round_id": rnd["id"]}, headers=bearer(other_key))
    assert r.status_code == 200 and r.json()["items"] == []
    r = await client.get(listing, params={"status": "lost", "awarded_from": "2026-02-01",
                                          "awarded_to": "2026-01-01"}, headers=oh)  # fmt: skip
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"status", "awarded_to"}


# -- the evaluation route ---------------------------------------------------------------------


async def test_evaluation_route_with_review_secrecy_conflicts_objection_and_extension(client, day):
    school, key = await org_key("technical_school")
    sh = bearer(key)
    _, oh = await officer()
    _, approver = await officer()
    person = await talent(2)
    rnd = await pool_and_round(client, oh)

    r = await apply(
        client, sh, rnd["id"], person, route="evaluation", medal=None, evidence=EVIDENCE
    )
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["status"] == "applied" and app["evidence"]["apprentices_trained"] == 35

    r = await client.post(
        f"/api/v1/appraisals/applications/{app['id']}/review", json={"min_reviewers": 2}, headers=oh
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "min_reviewers"
    r = await client.post(
        f"/api/v1/appraisals/applications/{app['id']}/review", json={}, headers=oh
    )
    assert r.status_code == 200, r.text
    case_id = r.json()["review_case_id"]
    r = await client.get(f"/api/v1/reviews/cases/{case_id}", headers=oh)
    case = r.json()
    assert case["subject_type"] == "leading_talent" and case["min_reviewers"] == 3
    assert case["weights"] == {"ethics": 20, "knowledge": 25, "ability": 25, "achievements": 30}

    # A reviewer employed by the applying school is refused.
    tied, _ = await reviewer()
    r = await client.post(
        f"/api/v1/staff/{tied}/affiliations",
        json={"organisation_id": school["id"], "relation": "employed"},
        headers=oh,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/reviews/cases/{case_id}/assignments", json={"reviewer_id": tied}, headers=oh
    )
    assert r.status_code == 409 and "may not review" in r.json()["detail"]

    # The first reviewer is also an officer: they may not approve the case they scored.
    both, both_token = await staff_token(StaffRole.REVIEWER, StaffRole.OFFICER)
    panel = [(both["id"], bearer(both_token)), await reviewer(), await reviewer()]
    for rid, _ in panel:
        r = await client.post(
            f"/api/v1/reviews/cases/{case_id}/assignments", json={"reviewer_id": rid}, headers=oh
        )
        assert r.status_code == 201, r.text
    (_, h1), (_, h2), (_, h3) = panel
    r = await client.post(f"/api/v1/reviews/cases/{case_id}/scores", json=SCORES, headers=h1)
    assert r.status_code == 201
    # Secrecy: the second reviewer and the officer see no scores before all are in.
    view = (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=h2)).json()
    assert view["scores_visible"] is False
    assert all(a["scores"] is None for a in view["assignments"])
    view = (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=oh)).json()
    assert all(a["scores"] is None and a["total"] is None for a in view["assignments"])
    assert view["final_score"] is None
    # The third steps out declaring a conflict; the officer assigns a replacement.
    r = await client.post(
        f"/api/v1/reviews/cases/{case_id}/recusal", json={"reason": "曾与申报人共事"}, headers=h3
    )
    assert r.status_code == 200 and r.json()["status"] == "recused"
    replacement, h4 = await reviewer()
    r = await client.post(
        f"/api/v1/reviews/cases/{case_id}/assignments",
        json={"reviewer_id": replacement},
        headers=oh,
    )
    assert r.status_code == 201
    for h in (h2, h4):
        r = await client.post(f"/api/v1/reviews/cases/{case_id}/scores", json=SCORES, headers=h)
        assert r.status_code == 201, r.text
    done = r.json()
    assert done["status"] == "complete" and done["scores_visible"] is True
    # Policy weights 20/25/25/30: 90x20 + 85x25 + 88x25 + 92x30 = 8,885 hundredths.
    assert done["final_score"] == "88.85"

    r = await client.get(f"/api/v1/appraisals/rounds/{rnd['id']}/ranking", headers=oh)
    [standing] = [s for s in r.json() if s["application_id"] == app["id"]]
    assert standing["rank"] == 1 and standing["eligible"] is True

    await on_notice(client, oh, rnd["id"], 1)

    # Objections: anyone, no login, validated; the application pauses.
    day(date(2026, 3, 12))
    bad = await client.post(
        "/api/v1/notices/objections",
        json={"application_id": app["id"], "contact_name": "", "contact": "x", "reason": "短"},
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"contact_name", "contact", "reason"}
    r = await client.post(
        "/api/v1/notices/objections",
        json={
            "application_id": app["id"],
            "contact_name": "李四",
            "contact": "13800138000",
            "reason": "申报材料中的专利并非本人为第一发明人。",
        },
    )
    assert r.status_code == 201, r.text
    objection = r.json()
    entry = [
        e
        for e in (await client.get("/api/v1/notices/current")).json()["entries"]
        if e["application_id"] == app["id"]
    ]
    assert entry[0]["paused"] is True

    day(AFTER_NOTICE)
    r = await client.post(f"/api/v1/appraisals/applications/{app['id']}/approval", headers=approver)
    assert r.status_code == 409 and "objection" in r.json()["detail"]
    # A reviewer of the case may not decide an objection to it, either way.
    for outcome in ("upheld", "dismissed"):
        r = await client.post(
            f"/api/v1/appraisals/objections/{objection['id']}/resolution",
            json={"outcome": outcome, "reason": "经核实专利权属无误"},
            headers=h1,
        )
        assert r.status_code == 403 and "you were a reviewer" in r.json()["detail"], r.text

    # Dismissed on 2026-03-16: 5 working days must remain, so the notice runs to 03-23.
    r = await client.post(
        f"/api/v1/appraisals/objections/{objection['id']}/resolution",
        json={"outcome": "dismissed", "reason": "经核实专利权属无误"},
        headers=oh,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dismissed" and r.json()["extended_to"] == "2026-03-23"
    got = (await client.get(f"/api/v1/appraisals/applications/{app['id']}", headers=oh)).json()
    assert got["status"] == "in_notice" and got["notice_ends_on"] == "2026-03-23"
    r = await client.post(f"/api/v1/appraisals/applications/{app['id']}/approval", headers=approver)
    assert r.status_code == 409 and "ends on 2026-03-23" in r.json()["detail"]

    day(date(2026, 3, 24))
    # A reviewer of the case (here also an officer) may not approve it.
    r = await client.post(f"/api/v1/appraisals/applications/{app['id']}/approval", headers=h1)
    assert r.status_code == 403 and "you were a reviewer" in r.json()["detail"]
    r = await client.post(f"/api/v1/appraisals/applications/{app['id']}/approval", headers=approver)
    assert r.status_code == 200, r.text
    award = r.json()["award"]
    # A technical school brought nobody in: living subsidy only.
    claims = await calculated(award["id"], 3)
    assert {c["scheme"] for c in claims} == {"leading_talent_living"}
    assert all(c["claimant"] == school["id"] for c in claims)


# -- refusals ---------------------------------------------------------------------------------


async def test_every_precheck_refusal_names_its_reason(client, day):
    enterprise, key = await org_key("enterprise")
    eh = bearer(key)
    _, oh = await officer()
    rnd = await pool_and_round(client, oh)

    # Below senior worker: refused with the reason.
    junior = await talent(4)
    await employ(junior, enterprise["id"])
    r = await apply(client, eh, rnd["id"], junior)
    assert r.status_code == 400
    assert any("senior worker (高级工, level 3) or higher" in x for x in reasons(r))

    # Recognition needs a WorldSkills gold, silver or bronze medal.
    person = await talent(3)
    await employ(person, enterprise["id"])
    r = await apply(client, eh, rnd["id"], person, medal={**GOLD, "competition": "全国技能大赛"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "medal.competition"
    assert "WorldSkills Competition (世界技能大赛) gold, silver or bronze" in reasons(r)[0]
    r = await apply(client, eh, rnd["id"], person, medal={**GOLD, "medal": "excellence"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "medal.medal"
    r = await apply(client, eh, rnd["id"], person, medal=None)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "medal"
    # Evaluation needs the evidence.
    r = await apply(client, eh, rnd["id"], person, route="evaluation", medal=None)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "evidence"

    # An enterprise applies only for its own employee.
    stranger = await talent(3)
    r = await apply(client, eh, rnd["id"], stranger)
    assert r.status_code == 400 and "its own employee" in reasons(r)[0]

    # One open application per person per round (the unique index), also under a race.
    first, second = await asyncio.gather(
        apply(client, eh, rnd["id"], person), apply(client, eh, rnd["id"], person)
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409], [first.text, second.text]
    loser = first if first.status_code == 409 else second
    assert "already has an open application in this round" in loser.json()["detail"]

    # A closed round takes nothing.
    day(date(2026, 3, 11))
    other = await talent(3)
    await employ(other, enterprise["id"])
    r = await apply(client, eh, rnd["id"], other)
    assert r.status_code == 409 and "takes applications from 2026-02-01 to 2026-03-10" in r.text

    # Organisations see only their own applications; training institutions may not apply.
    _, other_key = await org_key("enterprise")
    winner = first if first.status_code == 201 else second
    r = await client.get(
        f"/api/v1/appraisals/applications/{winner.json()['id']}", headers=bearer(other_key)
    )
    assert r.status_code == 404
    _, training = await org_key("training_institution")
    r = await apply(client, bearer(training), rnd["id"], other)
    assert r.status_code == 403


async def test_upheld_objection_rejects_and_the_calendar_fails_loudly(client, day):
    enterprise, key = await org_key("enterprise")
    eh = bearer(key)
    _, oh = await officer()
    _, resolver = await officer()
    rnd = await pool_and_round(client, oh)
    person = await talent()
    await employ(person, enterprise["id"])
    app = (await apply(client, eh, rnd["id"], person)).json()

    # A notice reaching into a year whose holiday schedule is not entered is refused.
    day(date(2026, 12, 20))
    r = await client.post(
        f"/api/v1/appraisals/rounds/{rnd['id']}/shortlist", json={"places": 1}, headers=oh
    )
    assert r.status_code == 200
    r = await client.post(
        f"/api/v1/appraisals/rounds/{rnd['id']}/notices",
        json={"starts_on": "2026-12-21"},
        headers=oh,
    )
    assert r.status_code == 409 and "for 2027 has not been entered" in r.json()["detail"]
    # Nor may a notice start in the past.
    r = await client.post(
        f"/api/v1/appraisals/rounds/{rnd['id']}/notices",
        json={"starts_on": "2026-03-02"},
        headers=oh,
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "starts_on"

    day(NOTICE_START)
    r = await client.post(
        f"/api/v1/appraisals/rounds/{rnd['id']}/notices",
        json={"starts_on": NOTICE_START.isoformat()},
        headers=oh,
    )
    assert r.status_code == 201, r.text
    objection = {
        "application_id": app["id"],
        "contact_name": "王五",
        "contact": "wang@example.com",
        "reason": "该奖牌为团体项目，申报人并非获奖队员。",
    }
    r = await client.post("/api/v1/notices/objections", json=objection)
    assert r.status_code == 201, r.text
    objection_id = r.json()["id"]
    second = {**objection, "contact": "13900139000"}
    r = await client.post("/api/v1/notices/objections", json=second)
    assert r.status_code == 201, r.text
    other_objection = r.json()["id"]
    # Objections are taken only during the notice.
    day(AFTER_NOTICE)
    r = await client.post("/api/v1/notices/objections", json=objection)
    assert r.status_code == 404 and "on public notice today" in r.json()["detail"]
    r = await client.post(
        "/api/v1/notices/objections", json={**objection, "application_id": 2_000_000_000}
    )
    assert r.status_code == 404
    # Lodging is public: rate-limited per address (5 a minute).
    answers = [
        (await client.post("/api/v1/notices/objections", json=objection)).status_code
        for _ in range(3)
    ]
    assert answers == [404, 429, 429]

    r = await client.post(
        f"/api/v1/appraisals/objections/{objection_id}/resolution",
        json={"outcome": "maybe", "reason": "x"},
        headers=resolver,
    )
    assert r.status_code == 400
    r = await client.post(
        f"/api/v1/appraisals/objections/{objection_id}/resolution",
        json={"outcome": "upheld", "reason": "经核实，奖牌属于其他队员"},
        headers=resolver,
    )
    assert r.status_code == 200 and r.json()["status"] == "upheld"
    got = (await client.get(f"/api/v1/appraisals/applications/{app['id']}", headers=oh)).json()
    assert got["status"] == "rejected"
    assert got["rejected_reason"] == f"objection {objection_id} upheld: 经核实，奖牌属于其他队员"
    r = await client.post(f"/api/v1/appraisals/applications/{app['id']}/approval", headers=resolver)
    assert r.status_code == 409
    r = await client.get(f"/api/v1/appraisals/rounds/{rnd['id']}", headers=oh)
    assert r.json()["pool"]["used"] == 0 and r.json()["available_for_shortlist"] == 10
    # The other open objection was closed with the application, and that is audited.
    closed = (
        await AuditEntry.select(AuditEntry.actor, AuditEntry.after)
        .where(
            (AuditEntry.object_type == "talent_objection")
            & (AuditEntry.object_id == str(other_objection))
            & (AuditEntry.action == "appraisal.objection_closed")
        )
        .run()
    )
    assert len(closed) == 1 and closed[0]["actor"].startswith("staff:"), closed


async def test_the_shortlist_keeps_within_the_remaining_quota(client, day):
    enterprise, key = await org_key("enterprise")
    eh = bearer(key)
    _, oh = await officer()
    rnd = await pool_and_round(client, oh, total=2)
    for medal in ("bronze", "gold", "silver"):
        person = await talent()
        await employ(person, enterprise["id"])
        r = await apply(client, eh, rnd["id"], person, medal={**GOLD, "medal": medal})
        assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/appraisals/rounds/{rnd['id']}/shortlist", json={"places": 3}, headers=oh
    )
    assert r.status_code == 409 and "only 2 place(s) are left" in r.json()["detail"]
    r = await client.post(
        f"/api/v1/appraisals/rounds/{rnd['id']}/shortlist", json={"places": 2}, headers=oh
    )
    assert r.status_code == 200, r.text
    # Gold, then silver (the documented order); bronze waits.
    assert [a["medal"]["medal"] for a in r.json()["shortlisted"]] == ["gold", "silver"]
    assert r.json()["round"]["available_for_shortlist"] == 0
    r = await client.get("/api/v1/appraisals/pools", headers=eh)
    assert any(p["name"] == "2022-2025" and p["total"] == 100 for p in r.json())


# -- the quota under concurrent approvals -----------------------------------------------------


async def test_concurrent_approvals_never_exceed_the_quota(client, day):
    enterprise, key = await org_key("enterprise")
    eh = bearer(key)
    _, oh = await officer()
    heads = [(await officer())[1] for _ in range(4)]
    rnd = await pool_and_round(client, oh, total=8)
    capped = await pool_and_round(client, oh, total=8, quota=1)
    ids: dict[int, list[int]] = {rnd["id"]: [], capped["id"]: []}
    for round_id, count in ((rnd["id"], 6), (capped["id"], 1)):
        for _ in range(count):
            person = await talent()
            await employ(person, enterprise["id"])
            r = await apply(client, eh, round_id, person)
            assert r.status_code == 201, r.text
            ids[round_id].append(r.json()["id"])
        await on_notice(client, oh, round_id, count)
    # Meanwhile 6 places of the first pool were taken elsewhere: 2 remain for 6 candidates.
    await (
        QuotaPool.update({QuotaPool.used: QuotaPool.used + 6})
        .where(QuotaPool.id == rnd["pool_id"])
        .run()
    )
    # And the capped round's one place was taken too (e.g. an approval a moment ago).
    await (
        AppraisalRound.update({AppraisalRound.approved: 1})
        .where(AppraisalRound.id == capped["id"])
        .run()
    )
    day(AFTER_NOTICE)
    targets = ids[rnd["id"]] + ids[capped["id"]]
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/appraisals/applications/{a}/approval", headers=heads[i % len(heads)]
            )
            for i, a in enumerate(targets)
        )
    )
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 409}, [r.text for r in responses]
    assert codes[:6].count(200) == 2
    assert all(
        "quota is used up" in r.json()["detail"] for r in responses[:6] if r.status_code == 409
    )
    assert codes[6] == 409 and "round's own quota of 1 is used up" in responses[6].json()["detail"]
    pool = await QuotaPool.select().where(QuotaPool.id == rnd["pool_id"]).first().run()
    assert pool["used"] == pool["total"] == 8
    awards = await TalentAward.count().where(TalentAward.application.is_in(targets))
    assert awards == 2
    round_row = await AppraisalRound.select().where(AppraisalRound.id == rnd["id"]).first().run()
    assert round_row["approved"] == 2
    # A refused approval changed nothing: its application is still on notice.
    still = [a for a, code in zip(targets, codes, strict=True) if code == 409]
    for a in still:
        got = (await client.get(f"/api/v1/appraisals/applications/{a}", headers=oh)).json()
        assert got["status"] == "in_notice" and got["award"] is None


async def test_rejection_during_review_and_withdrawal(client, day):
    _, key = await org_key("technical_school")
    sh = bearer(key)
    _, oh = await officer()
    _, other_officer = await officer()
    rnd = await pool_and_round(client, oh)
    person = await talent()
    app = (
        await apply(
            client, sh, rnd["id"], person, route="evaluation", medal=None, evidence=EVIDENCE
        )
    ).json()
    r = await client.post(
        f"/api/v1/appraisals/applications/{app['id']}/review", json={}, headers=oh
    )
    case_id = r.json()["review_case_id"]
    both, both_token = await staff_token(StaffRole.REVIEWER, StaffRole.OFFICER)
    r = await client.post(
        f"/api/v1/reviews/cases/{case_id}/assignments", json={"reviewer_id": both["id"]}, headers=oh
    )
    assert r.status_code == 201
    # A review is opened once.
    r = await client.post(
        f"/api/v1/appraisals/applications/{app['id']}/review", json={}, headers=oh
    )
    assert r.status_code == 409
    # A reviewer on the case may not reject it either.
    reason = {"reason": "材料不实"}
    r = await client.post(
        f"/api/v1/appraisals/applications/{app['id']}/rejection",
        json=reason,
        headers=bearer(both_token),
    )
    assert r.status_code == 403
    r = await client.post(
        f"/api/v1/appraisals/applications/{app['id']}/rejection", json=reason, headers=other_officer
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["review_status"] == "cancelled" and r.json()["rejected_reason"] == "材料不实"

    # A rejected application frees the person for a new one; the applicant may withdraw it.
    r = await apply(client, sh, rnd["id"], person)
    assert r.status_code == 201, r.text
    again = r.json()
    _, stranger = await org_key("technical_school")
    r = await client.post(
        f"/api/v1/appraisals/applications/{again['id']}/withdrawal", headers=bearer(stranger)
    )
    assert r.status_code == 404
    r = await client.post(f"/api/v1/appraisals/applications/{again['id']}/withdrawal", headers=sh)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = await client.post(f"/api/v1/appraisals/applications/{again['id']}/withdrawal", headers=sh)
    assert r.status_code == 409
    r = await client.get(
        f"/api/v1/appraisals/applications?round_id={rnd['id']}&status=withdrawn", headers=sh
    )
    assert [a["id"] for a in r.json()["items"]] == [again["id"]]


async def test_approval_rechecks_the_level(client, day):
    enterprise, key = await org_key("enterprise")
    _, oh = await officer()
    _, approver = await officer()
    rnd = await pool_and_round(client, oh)
    person = await talent()
    await employ(person, enterprise["id"])
    app = (await apply(client, bearer(key), rnd["id"], person)).json()
    await on_notice(client, oh, rnd["id"], 1)
    await (
        Certificate.update({Certificate.status: "revoked"})
        .where(Certificate.person == person)
        .run()
    )
    day(AFTER_NOTICE)
    r = await client.post(f"/api/v1/appraisals/applications/{app['id']}/approval", headers=approver)
    assert r.status_code == 409 and "no longer qualifies" in r.json()["detail"]
    r = await client.get(f"/api/v1/appraisals/rounds/{rnd['id']}", headers=oh)
    assert r.json()["pool"]["used"] == 0  # the refused approval took nothing


# -- found in review -----------------------------------------------------------------------------


async def test_a_second_award_for_the_same_person_is_refused_not_a_server_error(client, day):
    """Two rounds, one person on both notices: the second approval answers 409 and
    takes no quota place."""
    enterprise, key = await org_key("enterprise")
    eh = bearer(key)
    _, oh = await officer()
    _, approver = await officer()
    person = await talent()
    await employ(person, enterprise["id"])
    first, second = await pool_and_round(client, oh), await pool_and_round(client, oh)
    apps = []
    for rnd in (first, second):
        r = await apply(client, eh, rnd["id"], person)
        assert r.status_code == 201, r.text
        apps.append(r.json()["id"])
        await on_notice(client, oh, rnd["id"], 1)
    day(AFTER_NOTICE)
    r = await client.post(f"/api/v1/appraisals/applications/{apps[0]}/approval", headers=approver)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/appraisals/applications/{apps[1]}/approval", headers=approver)
    assert r.status_code == 409, r.text
    assert "already" in r.json()["detail"] and r.json()["errors"][0]["field"] == "person_id"
    r = await client.get(f"/api/v1/appraisals/rounds/{second['id']}", headers=oh)
    assert r.json()["pool"]["used"] == 0


async def test_out_of_range_numbers_in_queries_answer_400(client):
    _, oh = await officer()
    huge = 2**40
    for url in (
        f"/api/v1/appraisals/rounds?year={huge}",
        "/api/v1/appraisals/rounds?year=99999",
        f"/api/v1/appraisals/applications?round_id={huge}",
        f"/api/v1/appraisals/objections?application_id={huge}",
    ):
        r = await client.get(url, headers=oh)
        assert r.status_code == 400, (url, r.text)
    r = await client.post(
        "/api/v1/appraisals/rounds",
        json={"year": huge, "title": "ab", "opens_on": "2026-01-01", "closes_on": "2026-02-01"},
        headers=oh,
    )
    assert r.status_code == 400, r.text
    assert "year" in [e["field"] for e in r.json()["errors"]]


async def test_the_public_reads_the_notice_as_a_page_and_objects_by_form(client, day):
    enterprise, key = await org_key("enterprise")
    _, oh = await officer()
    rnd = await pool_and_round(client, oh)
    person = await talent()
    await employ(person, enterprise["id"])
    app = (await apply(client, bearer(key), rnd["id"], person)).json()
    await on_notice(client, oh, rnd["id"], 1)
    [entry] = [
        e
        for e in (await client.get("/api/v1/notices/current")).json()["entries"]
        if e["application_id"] == app["id"]
    ]

    r = await client.get("/notices")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert entry["name"] in r.text and entry["id_number"] in r.text and "*" in entry["id_number"]
    assert f'name="application_id" value="{app["id"]}"' in r.text
    assert 'action="notices/objections"' in r.text  # relative: holds behind a path prefix

    form = {
        "application_id": str(app["id"]),
        "contact_name": "王五",
        "contact": "x",
        "reason": "短",
    }
    r = await client.post("/notices/objections", data=form)
    assert r.status_code == 400 and "联系方式 Contact" in r.text and "理由 Reason" in r.text
    r = await client.post("/notices/objections", data={**form, "application_id": "abc"})
    assert r.status_code == 400 and "choose an entry" in r.text
    good = {**form, "contact": "13800138000", "reason": "该奖牌为团体项目，申报人并非获奖队员。"}
    r = await client.post("/notices/objections", data={**good, "application_id": "2000000000"})
    assert r.status_code == 404 and "申报 Application" in r.text
    r = await client.post("/notices/objections", data=good)
    assert r.status_code == 201 and "异议已受理" in r.text, r.text
    assert "异议核查中" in r.text  # the entry now shows as paused
    r = await client.get(f"/api/v1/appraisals/objections?application_id={app['id']}", headers=oh)
    [lodged] = r.json()["items"]
    assert lodged["contact"] == "13800138000" and lodged["status"] == "open"
    # The form shares the API's limit: 5 objections a minute per address.
    answers = [(await client.post("/notices/objections", data=good)).status_code for _ in "ab"]
    assert answers == [201, 429]
