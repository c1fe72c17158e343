"""Disbursement batches through the API, on SQLite and PostgreSQL: preview and build,
four-eyes approval, the payment file job, tamper detection at every later step,
concurrent builds that never share a claim, and reconciliation of the bank's return."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from datetime import date
from typing import Any

import httpx

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from kernel.clock import utcnow
from kernel.db import unit_of_work
from registry.tables import Organisation, Person
from subsidies.batches import approval, building
from subsidies.batches.tables import BatchLine, DisbursementBatch
from subsidies.claims import calculations, statuses
from subsidies.claims.tables import Claim
from tests.conftest import bearer, make_org, staff_token
from tests.integration.test_claims import fresh_scheme, make_claim
from tests.integration.test_studios import make_person
from tests.support import waiting
from tests.support.claim_rows import claims_by_id
from workers import outbox
from workers.tables import Job

BASE = "/api/v1/batches"


async def headers(role: StaffRole = StaffRole.FINANCE) -> dict[str, str]:
    return bearer((await staff_token(role))[1])


async def paying_org(account: bool = True) -> dict[str, Any]:
    org = await make_org("enterprise")
    if account:
        await (
            Organisation.update(
                {
                    Organisation.bank_name: "东莞农村商业银行长安支行",
                    Organisation.bank_account: f"80020000{org['id']:010d}",
                    Organisation.bank_account_name: org["name"] + "有限公司",
                }
            )
            .where(Organisation.id == org["id"])
            .run()
        )
    return org


async def approved_claim(
    scheme: str, org_id: int, amount_fen: int, *, year: int = 2026, person_id: int | None = None
) -> int:
    """A claim as an officer's approval leaves it (the approval itself is tested in
    test_claims)."""
    claim_id = await make_claim(
        scheme=scheme,
        claimant_id=org_id,
        amount_fen=amount_fen,
        budget_year=year,
        payee_kind="person" if person_id else "organisation",
        person_id=person_id,
    )
    await (
        Claim.update(
            {
                Claim.status: statuses.APPROVED,
                Claim.decided_by: "staff:1:test",
                Claim.decided_at: utcnow(),
                **calculations.settled(await calculations.claim_row(claim_id)),
            }
        )
        .where(Claim.id == claim_id)
        .run()
    )
    return claim_id


async def claims(ids: list[int]) -> dict[int, dict[str, Any]]:
    return await claims_by_id(ids)


async def lines_of(batch_id: int) -> list[dict[str, Any]]:
    return (
        await BatchLine.select()
        .where(BatchLine.batch == batch_id)
        .order_by(BatchLine.line_no)
        .run()
    )


async def wait_for_jobs(client: httpx.AsyncClient, batch_id: int, h: dict[str, str]) -> dict:
    """Until the approval's jobs (payment file, documents) have finished: a test that
    then tampers with a line must not race a rendering job's totals check."""

    async def fetch() -> dict:
        return (await client.get(f"{BASE}/{batch_id}", headers=h)).json()

    def finished(batch: dict) -> bool:
        kinds = {j["kind"] for j in batch["jobs"]}
        done = all(j["status"] in ("done", "failed") for j in batch["jobs"])
        return "batches.payment_file" in kinds and done

    return await waiting.until(fetch, finished, f"batch {batch_id}'s jobs")


async def build(client, h, scheme: str, **filters: Any) -> httpx.Response:
    return await client.post(BASE, json={"scheme": scheme, **filters}, headers=h)


async def approved_batch_of(
    client: httpx.AsyncClient, amounts: tuple[int, ...]
) -> tuple[dict, dict, list[int], dict[str, str], dict[str, str]]:
    """Approved claims of a fresh scheme for one paying organisation, built by one
    finance user and approved by another, the approval's jobs finished:
    (batch, organisation, claim ids, builder, approver)."""
    scheme = fresh_scheme()
    org = await paying_org()
    claim_ids = [await approved_claim(scheme, org["id"], a) for a in amounts]
    f1, f2 = await headers(), await headers()
    batch = (await build(client, f1, scheme)).json()["batch"]
    assert (await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)).status_code == 200
    await wait_for_jobs(client, batch["id"], f2)
    return batch, org, claim_ids, f1, f2


