"""Skills master studios through the API, on SQLite and PostgreSQL: the whole life of a
studio, who may master one, four eyes on the decision, and organisation isolation."""

from datetime import date, timedelta
from typing import Any

import httpx

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from kernel.clock import local_today
from registry import organisations
from registry.credit_codes import make_credit_code
from registry.resident_ids import compose
from registry.studios import masters
from registry.tables import Certificate, Person
from tests.conftest import ADMIN, bearer, make_org, org_key, staff_token, unique

SCORES = {"ethics": 80, "knowledge": 90, "ability": 70, "achievements": 60}
OCCUPATION = {"occupation_code": "6-18-01-01", "occupation_name": "车工"}
PLAN = "带徒传艺：三年培养 10 名高级工，攻关数控车削工艺难题。"


async def make_person() -> int:
    n = int(unique(""))
    birth = date(1960, 1, 1) + timedelta(days=n % 15000)
    rows = (
        await Person.insert(
            Person(
                id_number=compose("441900", birth, (n // 15000) % 1000),
                name=unique("张"),
                birth_date=birth,
                sex="M",
                created_by="test",
            )
        )
        .returning(Person.id)
        .run()
    )
    return rows[0]["id"]


async def certify(person_id: int, level: int, *, status: str = "valid") -> None:
    issuer = await make_org("evaluation_organisation")
    await Certificate.insert(
        Certificate(
            person=person_id,
            occupation_code="6-18-01-01",
            occupation_name="车工",
            level=level,
            number=unique("C"),
            issuer=issuer["id"],
            issued_on=date(2020, 5, 1),
            route="social_evaluation_organisation",
            status=status,
            created_by="test",
        )
    ).run()


async def master(level: int = 2) -> int:
    person = await make_person()
    await certify(person, level)
    return person


async def officer(*extra: StaffRole) -> tuple[dict[str, Any], dict[str, str]]:
    user, token = await staff_token(StaffRole.OFFICER, *extra)
    return user, bearer(token)


async def apply(client: httpx.AsyncClient, h: dict[str, str], **changes: Any) -> httpx.Response:
    body = {
        "master_person_id": changes.pop("master_person_id", None) or await master(),
        **OCCUPATION,
        "plan": PLAN,
        "members": [
            {"person_id": await make_person(), "role": "apprentice"},
            {"person_id": await make_person(), "role": "member"},
        ],
        **changes,
    }
    return await client.post("/api/v1/studios", json=body, headers=h)


async def review_to_completion(
    client: httpx.AsyncClient, oh: dict[str, str], studio_id: int, *panel: tuple[int, str]
) -> int:
    """Opens the review and has every reviewer in `panel` (id, token) score."""
    r = await client.post(f"/api/v1/studios/{studio_id}/review", json={}, headers=oh)
    assert r.status_code == 200, r.text
    case_id = r.json()["review_case_id"]
    for rid, _ in panel:
        r = await client.post(
            f"/api/v1/reviews/cases/{case_id}/assignments", json={"reviewer_id": rid}, headers=oh
        )
        assert r.status_code == 201, r.text
    for _, token in panel:
        r = await client.post(
            f"/api/v1/reviews/cases/{case_id}/scores", json=SCORES, headers=bearer(token)
        )
        assert r.status_code == 201, r.text
    return case_id


async def reviewer_panel(n: int = 3) -> list[tuple[int, str]]:
    made = [await staff_token(StaffRole.REVIEWER) for _ in range(n)]
    return [(user["id"], token) for user, token in made]


async def test_a_studio_goes_from_application_to_revocation(client):
    host, key = await org_key("enterprise")
    hh = bearer(key)
    _, oh = await officer()
    r = await apply(client, hh)
    assert r.status_code == 201, r.text
    studio = r.json()
    sid = studio["id"]
    assert studio["status"] == "applied" and studio["host_organisation_id"] == host["id"]
    assert (
        studio["master_basis"].startswith("certificate C")
        and "technician" in (studio["master_basis"])
    )
    assert "*" in studio["master_id_number"]  # the host sees it masked
    assert [m["role"] for m in studio["members"]] == ["apprentice", "member"]
    full = (await client.get(f"/api/v1/studios/{sid}", headers=oh)).json()
    assert "*" not in full["master_id_number"]  # officers see the whole number

    # Establishing before review, or before the review is complete, is refused.
    today = local_today().isoformat()
    decision = {"level": "city", "established_on": today}
    r = await client.post(f"/api/v1/studios/{sid}/establishment", json=decision, headers=oh)
    assert r.status_code == 409
    r = await client.post(f"/api/v1/studios/{sid}/review", json={}, headers=hh)
    assert r.status_code == 403  # the host does not open its own review
    r = await client.post(f"/api/v1/studios/{sid}/review", json={}, headers=oh)
    assert r.status_code == 200 and r.json()["status"] == "under_review"
    case_id = r.json()["review_case_id"]
    assert (
        await client.post(f"/api/v1/studios/{sid}/review", json={}, headers=oh)
    ).status_code == (409)
    panel = await reviewer_panel(3)
    for rid, _ in panel:
        await client.post(
            f"/api/v1/reviews/cases/{case_id}/assignments", json={"reviewer_id": rid}, headers=oh
        )
    await client.post(
        f"/api/v1/reviews/cases/{case_id}/scores", json=SCORES, headers=bearer(panel[0][1])
    )
    r = await client.post(f"/api/v1/studios/{sid}/establishment", json=decision, headers=oh)
    assert r.status_code == 409 and "1 of at least 3" in r.json()["detail"]
    for _, token in panel[1:]:
        await client.post(
            f"/api/v1/reviews/cases/{case_id}/scores", json=SCORES, headers=bearer(token)
        )

    bad = {"level": "district", "established_on": "2999-01-01"}
    r = await client.post(f"/api/v1/studios/{sid}/establishment", json=bad, headers=oh)
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"level", "established_on"}
    r = await client.post(f"/api/v1/studios/{sid}/establishment", json=decision, headers=oh)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "established" and r.json()["level"] == "city"
    assert r.json()["established_on"] == today

    year = local_today().year
    failed = {"year": year, "result": "fail", "notes": "apprentices did not sit the exam"}
    r = await client.post(f"/api/v1/studios/{sid}/assessments", json=failed, headers=oh)
    assert r.status_code == 201, r.text
    # A failed assessment does not revoke the studio by itself.
    assert r.json()["status"] == "established"
    [recorded] = r.json()["assessments"]
    assert {k: recorded[k] for k in failed} == failed
    again = {"year": year, "result": "pass", "notes": ""}
    r = await client.post(f"/api/v1/studios/{sid}/assessments", json=again, headers=oh)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "year"
    r = await client.post(
        f"/api/v1/studios/{sid}/assessments", json={**again, "year": year - 1}, headers=oh
    )
    assert r.status_code == 400  # before the studio was established

    revocation = {"reason": "two failed assessments in a row", "revoked_on": today}
    r = await client.post(f"/api/v1/studios/{sid}/revocation", json=revocation, headers=hh)
    assert r.status_code == 403
    r = await client.post(f"/api/v1/studios/{sid}/revocation", json=revocation, headers=oh)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert r.json()["revoked_reason"] == revocation["reason"]
    r = await client.post(f"/api/v1/studios/{sid}/revocation", json=revocation, headers=oh)
    assert r.status_code == 409
    r = await client.post(
        f"/api/v1/studios/{sid}/assessments", json={**again, "year": year}, headers=oh
    )
    assert r.status_code == 409

    actions = [
        row["action"]
        for row in await AuditEntry.select(AuditEntry.action)
        .where((AuditEntry.object_type == "studio") & (AuditEntry.object_id == str(sid)))
        .order_by(AuditEntry.id)
        .run()
    ]
    assert actions == [
        "studio.applied",
        "studio.review_opened",
        "studio.established",
        "studio.assessed",
        "studio.revoked",
    ]
    # A revoked studio no longer blocks its master from a new application.
    r = await apply(client, hh, master_person_id=studio["master_person_id"])
    assert r.status_code == 201, r.text


async def test_a_master_without_technician_level_is_refused_with_the_reason(client):
    _, key = await org_key("technical_school")
    hh = bearer(key)
    senior_worker = await master(level=3)
    r = await apply(client, hh, master_person_id=senior_worker)
    assert r.status_code == 400
    [error] = r.json()["errors"]
    assert error["field"] == "master_person_id"
    assert "technician or senior technician" in error["reason"]

    revoked = await make_person()
    await certify(revoked, 1, status="revoked")
    r = await apply(client, hh, master_person_id=revoked)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "master_person_id"

    r = await apply(client, hh, master_person_id=999_999_999, members=[])
    assert r.status_code == 400 and "no such person" in r.json()["errors"][0]["reason"]

    senior_technician = await master(level=1)
    r = await apply(
        client,
        hh,
        master_person_id=senior_technician,
        occupation_code="6-18",
        plan="short",
        members=[{"person_id": senior_technician, "role": "apprentice"}],
    )
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {
        "occupation_code",
        "plan",
        "members[0].person_id",
    }
    assert (await apply(client, hh, master_person_id=senior_technician)).status_code == 201
    r = await apply(client, hh, master_person_id=senior_technician)
    assert r.status_code == 409  # one live studio per master


async def test_a_recognised_leading_talent_qualifies_through_the_hook(client):
    _, key = await org_key("enterprise")
    talent = await make_person()  # no certificate at all

    async def recognised(person_id: int, today: date) -> str | None:
        return "award LT-2025-001" if person_id == talent else None

    r = await apply(client, bearer(key), master_person_id=talent)
    assert r.status_code == 400
    masters.register_leading_talent_check(recognised)
    try:
        r = await apply(client, bearer(key), master_person_id=talent)
    finally:
        masters.LEADING_TALENT_CHECKS.remove(recognised)
    assert r.status_code == 201, r.text
    assert r.json()["master_basis"] == "recognised leading talent: award LT-2025-001"


async def test_an_officer_who_reviewed_the_case_may_not_decide_it(client):
    _, key = await org_key("enterprise")
    _, oh = await officer()
    double_hat, double_token = await staff_token(StaffRole.OFFICER, StaffRole.REVIEWER)
    sid = (await apply(client, bearer(key))).json()["id"]
    panel = [(double_hat["id"], double_token), *await reviewer_panel(2)]
    await review_to_completion(client, oh, sid, *panel)

    decision = {"level": "province", "established_on": local_today().isoformat()}
    r = await client.post(
        f"/api/v1/studios/{sid}/establishment", json=decision, headers=bearer(double_token)
    )
    assert r.status_code == 403 and "reviewer" in r.json()["detail"]
    r = await client.post(
        f"/api/v1/studios/{sid}/rejection",
        json={"reason": "weak plan"},
        headers=bearer(double_token),
    )
    assert r.status_code == 403
    denied = await AuditEntry.select().where(AuditEntry.action == "permission.denied").run()
    assert any(f"/api/v1/studios/{sid}/establishment" in row["object_id"] for row in denied)
    r = await client.post(f"/api/v1/studios/{sid}/establishment", json=decision, headers=oh)
    assert r.status_code == 200 and r.json()["level"] == "province"


async def test_rejection_during_review_releases_the_pending_reviewers(client):
    _, key = await org_key("training_institution")
    _, oh = await officer()
    sid = (await apply(client, bearer(key))).json()["id"]
    r = await client.post(f"/api/v1/studios/{sid}/review", json={"min_reviewers": 2}, headers=oh)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "min_reviewers"
    r = await client.post(
        f"/api/v1/studios/{sid}/review",
        json={"min_reviewers": 4, "weights": {"ethics": 10, "knowledge": 40, "ability": 40}},
        headers=oh,
    )
    assert r.status_code == 400 and "weights.achievements" in {
        e["field"] for e in r.json()["errors"]
    }
    weights = {"ethics": 10, "knowledge": 30, "ability": 30, "achievements": 30}
    r = await client.post(
        f"/api/v1/studios/{sid}/review", json={"min_reviewers": 4, "weights": weights}, headers=oh
    )
    case_id = r.json()["review_case_id"]
    [(rid, token)] = await reviewer_panel(1)
    await client.post(
        f"/api/v1/reviews/cases/{case_id}/assignments", json={"reviewer_id": rid}, headers=oh
    )
    case = (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=oh)).json()
    assert case["min_reviewers"] == 4 and case["weights"] == weights
    assert case["subject_type"] == "master_studio" and case["subject_id"] == sid

    r = await client.post(f"/api/v1/studios/{sid}/rejection", json={"reason": "x"}, headers=oh)
    assert r.status_code == 400
    r = await client.post(
        f"/api/v1/studios/{sid}/rejection",
        json={"reason": "the host has closed the workshop"},
        headers=oh,
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    case = (await client.get(f"/api/v1/reviews/cases/{case_id}", headers=oh)).json()
    assert case["status"] == "cancelled" and case["progress"]["withdrawn"] == 1
    r = await client.post(
        f"/api/v1/reviews/cases/{case_id}/scores", json=SCORES, headers=bearer(token)
    )
    assert r.status_code == 409


async def test_organisations_see_only_their_own_studios(client):
    _, key_a = await org_key("enterprise")
    _, key_b = await org_key("enterprise")
    _, evaluator = await org_key("evaluation_organisation")
    sid = (await apply(client, bearer(key_a))).json()["id"]

    assert (await client.get(f"/api/v1/studios/{sid}", headers=bearer(key_b))).status_code == 404
    listed = (await client.get("/api/v1/studios", headers=bearer(key_b))).json()
    assert sid not in [s["id"] for s in listed["items"]]
    assert sid in [
        s["id"]
        for s in (await client.get("/api/v1/studios", headers=bearer(key_a))).json()["items"]
    ]
    _, reviewer_token = await staff_token(StaffRole.REVIEWER)
    assert (
        await client.get(f"/api/v1/studios/{sid}", headers=bearer(reviewer_token))
    ).status_code == 200  # staff see every studio (reviewers read what they review)
    assert (await apply(client, bearer(evaluator))).status_code == 403
    r = await apply(client, bearer(key_b), host_organisation_id=(await make_org())["id"])
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "host_organisation_id"
    denied = await AuditEntry.select().where(AuditEntry.action == "permission.denied").run()
    assert any(f"/api/v1/studios/{sid}" == row["object_id"] for row in denied)


async def test_an_officer_applies_for_a_host_and_lists_filter_and_page(client):
    _, oh = await officer()
    town = "虎门"
    host = await organisations.create(
        ADMIN,
        organisations.NewOrganisation(
            name=unique("学校"),
            org_type="technical_school",
            credit_code=make_credit_code(int(unique(""))),
            town=town,
        ),
    )
    r = await apply(client, oh)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "host_organisation_id"
    evaluator = await make_org("evaluation_organisation")
    r = await apply(client, oh, host_organisation_id=evaluator["id"])
    assert r.status_code == 400 and "host must be one of" in r.json()["errors"][0]["reason"]
    code = f"6-{int(unique('')) % 90 + 10}-02-03"
    ids = []
    for _ in range(3):
        r = await apply(client, oh, host_organisation_id=host["id"], occupation_code=code)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    params = {"town": town, "occupation": code, "status": "applied", "limit": 2}
    first = (await client.get("/api/v1/studios", params=params, headers=oh)).json()
    assert [s["id"] for s in first["items"]] == ids[:2] and first["next_cursor"]
    assert first["items"][0]["host_town"] == town
    rest = await client.get(
        "/api/v1/studios", params={**params, "cursor": first["next_cursor"]}, headers=oh
    )
    assert [s["id"] for s in rest.json()["items"]] == ids[2:]
    none = await client.get(
        "/api/v1/studios", params={"occupation": code, "level": "national"}, headers=oh
    )
    assert none.json()["items"] == []
    elsewhere = await client.get(
        "/api/v1/studios", params={"occupation": code, "town": "长安"}, headers=oh
    )
    assert elsewhere.json()["items"] == []
    bad = await client.get(
        "/api/v1/studios",
        params={"status": "open", "level": "district", "town": "广州", "occupation": "x"},
        headers=oh,
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"status", "level", "town", "occupation"}
