"""The expert review engine through the API, on SQLite and PostgreSQL: conflicts of
interest, score secrecy, stepping out and replacement, completion and ranking."""

import asyncio
from datetime import UTC, datetime

import httpx

from accounts.principal import Principal
from accounts.roles import StaffRole
from audit.tables import AuditEntry
from reviews import cases
from tests.conftest import bearer, make_org, org_key, staff_token, unique

SCORES = {"ethics": 80, "knowledge": 90, "ability": 70, "achievements": 60}  # 76.00


async def officer() -> tuple[Principal, dict[str, str]]:
    user, token = await staff_token(StaffRole.OFFICER)
    who = Principal(kind="staff", id=user["id"], name=user["username"], roles=frozenset())
    return who, bearer(token)


async def reviewers(n: int) -> list[tuple[int, dict[str, str]]]:
    made = [await staff_token(StaffRole.REVIEWER) for _ in range(n)]
    return [(user["id"], bearer(token)) for user, token in made]


async def open_case(
    who: Principal, applicant_id: int, *, min_reviewers: int | None = None, applied_at=None
) -> int:
    """Cases are opened by subject workflows; the engine is tested with its own subject."""
    case = await cases.open_case(
        who,
        cases.NewCase(
            subject_type="test_subject",
            subject_id=int(unique("")),
            applicant_organisation_id=applicant_id,
            applied_at=applied_at or datetime(2025, 1, 1, tzinfo=UTC),
            min_reviewers=min_reviewers,
        ),
        min_floor=3,
    )
    return case["id"]


async def assign(client, h, case_id: int, reviewer_id: int) -> httpx.Response:
    return await client.post(
        f"/api/v1/reviews/cases/{case_id}/assignments", json={"reviewer_id": reviewer_id}, headers=h
    )


async def score(client, h, case_id: int, **changes: int) -> httpx.Response:
    body = {**SCORES, **changes}
    return await client.post(f"/api/v1/reviews/cases/{case_id}/scores", json=body, headers=h)


async def test_an_affiliated_reviewer_is_refused_with_the_reason(client):
    who, oh = await officer()
    applicant = await make_org()
    (rid, rh), (other_id, _) = await reviewers(2)
    case_id = await open_case(who, applicant["id"])

    r = await client.post(
        f"/api/v1/staff/{rid}/affiliations",
        json={"organisation_id": applicant["id"], "relation": "employed", "since": "2019-03-01"},
        headers=oh,
    )
    assert r.status_code == 201, r.text
    assert r.json()["organisation_name"] == applicant["name"]
    again = await client.post(
        f"/api/v1/staff/{rid}/affiliations",
        json={"organisation_id": applicant["id"], "relation": "employed"},
        headers=oh,
    )
    assert again.status_code == 409
    bad = await client.post(
        f"/api/v1/staff/{rid}/affiliations",
        json={"organisation_id": applicant["id"], "relation": "friend", "since": "2999-01-01"},
        headers=oh,
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"relation", "since"}
    assert (
        await client.post(
            f"/api/v1/staff/{rid}/affiliations",
            json={"organisation_id": applicant["id"], "relation": "linked"},
            headers=rh,
        )
    ).status_code == 403

    r = await assign(client, oh, case_id, rid)
    assert r.status_code == 409
    assert "employed by the applicant organisation" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "reviewer_id"

    listed = await client.get(f"/api/v1/staff/{rid}/affiliations", headers=oh)
    assert [a["relation"] for a in listed.json()] == ["employed"]

    # Not a reviewer, or already on the case: refused too.
    plain_officer, _ = await officer()
    r = await assign(client, oh, case_id, plain_officer.id)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reviewer_id"
    assert (await assign(client, oh, case_id, other_id)).status_code == 201
    assert (await assign(client, oh, case_id, other_id)).status_code == 409

    audit = await AuditEntry.select().where(AuditEntry.action == "staff.affiliation_recorded").run()
    assert any(f'"staff_user_id":{rid}' in row["after"] for row in audit)