async def test_preview_build_four_eyes_and_payment_file(client):
    scheme = fresh_scheme()
    org, no_account = await paying_org(), await paying_org(account=False)
    person = await make_person()
    await (
        Person.update(
            {Person.bank_name: "中国银行东莞分行", Person.bank_account: "6216610000012345678"}
        )
        .where(Person.id == person)
        .run()
    )
    paid_org = [await approved_claim(scheme, org["id"], a) for a in (900_000, 300_050)]
    to_person = await approved_claim(scheme, org["id"], 1, person_id=person)
    excluded = await approved_claim(scheme, no_account["id"], 500_000)
    other_year = await approved_claim(scheme, org["id"], 700_000, year=2025)
    f1, f2, auditor = await headers(), await headers(), await headers(StaffRole.AUDITOR)

    r = await client.post(
        f"{BASE}/preview", json={"scheme": scheme, "period_from": "2026-01-01"}, headers=f1
    )
    assert r.status_code == 200, r.text
    preview = r.json()
    assert (preview["count"], preview["total_fen"], preview["total_yuan"]) == (
        3,
        1_200_051,
        "12000.51",
    )
    assert preview["schemes"] == [
        {"scheme": scheme, "count": 3, "total_fen": 1_200_051, "total_yuan": "12000.51"}
    ]
    assert preview["excluded_count"] == 1 and preview["excluded"][0]["claim_id"] == excluded
    assert "no bank account" in preview["excluded"][0]["reason"]
    assert (await claims([excluded]))[excluded]["batch_id"] is None  # preview wrote nothing

    r = await build(client, f1, scheme, period_from="2026-01-01", period_to="2026-12-31")
    assert r.status_code == 201, r.text
    batch = r.json()["batch"]
    assert batch["status"] == "submitted" and batch["number"].startswith("PB-")
    assert (batch["declared_count"], batch["declared_total_fen"]) == (3, 1_200_051)
    assert r.json()["excluded"][0]["claim_id"] == excluded
    held = await claims([*paid_org, to_person, excluded, other_year])
    assert {c for c, row in held.items() if row["batch_id"] == batch["id"]} == {
        *paid_org,
        to_person,
    }
    lines = await lines_of(batch["id"])
    assert [line["claim"] for line in lines] == [*paid_org, to_person]
    assert lines[2]["payee_kind"] == "person" and lines[2]["payee_account"] == "6216610000012345678"
    assert lines[0]["payee_name"] == org["name"] + "有限公司"

    # The same filters again: nothing left to take.
    r = await build(client, f2, scheme, period_from="2026-01-01")
    assert r.status_code == 409, r.text

    # The builder may not approve; an auditor may not either.
    r = await client.post(f"{BASE}/{batch['id']}/approve", headers=f1)
    assert r.status_code == 403 and "another person" in r.json()["detail"]
    r = await client.post(f"{BASE}/{batch['id']}/approve", headers=auditor)
    assert r.status_code == 403
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv", headers=f1)
    assert r.status_code == 409  # not approved yet
    r = await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["approved_by"].startswith("staff:")
    r = await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)
    assert r.status_code == 409  # once

    done = await wait_for_jobs(client, batch["id"], auditor)
    job = next(j for j in done["jobs"] if j["kind"] == "batches.payment_file")
    assert job["status"] == "done" and job["progress"] == 100, job
    # The bank file carries whole account numbers: auditors see them masked (below).
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv", headers=auditor)
    assert r.status_code == 403, r.text
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv", headers=f2)
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 5  # the header, 3 lines, the control record
    assert [row[5] for row in rows[1:]] == ["9000.00", "3000.50", "0.01", "12000.51"]
    assert [row[8] for row in rows[1:4]] == [line["reference"] for line in lines]
    assert rows[4][:2] == ["合计", "3"]
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.xlsx", headers=f1)
    assert r.status_code == 200 and r.content.startswith(b"PK")
    officer = await headers(StaffRole.OFFICER)
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv", headers=officer)
    assert r.status_code == 403

    # Auditors read lines with masked accounts; finance sees them whole.
    r = await client.get(f"{BASE}/{batch['id']}/lines", headers=auditor)
    assert r.status_code == 200 and r.json()["items"][2]["payee_account"].endswith("5678")
    assert r.json()["items"][2]["payee_account"].startswith("*")
    r = await client.get(f"{BASE}?status=approved", headers=auditor)
    assert batch["id"] in [b["id"] for b in r.json()["items"]]
    actions = (
        await AuditEntry.select(AuditEntry.action)
        .where(
            (AuditEntry.object_type == "disbursement_batch")
            & (AuditEntry.object_id == str(batch["id"]))
        )
        .run()
    )
    assert {"batch.submitted", "batch.approved", "batch.payment_file_written"} <= {
        a["action"] for a in actions
    }


