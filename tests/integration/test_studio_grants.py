"""The master studio grant on SQLite and PostgreSQL: an established studio's host
claims the grant for the studio's level (singly or in a claim file), a run calculates
it, and the same studio and level is never claimed twice."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from accounts.roles import StaffRole
from registry.studios.tables import Studio
from tests.conftest import bearer, org_key, staff_token
from tests.integration.test_skill_levels import wait_for_job
from tests.support import registry_data as data
from tests.support import waiting

YUAN = 100


async def studio(
    host: dict[str, Any], level: str | None = "city", status: str = "established"
) -> int:
    master = await data.person()
    row = Studio(
        host=host["id"],
        master=master["id"],
        occupation_code="6-18-02-04",
        occupation_name="焊工",
        plan="带徒传艺，技术攻关",
        master_basis="test",
        status=status,
        level=level,
        established_on=date(2025, 3, 1) if status == "established" else None,
        applied_by="test",
    )
    await row.save().run()
    return row.id


def body(studio_id: int) -> dict[str, Any]:
    return {
        "scheme": "studio_grant",
        "basis_date": "2026-01-01",
        "details": {"studio_id": studio_id},
    }


async def calculated(client, key: str, claim_id: int) -> dict[str, Any]:

    async def fetch() -> dict[str, Any]:
        return (await client.get(f"/api/v1/claims/{claim_id}", headers=bearer(key))).json()

    return await waiting.until(
        fetch, lambda claim: claim["status"] != "submitted", f"claim {claim_id} calculated"
    )


async def test_the_host_of_an_established_studio_is_granted_its_level_once(client):
    host, key = await org_key("enterprise")
    studio_id = await studio(host)
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(studio_id))
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["dedupe_key"] == f"studio_grant:{studio_id}:city"
    assert (claim["payee_kind"], claim["payee_organisation_id"]) == ("organisation", host["id"])
    assert claim["basis_date"] == "2025-03-01" and claim["budget_year"] == 2025
    done = await calculated(client, key, claim["id"])
    assert done["status"] == "calculated" and done["amount_fen"] == 100_000 * YUAN, done
    assert "city master studio grant 100,000 yuan" in done["trace"][-1]["en"]

    # The same level again: 409 naming the first claim.
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(studio_id))
    assert r.status_code == 409 and r.json()["existing_claim_id"] == claim["id"], r.text

    # Raised to province level: that level's grant, in full.
    await Studio.update({Studio.level: "province"}).where(Studio.id == studio_id).run()
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(studio_id))
    assert r.status_code == 201, r.text
    done = await calculated(client, key, r.json()["id"])
    assert done["amount_fen"] == 200_000 * YUAN, done


async def test_only_an_established_studio_of_the_claimant_is_granted(client):
    host, key = await org_key("enterprise")
    other, _ = await org_key("technical_school")
    pending = await studio(host, level=None, status="under_review")
    theirs = await studio(other)
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(pending))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "details.studio_id"
    assert "under_review" in r.text
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(theirs))
    assert r.status_code == 404, r.text
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(10**9))
    assert r.status_code == 404
    bad = {**body(pending), "details": {"studio_id": "x"}}
    r = await client.post("/api/v1/claims", headers=bearer(key), json=bad)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "details.studio_id"
    # An evaluation organisation hosts no studios.
    _, judge = await org_key("evaluation_organisation")
    r = await client.post("/api/v1/claims", headers=bearer(judge), json=body(pending))
    assert r.status_code == 403


async def test_studio_grants_are_claimed_in_a_file_too(client):
    host, key = await org_key("training_institution")
    first, second = await studio(host, "national"), await studio(host)
    out = io.StringIO()
    csv.writer(out).writerows([["工作室ID/Studio ID"], [first], [second], [first]])
    r = await client.post(
        "/api/v1/claim-files?scheme=studio_grant&filename=studios.csv",
        headers=bearer(key),
        content=out.getvalue().encode("utf-8"),
    )
    assert r.status_code == 202, r.text
    job = await wait_for_job(client, f"/api/v1/jobs/{r.json()['job_id']}", bearer(key))
    assert job["status"] == "done", job
    file = (await client.get(f"/api/v1/claim-files/{r.json()['id']}", headers=bearer(key))).json()
    assert (file["accepted"], file["duplicate"], file["rejected"]) == (2, 1, 0), file
    assert job["result"]["claim_ids"] and len(job["result"]["claim_ids"]) == 2
    amounts = sorted(
        [(await calculated(client, key, i))["amount_fen"] for i in job["result"]["claim_ids"]]
    )
    assert amounts == [100_000 * YUAN, 500_000 * YUAN]


async def test_an_automatic_version_proposes_grants_to_hosts_with_no_application(client):
    """Policy finds enterprises: studios established while an automatic version is in
    force are proposed to their hosts, who confirm the account; once per studio and
    level, and only the levels the version pays."""
    _, token = await staff_token(StaffRole.OFFICER)
    officer = bearer(token)
    version = {
        "title_zh": "技能大师工作室建设资助（自动）",
        "title_en": "Skills master studio grant (automatic)",
        "source": "test",
        "effective_from": "2035-01-01",
        "effective_to": "2035-12-31",
        "payee": "organisation",
        "automatic": True,
        "parameters": {
            "amount_by_level_fen": {
                "city": 0,
                "province": 150_000 * YUAN,
                "national": 500_000 * YUAN,
            }
        },
    }
    r = await client.post("/api/v1/policies/studio_grant/versions", headers=officer, json=version)
    assert r.status_code == 201, r.text
    host, key = await org_key("enterprise")
    province = await studio(host, level="province")
    city = await studio(host, level="city")  # the version pays nothing for it
    revoked = await studio(host, level="national", status="revoked")
    await studio(host, level="national")  # established in 2025, before the version
    on = date(2035, 6, 1)
    for studio_id in (province, city, revoked):
        await Studio.update({Studio.established_on: on}).where(Studio.id == studio_id).run()

    r = await client.post("/api/v1/scans", headers=officer, json={"schemes": ["studio_grant"]})
    assert r.status_code == 202, r.text
    job = await wait_for_job(client, r.json()["job_url"], officer)
    assert job["status"] == "done" and job["result"]["schemes"] == ["studio_grant"], job
    listed = await client.get(
        "/api/v1/claims?scheme=studio_grant&status=proposed", headers=bearer(key)
    )
    proposed = [
        (await client.get(f"/api/v1/claims/{c['id']}", headers=bearer(key))).json()
        for c in listed.json()["items"]
    ]
    assert [c["details"] for c in proposed] == [{"studio_id": province, "level": "province"}]
    claim = proposed[0]
    assert claim["origin"] == "automatic"
    assert claim["dedupe_key"] == f"studio_grant:{province}:province"
    assert claim["basis_date"] == "2035-06-01" and claim["payee_organisation_id"] == host["id"]
    assert claim["claimant_organisation_id"] == host["id"]

    r = await client.post(
        f"/api/v1/claims/{claim['id']}/confirm-account",
        json={
            "bank_name": "建设银行",
            "bank_account": "44001234567890",
            "bank_account_name": host["name"],
        },
        headers=bearer(key),
    )
    # Submitted, and its calculation queued (the in-process worker may be done already).
    assert r.status_code == 200 and r.json()["status"] in ("submitted", "calculated"), r.text
    done = await calculated(client, key, claim["id"])
    assert done["status"] == "calculated" and done["amount_fen"] == 150_000 * YUAN, done

    again = await client.post("/api/v1/scans", headers=officer, json={"schemes": ["studio_grant"]})
    job = await wait_for_job(client, again.json()["job_url"], officer)
    assert job["status"] == "done" and job["result"]["created"] == 0, job