async def test_an_affiliation_after_assignment_blocks_scoring(client):
    who, oh = await officer()
    applicant = await make_org()
    [(rid, rh)] = await reviewers(1)
    case_id = await open_case(who, applicant["id"])
    assert (await assign(client, oh, case_id, rid)).status_code == 201
    await client.post(
        f"/api/v1/staff/{rid}/affiliations",
        json={"organisation_id": applicant["id"], "relation": "linked"},
        headers=oh,
    )
    r = await score(client, rh, case_id)
    assert r.status_code == 409 and "step out" in r.json()["detail"]
    r = await client.post(
        f"/api/v1/reviews/cases/{case_id}/recusal", json={"reason": "linked to them"}, headers=rh
    )
    assert r.status_code == 200 and r.json()["status"] == "recused"


async def test_scores_stay_hidden_until_every_reviewer_has_submitted(client):
    who, oh = await officer()
    applicant = await make_org()
    (r1, h1), (r2, h2), (r3, h3) = await reviewers(3)
    case_id = await open_case(who, applicant["id"])
    for rid in (r1, r2, r3):
        assert (await assign(client, oh, case_id, rid)).status_code == 201

    r = await score(client, h1, case_id, ethics=100)  # 80.00
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["status"] == "open" and not mine["scores_visible"]
    assert [a["reviewer_id"] for a in mine["assignments"]] == [r1]
    assert mine["assignments"][0]["scores"]["ethics"] == 100
    assert mine["assignments"][0]["total"] == "80.00"
    assert mine["final_score"] is None

    peer = (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=h2)).json()
    assert [a["reviewer_id"] for a in peer["assignments"]] == [r2]
    assert peer["assignments"][0]["scores"] is None
    assert peer["progress"] == {"pending": 2, "submitted": 1, "recused": 0, "withdrawn": 0}

    overseen = (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=oh)).json()
    assert [a["reviewer_id"] for a in overseen["assignments"]] == [r1, r2, r3]
    assert all(a["scores"] is None and a["total"] is None for a in overseen["assignments"])
    assert overseen["progress"]["submitted"] == 1

    assert (await score(client, h1, case_id)).status_code == 409  # once only
    assert (await score(client, h2, case_id)).status_code == 201
    done = (await score(client, h3, case_id, achievements=90)).json()  # 82.00
    assert done["status"] == "complete" and done["scores_visible"]
    assert done["final_score"] == "79.33"  # (80 + 76 + 82) / 3 = 79.333...
    assert done["achievements_score"] == "70.00"  # (60 + 60 + 90) / 3
    # Colleagues' scores are now visible, their names are not.
    others = [a for a in done["assignments"] if a["reviewer_id"] != r3]
    assert len(others) == 2 and all(a["reviewer_id"] is None for a in others)
    assert sorted(a["total"] for a in done["assignments"]) == ["76.00", "80.00", "82.00"]
    assert all(a["counted"] for a in done["assignments"])

    overseen = (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=oh)).json()
    assert {a["reviewer_id"]: a["total"] for a in overseen["assignments"]} == {
        r1: "80.00",
        r2: "76.00",
        r3: "82.00",
    }
    actions = [
        row["action"]
        for row in await AuditEntry.select(AuditEntry.action)
        .where(AuditEntry.action.like("review.%"))
        .order_by(AuditEntry.id)
        .run()
    ]
    assert {"review.case_opened", "review.reviewer_assigned", "review.scores_submitted"} <= set(
        actions
    )
    completed = await AuditEntry.select().where(AuditEntry.action == "review.case_completed").run()
    assert any(row["object_id"] == str(case_id) and "79.33" in row["after"] for row in completed)


async def test_bad_scores_are_400_naming_every_criterion(client):
    who, oh = await officer()
    [(rid, rh)] = await reviewers(1)
    case_id = await open_case(who, (await make_org())["id"])
    await assign(client, oh, case_id, rid)
    r = await score(client, rh, case_id, ethics=101, knowledge=-1)
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"ethics", "knowledge"}
    r = await client.post(
        f"/api/v1/reviews/cases/{case_id}/scores",
        json={**SCORES, "ability": 70.5},
        headers=rh,
    )
    assert r.status_code == 400 and "ability" in r.json()["errors"][0]["field"]