async def test_an_altered_payment_file_is_never_served(client):
    from app.settings import Settings
    from subsidies.batches import payment_file

    batch, org, _, f1, f2 = await approved_batch_of(client, (900_000,))
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv", headers=f1)
    assert r.status_code == 200, r.text
    # While a payment-file job is queued or running the files are not served (the new
    # digests are not recorded yet), and no second job is queued: not an alteration.
    import json

    writing = (
        await Job.insert(
            Job(
                kind="batches.payment_file",
                payload=json.dumps({"batch_id": batch["id"]}),
                status="running",
                created_by="test",
            )
        ).run()
    )[0]["id"]
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv", headers=f1)
    assert r.status_code == 409 and "not written yet" in r.json()["detail"]
    r = await client.post(f"{BASE}/{batch['id']}/payment-file", headers=f2)
    assert r.status_code == 409 and "being written already" in r.json()["detail"]
    await Job.update({Job.status: "done"}).where(Job.id == writing).run()
    # Someone edits the account number in the file the bank will receive.
    path = payment_file.path_of(Settings.from_env().data_dir, batch["number"], "csv")
    path.write_bytes(path.read_bytes().replace(f"{org['id']:010d}".encode(), b"9999999999"))
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv", headers=f1)
    assert r.status_code == 409, r.text
    assert r.json()["detail"].startswith(f"the csv payment file of batch {batch['number']}")
    assert "changed on disk" in r.json()["detail"]
    assert (await client.get(f"{BASE}/{batch['id']}/payment-file.xlsx", headers=f1)).is_success
    actions = [
        a["action"]
        for a in await AuditEntry.select(AuditEntry.action)
        .where(AuditEntry.object_id == str(batch["id"]))
        .order_by(AuditEntry.id)
        .run()
    ]
    assert actions.count("batch.payment_file_altered") == 1
    assert actions.count("batch.payment_file_downloaded") == 2  # the csv before, the xlsx
    path.unlink()
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv", headers=f1)
    assert r.status_code == 409 and "missing from storage" in r.json()["detail"]
    altered = await AuditEntry.count().where(
        (AuditEntry.action == "batch.payment_file_altered")
        & (AuditEntry.object_id == str(batch["id"]))
    )
    assert altered == 2
    # Finance has it written again; the new digest is recorded and the file served.
    auditor = await headers(StaffRole.AUDITOR)
    r = await client.post(f"{BASE}/{batch['id']}/payment-file", headers=auditor)
    assert r.status_code == 403
    r = await client.post(f"{BASE}/{batch['id']}/payment-file", headers=f2)
    assert r.status_code == 202 and r.json()["kind"] == "batches.payment_file", r.text
    job = await waiting.job_finished(r.json()["id"])
    assert job["status"] == "done"
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv", headers=f1)
    assert r.status_code == 200 and f"{org['id']:010d}" in r.text


async def test_a_payment_redirected_to_another_account_fails_the_batch(client):
    """The amounts still add up, so only the digest of payment details taken at
    submission notices a line whose account was changed afterwards."""
    scheme = fresh_scheme()
    org = await paying_org()
    for amount in (100_000, 200_000):
        await approved_claim(scheme, org["id"], amount)
    f1, f2 = await headers(), await headers()
    batch = (await build(client, f1, scheme)).json()["batch"]
    row = await DisbursementBatch.select().where(DisbursementBatch.id == batch["id"]).first().run()
    assert len(row["declared_digest"]) == 64
    second = (await lines_of(batch["id"]))[1]
    await (
        BatchLine.update({BatchLine.payee_account: "6222021234567890123"})
        .where(BatchLine.id == second["id"])
        .run()
    )
    r = await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)
    assert r.status_code == 409 and "accounts" in r.json()["detail"], r.text
    row = await DisbursementBatch.select().where(DisbursementBatch.id == batch["id"]).first().run()
    assert row["status"] == "failed" and "accounts" in row["failure_reason"]


async def test_a_tampered_line_fails_the_next_step_loudly(client):
    scheme = fresh_scheme()
    org = await paying_org()
    for amount in (100_000, 200_000):
        await approved_claim(scheme, org["id"], amount)
    f1, f2 = await headers(), await headers()
    batch = (await build(client, f1, scheme)).json()["batch"]
    first = (await lines_of(batch["id"]))[0]
    await BatchLine.update({BatchLine.amount_fen: 100_001}).where(BatchLine.id == first["id"]).run()

    r = await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)
    assert r.status_code == 409, r.text
    assert (
        "300001 fen (3000.01 yuan) where 300000 fen (3000.00 yuan) was declared"
        in r.json()["detail"]
    )
    row = await DisbursementBatch.select().where(DisbursementBatch.id == batch["id"]).first().run()
    assert row["status"] == "failed" and "3000.01" in row["failure_reason"]
    # Nothing moves on a failed batch, and its claims stay held by it.
    r = await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)
    assert r.status_code == 409
    assert (await build(client, f1, scheme)).status_code == 409
    failed = (
        await AuditEntry.select(AuditEntry.after)
        .where((AuditEntry.action == "batch.failed") & (AuditEntry.object_id == str(batch["id"])))
        .run()
    )
    assert len(failed) == 1


async def test_a_range_of_lines_is_returned_only_after_the_whole_batch_is_checked(client):
    from kernel.errors import Conflict
    from subsidies.batches.totals import checked_lines

    scheme = fresh_scheme()
    org = await paying_org()
    for amount in (100_000, 200_000, 300_000):
        await approved_claim(scheme, org["id"], amount)
    batch = (await build(client, await headers(), scheme)).json()["batch"]
    part = await checked_lines(batch["id"], (2, 3))
    assert [x["line_no"] for x in part] == [2, 3]
    assert {x["amount_fen"] for x in part} <= {100_000, 200_000, 300_000}
    # A line outside the range, and its claim, altered together: the range still refuses.
    first = (await lines_of(batch["id"]))[0]
    await BatchLine.update({BatchLine.amount_fen: 1}).where(BatchLine.id == first["id"]).run()
    try:
        await checked_lines(batch["id"], (2, 3))
    except Conflict as exc:
        assert "declared" in exc.message
    else:
        raise AssertionError("a tampered line outside the range passed the check")
    row = await DisbursementBatch.select().where(DisbursementBatch.id == batch["id"]).first().run()
    assert row["status"] == "failed"


async def test_tampering_after_approval_stops_download_and_reconciliation(client):
    batch, _, claim_ids, f1, _ = await approved_batch_of(client, (100_000, 200_000))
    lines = await lines_of(batch["id"])
    # The line and the declared total altered together: the claims still disagree.
    await (
        BatchLine.update({BatchLine.amount_fen: 150_000})
        .where(BatchLine.id == lines[0]["id"])
        .run()
    )
    await (
        DisbursementBatch.update({DisbursementBatch.declared_total_fen: 350_000})
        .where(DisbursementBatch.id == batch["id"])
        .run()
    )
    body = f"reference,amount,result,reason\n{lines[0]['reference']},1500.00,paid,\n"
    r = await client.post(f"{BASE}/{batch['id']}/reconciliation", content=body.encode(), headers=f1)
    assert r.status_code == 409, r.text
    assert "line 1: 150000 fen" in r.json()["detail"]
    assert (await claims(claim_ids))[claim_ids[0]]["status"] == "approved"  # nothing applied
    assert (await lines_of(batch["id"]))[0]["status"] == "pending"
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv", headers=f1)
    assert r.status_code == 409 and "failed" in r.json()["detail"]
    assert (await client.get(f"{BASE}/{batch['id']}", headers=f1)).json()["status"] == "failed"


async def test_concurrent_builds_never_put_a_claim_in_two_batches(client, monkeypatch):
    scheme = fresh_scheme()
    org = await paying_org()
    claim_ids = [await approved_claim(scheme, org["id"], 10_000 + i) for i in range(40)]
    builders = [await headers() for _ in range(6)]
    # Every build reads the same candidates before any of them takes one (the worst
    # interleaving). SQLite lets one writer in at a time, so there the gate times out and
    # the builds run one after another, which is that engine's real behaviour.
    gate = asyncio.Barrier(len(builders))
    read = building.unbatched

    async def read_then_wait(filters):
        rows = await read(filters)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gate.wait(), timeout=0.5)
        return rows

    monkeypatch.setattr(building, "unbatched", read_then_wait)
    responses = await asyncio.gather(*(build(client, h, scheme) for h in builders))
    assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
    batches = [r.json()["batch"] for r in responses if r.status_code == 201]
    assert batches
    seen: dict[int, int] = {}
    for batch in batches:
        lines = await lines_of(batch["id"])
        assert len(lines) == batch["declared_count"]
        assert sum(line["amount_fen"] for line in lines) == batch["declared_total_fen"]
        assert [line["line_no"] for line in lines] == list(range(1, len(lines) + 1))
        for line in lines:
            assert line["claim"] not in seen, f"claim {line['claim']} in two batches"
            seen[line["claim"]] = batch["id"]
    assert set(seen) == set(claim_ids)  # every claim taken, once
    held = await claims(claim_ids)
    assert all(held[c]["batch_id"] == seen[c] for c in claim_ids)