async def test_a_reviewer_steps_out_and_the_officer_assigns_another(client):
    who, oh = await officer()
    (r1, h1), (r2, h2), (r3, h3), (r4, h4) = await reviewers(4)
    case_id = await open_case(who, (await make_org())["id"])
    for rid in (r1, r2, r3):
        await assign(client, oh, case_id, rid)

    r = await client.post(
        f"/api/v1/reviews/cases/{case_id}/recusal", json={"reason": " "}, headers=h1
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reason"
    r = await client.post(
        f"/api/v1/reviews/cases/{case_id}/recusal",
        json={"reason": "I supervised the master's thesis"},
        headers=h1,
    )
    assert r.status_code == 200, r.text
    assert (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=h1)).status_code == 404

    assert (await score(client, h2, case_id)).status_code == 201
    r = await client.post(
        f"/api/v1/reviews/cases/{case_id}/recusal", json={"reason": "too late now"}, headers=h2
    )
    assert r.status_code == 409  # scored already
    after_two = (await score(client, h3, case_id)).json()
    assert after_two["status"] == "open"  # 2 submitted < 3, nothing pending

    overseen = (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=oh)).json()
    stepped_out = next(a for a in overseen["assignments"] if a["reviewer_id"] == r1)
    assert stepped_out["status"] == "recused"
    assert stepped_out["reason"] == "I supervised the master's thesis"
    assert all(a["scores"] is None for a in overseen["assignments"])

    r = await assign(client, oh, case_id, r1)
    assert r.status_code == 409 and "recused" in r.json()["detail"]
    assert (await assign(client, oh, case_id, r4)).status_code == 201
    done = (await score(client, h4, case_id)).json()
    assert done["status"] == "complete" and done["final_score"] == "76.00"
    assert done["progress"] == {"pending": 0, "submitted": 3, "recused": 1, "withdrawn": 0}
    assert (await assign(client, oh, case_id, (await reviewers(1))[0][0])).status_code == 409


async def test_an_officer_withdraws_a_silent_reviewer(client):
    who, oh = await officer()
    (r1, h1), (r2, h2), (r3, h3), (r4, _) = await reviewers(4)
    case_id = await open_case(who, (await make_org())["id"])
    for rid in (r1, r2, r3, r4):
        await assign(client, oh, case_id, rid)
    for h in (h1, h2, h3):
        assert (await score(client, h, case_id)).json()["status"] == "open"
    view = (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=oh)).json()
    silent = next(a["id"] for a in view["assignments"] if a["reviewer_id"] == r4)
    done_one = next(a["id"] for a in view["assignments"] if a["reviewer_id"] == r1)
    path = f"/api/v1/reviews/cases/{case_id}/assignments"
    r = await client.post(f"{path}/{done_one}/withdrawal", json={"reason": "no"}, headers=oh)
    assert r.status_code == 409
    r = await client.post(f"{path}/{silent}/withdrawal", json={"reason": "no answer"}, headers=h1)
    assert r.status_code == 403
    r = await client.post(
        f"{path}/{silent}/withdrawal", json={"reason": "unreachable for a month"}, headers=oh
    )
    assert r.status_code == 200 and r.json()["status"] == "complete"


async def test_a_reviewer_cannot_see_a_case_they_are_not_assigned_to(client):
    who, oh = await officer()
    (r1, h1), (r2, _) = await reviewers(2)
    mine = await open_case(who, (await make_org())["id"])
    theirs = await open_case(who, (await make_org())["id"])
    await assign(client, oh, mine, r1)
    await assign(client, oh, theirs, r2)

    assert (await client.get(f"/api/v1/reviews/cases/{theirs}", headers=h1)).status_code == 404
    assert (await score(client, h1, theirs)).status_code == 404
    r = await client.post(
        f"/api/v1/reviews/cases/{theirs}/recusal", json={"reason": "curious"}, headers=h1
    )
    assert r.status_code == 404
    listed = (await client.get("/api/v1/reviews/cases", headers=h1)).json()
    assert [c["id"] for c in listed["items"]] == [mine]
    assert (await client.get("/api/v1/reviews/cases/999999", headers=oh)).status_code == 404

    # Organisations have no business here; reviewers do not assign.
    _, key = await org_key()
    assert (
        await client.get(f"/api/v1/reviews/cases/{mine}", headers=bearer(key))
    ).status_code == 403
    assert (await assign(client, h1, mine, r1)).status_code == 403
    denied = await AuditEntry.select().where(AuditEntry.action == "permission.denied").run()
    assert any(f"/api/v1/reviews/cases/{theirs}" in row["object_id"] for row in denied)