async def test_the_database_refuses_a_second_live_line_for_a_claim(client):
    scheme = fresh_scheme()
    org = await paying_org()
    await approved_claim(scheme, org["id"], 50_000)
    batch = (await build(client, await headers(), scheme)).json()["batch"]
    line = (await lines_of(batch["id"]))[0]
    copy = {k: v for k, v in line.items() if k != "id"} | {"line_no": 2, "reference": "PBX"}
    try:
        await BatchLine.insert(BatchLine(**copy)).run()
    except Exception as exc:  # the partial unique index batch_line_live_claim
        assert "unique" in str(exc).lower()
    else:
        raise AssertionError("a second pending line for one claim was accepted")


def return_file(*rows: tuple[str, str, str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "amount", "result", "reason"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


async def test_reconciliation_with_paid_failed_unknown_and_mismatched_lines(client):
    scheme = fresh_scheme()
    org = await paying_org()
    ids = [await approved_claim(scheme, org["id"], a) for a in (100_000, 200_000, 300_000)]
    f1, f2 = await headers(), await headers()
    batch = (await build(client, f1, scheme)).json()["batch"]
    url = f"{BASE}/{batch['id']}/reconciliation"
    assert (await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)).status_code == 200
    a, b, c = [line["reference"] for line in await lines_of(batch["id"])]
    first = return_file(
        (a, "1000.00", "paid", ""),
        (b, "2000.00", "failed", "收款账户已销户"),
        (c, "3000.01", "paid", ""),  # mismatch: never applied
        ("PB99999990000019", "10.00", "paid", ""),  # unknown
    )
    r = await client.post(url, files={"file": ("return.csv", first, "text/csv")}, headers=f1)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["paid"], report["failed"], report["pending_left"]) == (1, 1, 1)
    assert report["status"] == "approved"
    assert report["mismatched"] == [
        {"row": 4, "reference": c, "reason": "the returned amount differs from the line's amount",
         "expected_yuan": "3000.00", "returned_yuan": "3000.01"}
    ]  # fmt: skip
    assert [(u["row"], u["reference"]) for u in report["unknown"]] == [(5, "PB99999990000019")]
    held = await claims(ids)
    assert held[ids[0]]["status"] == "paid" and held[ids[0]]["paid_at"] is not None
    assert held[ids[1]]["status"] == "approved" and held[ids[1]]["batch_id"] is None
    assert held[ids[2]]["status"] == "approved" and held[ids[2]]["batch_id"] == batch["id"]
    lines = await lines_of(batch["id"])
    assert [line["status"] for line in lines] == ["paid", "failed", "pending"]
    assert lines[1]["failure_reason"] == "收款账户已销户"

    # The same file again changes nothing.
    r = await client.post(url, content=first, headers=f1)
    assert r.status_code == 200, r.text
    assert (r.json()["paid"], r.json()["failed"], r.json()["unchanged"]) == (0, 0, 2)
    assert await lines_of(batch["id"]) == lines
    assert await claims(ids) == held

    # A later file contradicting a settled line is reported, not applied.
    r = await client.post(url, content=return_file((a, "1000.00", "failed", "x")), headers=f1)
    assert r.json()["contradicting"][0]["reference"] == a
    assert (await claims([ids[0]]))[ids[0]]["status"] == "paid"

    # The last line settles: the batch closes.
    r = await client.post(url, content=return_file((c, "3000.00", "paid", "")), headers=f1)
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["pending_left"] == 0
    assert (await client.post(url, content=first, headers=f1)).json()["status"] == "closed"

    # The failed claim is back in the pool: the next batch takes it.
    again = await build(client, f1, scheme)
    assert again.status_code == 201, again.text
    assert [line["claim"] for line in await lines_of(again.json()["batch"]["id"])] == [ids[1]]


async def test_a_malformed_return_file_is_refused_with_row_and_column(client):
    scheme = fresh_scheme()
    org = await paying_org()
    await approved_claim(scheme, org["id"], 100_000)
    f1, f2 = await headers(), await headers()
    batch = (await build(client, f1, scheme)).json()["batch"]
    assert (await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)).status_code == 200
    ref = (await lines_of(batch["id"]))[0]["reference"]
    body = return_file((ref, "1000.00", "paid", ""), (ref + "X", "ten", "paid", ""))
    r = await client.post(f"{BASE}/{batch['id']}/reconciliation", content=body, headers=f1)
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == [
        {"field": "row 3, column amount",
         "reason": "'ten' is not a positive yuan amount with at most 2 decimals"}
    ]  # fmt: skip
    assert (await lines_of(batch["id"]))[0]["status"] == "pending"
    r = await client.post(
        f"{BASE}/{batch['id']}/reconciliation",
        content=body,
        headers=await headers(StaffRole.AUDITOR),
    )
    assert r.status_code == 403


async def test_filters_are_validated_and_a_period_with_nothing_answers_409(client):
    h = await headers()
    r = await client.post(
        f"{BASE}/preview", json={"period_from": "2026-05-01", "period_to": "2026-04-01"}, headers=h
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "period_to"
    r = await client.post(f"{BASE}/preview", json={"schem": "x"}, headers=h)
    assert r.status_code == 400
    for field, day in (("approved_from", "0001-01-01"), ("approved_to", "9999-12-31"),
                       ("period_from", "1999-12-31"), ("period_to", "2101-01-01")):  # fmt: skip
        r = await client.post(f"{BASE}/preview", json={field: day}, headers=h)
        assert r.status_code == 400, (field, r.text)
        assert r.json()["errors"] == [
            {"field": field, "reason": "must be between 2000-01-01 and 2100-12-31"}
        ]
    r = await client.post(f"{BASE}/preview", json={"claim_ids": [10**12]}, headers=h)
    assert r.status_code == 400 and "claim_ids" in r.text, r.text
    scheme = fresh_scheme()
    await approved_claim(scheme, (await paying_org())["id"], 100)
    r = await build(client, h, scheme, period_from=date(2027, 1, 1).isoformat())
    assert r.status_code == 409
    assert (await client.get(f"{BASE}/999999", headers=h)).status_code == 404


async def test_concurrent_approvals_and_imports_act_once(client):
    scheme = fresh_scheme()
    org = await paying_org()
    ids = [await approved_claim(scheme, org["id"], a) for a in (100_000, 200_000)]
    builder = await headers()
    batch = (await build(client, builder, scheme)).json()["batch"]
    approvers = [await headers() for _ in range(4)]
    responses = await asyncio.gather(
        *(client.post(f"{BASE}/{batch['id']}/approve", headers=h) for h in approvers)
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409], [
        r.text for r in responses
    ]
    approved = (
        await AuditEntry.select(AuditEntry.id)
        .where((AuditEntry.action == "batch.approved") & (AuditEntry.object_id == str(batch["id"])))
        .run()
    )
    assert len(approved) == 1
    refs = [line["reference"] for line in await lines_of(batch["id"])]
    body = return_file((refs[0], "1000.00", "paid", ""), (refs[1], "2000.00", "paid", ""))
    url = f"{BASE}/{batch['id']}/reconciliation"
    reports = await asyncio.gather(*(client.post(url, content=body, headers=h) for h in approvers))
    assert {r.status_code for r in reports} == {200}, [r.text for r in reports]
    assert sum(r.json()["paid"] for r in reports) == 2  # each line paid by one import
    assert sum(r.json()["unchanged"] for r in reports) == 2 * (len(approvers) - 1)
    assert {c["status"] for c in (await claims(ids)).values()} == {"paid"}
    closed = (
        await AuditEntry.select(AuditEntry.id)
        .where((AuditEntry.action == "batch.closed") & (AuditEntry.object_id == str(batch["id"])))
        .run()
    )
    assert len(closed) == 1


async def test_the_payment_file_job_refuses_a_tampered_batch(client):
    batch, *_ = await approved_batch_of(client, (100_000,))
    line = (await lines_of(batch["id"]))[0]
    await BatchLine.delete().where(BatchLine.id == line["id"]).run()
    async with unit_of_work():  # the job again, as a resend would run it
        job_id = await outbox.enqueue(
            approval.PAYMENT_FILE, {"batch_id": batch["id"]}, created_by="test"
        )
    job = await waiting.job_finished(job_id)
    assert job["status"] == "failed", job
    assert "0 lines where 1 were declared" in job["error"]
    row = await DisbursementBatch.select().where(DisbursementBatch.id == batch["id"]).first().run()
    assert row["status"] == "failed" and "1000.00 yuan) was declared" in row["failure_reason"]


async def test_a_claim_put_on_hold_before_approval_is_not_paid(client):
    """A certificate or award revoked while its claim waits in a submitted batch puts the
    claim on hold; the batch must not go to the bank with it."""
    scheme = fresh_scheme()
    org = await paying_org()
    ids = [await approved_claim(scheme, org["id"], a) for a in (100_000, 200_000)]
    f1, f2 = await headers(), await headers()
    batch = (await build(client, f1, scheme)).json()["batch"]
    await (
        Claim.update({Claim.status: statuses.ON_HOLD, Claim.hold_reason: "award revoked"})
        .where(Claim.id == ids[1])
        .run()
    )
    r = await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)
    assert r.status_code == 409, r.text
    assert f"claim {ids[1]}" in r.json()["detail"] and "on_hold" in r.json()["detail"]
    row = await DisbursementBatch.select().where(DisbursementBatch.id == batch["id"]).first().run()
    assert row["status"] != "approved"
    jobs = await Job.select(Job.id).where(Job.payload == f'{{"batch_id": {batch["id"]}}}').run()
    assert jobs == []