async def test_five_reviewers_drop_the_extremes_and_cases_rank_by_the_documented_rule(client):
    who, oh = await officer()
    panel = await reviewers(5)
    subject_type = f"rank_{unique('')}"
    equal = {"ethics": 25, "knowledge": 25, "ability": 25, "achievements": 25}

    def flat(n: int, achievements: int | None = None) -> dict[str, int]:
        return {"ethics": n, "knowledge": n, "ability": n, "achievements": achievements or n}

    async def scored_case(applied_day: int, sheets: list[dict[str, int]]) -> int:
        case = await cases.open_case(
            who,
            cases.NewCase(
                subject_type=subject_type,
                subject_id=int(unique("")),
                applicant_organisation_id=(await make_org())["id"],
                applied_at=datetime(2025, 1, applied_day, tzinfo=UTC),
                weights=equal,
            ),
            min_floor=3,
        )
        for rid, _ in panel[: len(sheets)]:
            assert (await assign(client, oh, case["id"], rid)).status_code == 201
        for (_, rh), sheet in zip(panel, sheets, strict=False):
            view = (await score(client, rh, case["id"], **sheet)).json()
        assert view["status"] == "complete"
        return case["id"]

    # Exactly four totals keep everything: 10, 70, 71, 72 -> 55.75.
    four = await scored_case(2, [flat(10), flat(70), flat(71), flat(72)])
    # Five totals 10, 70, 71, 72, 99: the 10 and the 99 are dropped -> 71.00.
    five = await scored_case(3, [flat(10), flat(70), flat(71), flat(72), flat(99)])
    view = (await client.get(f"/api/v1/reviews/cases/{five}", headers=oh)).json()
    assert view["final_score"] == "71.00"
    assert view["achievements_score"] == "64.40"  # every submission, none dropped
    counted = {a["total"]: a["counted"] for a in view["assignments"]}
    assert counted == {"10.00": False, "70.00": True, "71.00": True, "72.00": True, "99.00": False}
    # More cases at 71.00, to exercise each tie-break in turn.
    tie_later = await scored_case(4, [flat(71)] * 3)
    tie_earlier = await scored_case(1, [flat(71)] * 3)
    tie_same_time = await scored_case(1, [flat(71)] * 3)  # a higher id than tie_earlier
    more_achievements = await scored_case(5, [flat(70, 74)] * 3)  # 71.00, achievements 74
    top = await scored_case(6, [flat(80)] * 3)

    r = await client.get(
        "/api/v1/reviews/ranking", params={"subject_type": subject_type}, headers=oh
    )
    assert r.status_code == 200, r.text
    rows = r.json()
    assert [row["id"] for row in rows] == [
        top,
        more_achievements,  # 71.00 with the highest achievements score
        tie_earlier,  # 71.00, achievements 71.00, applied on day 1, lower id
        tie_same_time,
        tie_later,  # applied on day 4
        five,  # 71.00 but achievements 64.40
        four,
    ]
    assert [row["rank"] for row in rows] == list(range(1, 8))
    assert rows[0]["final_score"] == "80.00" and rows[-1]["final_score"] == "55.75"
    reviewer_view = await client.get(
        "/api/v1/reviews/ranking", params={"subject_type": subject_type}, headers=panel[0][1]
    )
    assert reviewer_view.status_code == 403


async def test_concurrent_last_submissions_complete_the_case_once(client):
    who, oh = await officer()
    panel = await reviewers(3)
    case_id = await open_case(who, (await make_org())["id"])
    for rid, _ in panel:
        await assign(client, oh, case_id, rid)
    results = await asyncio.gather(*(score(client, rh, case_id) for _, rh in panel))
    assert [r.status_code for r in results] == [201, 201, 201]
    view = (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=oh)).json()
    assert view["status"] == "complete" and view["final_score"] == "76.00"
    completed = await AuditEntry.select().where(AuditEntry.action == "review.case_completed").run()
    assert [row["object_id"] for row in completed].count(str(case_id)) == 1