async def test_a_submitted_batch_is_cancelled_and_its_claims_go_to_the_next_batch(client):
    """The way out for a batch that cannot be approved (a held claim, a mistake): before
    approval nothing has left, so cancelling returns every claim to the pool."""
    scheme = fresh_scheme()
    org = await paying_org()
    ids = [await approved_claim(scheme, org["id"], a) for a in (100_000, 200_000)]
    f1, f2 = await headers(), await headers()
    batch = (await build(client, f1, scheme)).json()["batch"]
    url = f"{BASE}/{batch['id']}/cancellation"
    await (
        Claim.update({Claim.status: statuses.ON_HOLD, Claim.hold_reason: "award revoked"})
        .where(Claim.id == ids[1])
        .run()
    )
    auditor = await headers(StaffRole.AUDITOR)
    assert (await client.post(url, json={"reason": "x"}, headers=auditor)).status_code == 403
    r = await client.post(url, json={"reason": "   "}, headers=f2)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reason"
    r = await client.post(url, json={"reason": "证书撤销，重新组批"}, headers=f2)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert {line["status"] for line in await lines_of(batch["id"])} == {"cancelled"}
    released = await claims(ids)
    assert all(c["batch_id"] is None for c in released.values())
    assert released[ids[1]]["status"] == "on_hold"  # an officer decides it, not finance
    again = await client.post(url, json={"reason": "twice"}, headers=f2)
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    assert (await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)).status_code == 409

    # The approved claim is taken by the next batch; the held one is not.
    second = (await build(client, f1, scheme)).json()["batch"]
    assert (second["declared_count"], second["declared_total_fen"]) == (1, 100_000)
    assert (await client.post(f"{BASE}/{second['id']}/approve", headers=f2)).status_code == 200
    r = await client.post(f"{BASE}/{second['id']}/cancellation", json={"reason": "x"}, headers=f1)
    assert r.status_code == 409 and "only a submitted batch" in r.json()["detail"]
    entry = (
        await AuditEntry.select(AuditEntry.after)
        .where(
            (AuditEntry.action == "batch.cancelled") & (AuditEntry.object_id == str(batch["id"]))
        )
        .run()
    )
    assert len(entry) == 1


async def test_a_held_claim_the_bank_paid_anyway_is_flagged_for_recovery(client):
    """Held after approval (the file is at the bank) and paid: the money moved, so the
    claim is paid and flagged for recovery with its hold's reason, and that is audited."""
    scheme = fresh_scheme()
    org = await paying_org()
    ids = [await approved_claim(scheme, org["id"], a) for a in (100_000, 200_000)]
    f1, f2 = await headers(), await headers()
    batch = (await build(client, f1, scheme)).json()["batch"]
    assert (await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)).status_code == 200
    await (
        Claim.update({Claim.status: statuses.ON_HOLD, Claim.hold_reason: "award revoked"})
        .where(Claim.id == ids[1])
        .run()
    )
    a, b = [line["reference"] for line in await lines_of(batch["id"])]
    body = return_file((a, "1000.00", "paid", ""), (b, "2000.00", "paid", ""))
    r = await client.post(f"{BASE}/{batch['id']}/reconciliation", content=body, headers=f1)
    assert r.status_code == 200 and r.json()["paid"] == 2, r.text
    held = await claims(ids)
    assert held[ids[0]]["status"] == "paid" and held[ids[0]]["recovery_reason"] is None
    assert held[ids[1]]["status"] == "paid"
    assert "award revoked" in (held[ids[1]]["recovery_reason"] or ""), held[ids[1]]
    flagged = (
        await AuditEntry.select(AuditEntry.id)
        .where(
            (AuditEntry.action == "claim.recovery_flagged") & (AuditEntry.object_id == str(ids[1]))
        )
        .run()
    )
    assert len(flagged) == 1


async def test_a_failed_batch_is_released_only_by_someone_else_before_its_file_left(client):
    """After the investigation of a failed batch, its unpaid claims go back to the pool,
    unless its payment file was downloaded (the money may be at the bank)."""
    scheme = fresh_scheme()
    org = await paying_org()
    ids = [await approved_claim(scheme, org["id"], a) for a in (100_000, 200_000)]
    f1, f2, f3 = await headers(), await headers(), await headers()
    batch = (await build(client, f1, scheme)).json()["batch"]
    url = f"{BASE}/{batch['id']}/release"
    r = await client.post(url, json={"reason": "查明原因"}, headers=f2)
    assert r.status_code == 409 and "only a failed batch" in r.json()["detail"]
    first = (await lines_of(batch["id"]))[0]
    await BatchLine.update({BatchLine.amount_fen: 1}).where(BatchLine.id == first["id"]).run()
    assert (await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)).status_code == 409

    assert (await client.post(url, json={"reason": "x"}, headers=f1)).status_code == 403
    auditor = await headers(StaffRole.AUDITOR)
    assert (await client.post(url, json={"reason": "x"}, headers=auditor)).status_code == 403
    r = await client.post(url, json={"reason": " "}, headers=f2)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reason"
    r = await client.post(url, json={"reason": "行金额被篡改，已查明，重新组批"}, headers=f2)
    assert r.status_code == 200 and r.json()["status"] == "released", r.text
    assert "released: 行金额被篡改" in r.json()["failure_reason"]
    assert {line["status"] for line in await lines_of(batch["id"])} == {"cancelled"}
    assert all(c["batch_id"] is None for c in (await claims(ids)).values())
    assert (await client.post(url, json={"reason": "again"}, headers=f3)).status_code == 409

    # The claim whose line no longer matches it waits for an officer (line or claim may
    # have been edited: only a person can tell); the other is paid by a new batch.
    held = await claims(ids)
    assert held[ids[0]]["status"] == "on_hold" and held[ids[1]]["status"] == "approved"
    second = (await build(client, f1, scheme)).json()["batch"]
    assert (second["declared_count"], second["declared_total_fen"]) == (1, 200_000)
    assert (await client.post(f"{BASE}/{second['id']}/approve", headers=f2)).status_code == 200
    await wait_for_jobs(client, second["id"], f1)
    assert (await client.get(f"{BASE}/{second['id']}/payment-file.csv", headers=f3)).is_success
    line = (await lines_of(second["id"]))[0]
    await BatchLine.update({BatchLine.amount_fen: 1}).where(BatchLine.id == line["id"]).run()
    assert (
        await client.get(f"{BASE}/{second['id']}/payment-file.csv", headers=f3)
    ).status_code == 409
    r = await client.post(f"{BASE}/{second['id']}/release", json={"reason": "x"}, headers=f2)
    assert r.status_code == 403  # its approver
    r = await client.post(f"{BASE}/{second['id']}/release", json={"reason": "x"}, headers=f3)
    assert r.status_code == 409 and "was downloaded by" in r.json()["detail"], r.text
    assert (await claims(ids))[ids[1]]["batch_id"] == second["id"]
    released = (
        await AuditEntry.select(AuditEntry.after)
        .where((AuditEntry.action == "batch.released") & (AuditEntry.object_id == str(batch["id"])))
        .run()
    )
    assert len(released) == 1


async def test_releasing_a_batch_failed_by_an_edited_claim_does_not_pay_the_edit(client):
    scheme = fresh_scheme()
    org = await paying_org()
    ids = [await approved_claim(scheme, org["id"], a) for a in (100_000, 200_000)]
    f1, f2 = await headers(), await headers()
    batch = (await build(client, f1, scheme)).json()["batch"]
    await Claim.update({Claim.amount_fen: 9_900_000}).where(Claim.id == ids[0]).run()
    r = await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)
    assert r.status_code == 409 and "9900000" in r.json()["detail"]
    r = await client.post(f"{BASE}/{batch['id']}/release", json={"reason": "核查"}, headers=f2)
    assert r.status_code == 200, r.text
    after = await claims(ids)
    assert after[ids[0]]["status"] == "on_hold" and after[ids[0]]["batch_id"] is None
    assert "differs from the one it was batched at" in after[ids[0]]["hold_reason"]
    assert after[ids[1]]["status"] == "approved" and after[ids[1]]["batch_id"] is None
    second = (await build(client, f1, scheme)).json()["batch"]
    assert (second["declared_count"], second["declared_total_fen"]) == (1, 200_000)
    [entry] = (
        await AuditEntry.select(AuditEntry.after)
        .where((AuditEntry.action == "batch.released") & (AuditEntry.object_id == str(batch["id"])))
        .run()
    )
    assert '"claim_fen":9900000' in entry["after"].replace(" ", "")
