"""Uploaded files are parsed in a child process limited in memory and CPU time
(kernel.sandbox), on SQLite and PostgreSQL: a file that needs more fails only its own
upload (400 on `file`) or its own job (failed at once, not retried), and the API goes
on answering. The limits are lowered per test through the environment."""

from __future__ import annotations

import csv
import functools
import hashlib
import io

import pytest

from registry.tables import OutcomeReport
from subsidies.claim_files.tables import ClaimFile
from subsidies.internships.tables import MonthFile
from tests.conftest import bearer
from tests.integration.test_batches import BASE, approved_batch_of, lines_of, return_file
from tests.integration.test_hostile_files import ROUTES, refused, send, stored_files
from tests.integration.test_skill_levels import wait_for_job
from tests.support import hostile_files as hostile
from tests.support.outcome_files import csv_bytes, row
from workers.tables import Job

COULD_NOT_READ = "the file could not be read: it needs more than"


@functools.cache
def hoarding_workbook(route: str, copies: int = 1) -> bytes:
    """About 6 MB: after `copies` of a data row, a cell naming the last of 150,000
    shared strings of 1,536 characters, which reading it holds in memory (about 240 MB)."""
    _, _, headers, data = ROUTES[route]

    def text(i: int) -> str:
        return hashlib.sha256(str(i).encode()).hexdigest() * 24

    return hostile.hoarding_strings(headers, data, text, 150_000, copies)


@pytest.mark.parametrize("route", list(ROUTES))
async def test_a_file_past_the_memory_limit_at_the_door_is_400_and_the_api_answers(
    client, monkeypatch, route
):
    monkeypatch.setenv("UPLOAD_PARSE_MEMORY_MB", "64")
    _, _, headers, data = ROUTES[route]
    org, _, response = await send(client, route, hoarding_workbook(route), "strings.xlsx")
    refused(response, 400, f"{COULD_NOT_READ} 64 MB of memory")
    assert await stored_files(org["id"]) == 0
    assert (await client.get("/api/v1/health")).status_code == 200
    # Under the same limit an ordinary workbook passes the door.
    body = hostile.workbook(hostile.sheet_xml(hostile.table(headers, [data])))
    _, _, response = await send(client, route, body, "fine.xlsx")
    assert response.status_code in (200, 201, 202), response.text


async def test_a_report_whose_read_runs_out_of_memory_fails_its_job_once(client, monkeypatch):
    """The door reads a CSV as a stream; the job reads 100,000 rows at a time, which
    needs more than 100 MB: the job fails at once, the report with it."""
    monkeypatch.setenv("UPLOAD_PARSE_MEMORY_MB", "100")
    body = csv_bytes([row(40_000_000 + i) for i in range(150_000)])
    _, key, response = await send(client, "outcomes", body, "big.csv")
    assert response.status_code == 202, response.text
    report = response.json()
    job = await wait_for_job(client, f"/api/v1/jobs/{report['job_id']}", bearer(key))
    assert job["status"] == "failed", job
    assert job["error"].startswith(f"{COULD_NOT_READ} 100 MB of memory"), job
    attempts = await Job.select(Job.attempts).where(Job.id == report["job_id"]).first().run()
    assert attempts["attempts"] == 1  # a PermanentFailure: never retried
    stored = (
        await OutcomeReport.select(OutcomeReport.status)
        .where(OutcomeReport.id == report["id"])
        .first()
        .run()
    )
    assert stored["status"] == "failed"
    assert (await client.get("/api/v1/health")).status_code == 200


async def test_a_claim_file_whose_read_runs_out_of_memory_fails_its_job_once(client, monkeypatch):
    monkeypatch.setenv("UPLOAD_PARSE_MEMORY_MB", "64")
    # The door reads the header and the first row; the job reads on to the last cell.
    body = hoarding_workbook("claims", copies=1000)
    assert len(body) < 8 << 20
    _, key, response = await send(client, "claims", body, "claims.xlsx")
    assert response.status_code == 202, response.text
    file = response.json()
    job = await wait_for_job(client, f"/api/v1/jobs/{file['job_id']}", bearer(key))
    assert job["status"] == "failed", job
    assert job["error"].startswith(f"{COULD_NOT_READ} 64 MB of memory"), job
    attempts = await Job.select(Job.attempts).where(Job.id == file["job_id"]).first().run()
    assert attempts["attempts"] == 1
    stored = await ClaimFile.select().where(ClaimFile.id == file["id"]).first().run()
    assert stored["status"] == "failed" and stored["failure"] == job["error"]


async def test_a_month_file_past_the_memory_limit_is_400(client, monkeypatch):
    """Month files are read while the host waits: the read's failure is the answer."""
    monkeypatch.setenv("UPLOAD_PARSE_MEMORY_MB", "64")
    # The door's checks read the first rows; the month read goes on to the last cell.
    body = hoarding_workbook("months", copies=1000)
    org, _, response = await send(client, "months", body, "months.xlsx")
    refused(response, 400, f"{COULD_NOT_READ} 64 MB of memory")
    assert await MonthFile.count().where(MonthFile.host == org["id"]).run() == 0


async def test_the_cpu_limit_fails_the_job_with_its_limit_named(client, monkeypatch):
    """A second of CPU time is enough for the door (the header and the first row) but
    not for the job's read of a workbook of 60,000 rows."""
    monkeypatch.setenv("UPLOAD_PARSE_CPU_SECONDS", "1")
    headers = ROUTES["outcomes"][2]
    rows = [row(41_000_000 + i) for i in range(60_000)]
    body = hostile.workbook(hostile.sheet_xml(hostile.table(headers, rows)))
    _, key, response = await send(client, "outcomes", body, "slow.xlsx")
    assert response.status_code == 202, response.text
    report = response.json()
    job = await wait_for_job(client, f"/api/v1/jobs/{report['job_id']}", bearer(key))
    assert job["status"] == "failed", job
    assert "the file could not be read: it took more than 1 s of CPU time" in job["error"]


def _return_text(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([["reference", "amount", "result", "reason"], *rows])
    return out.getvalue().encode()


async def test_a_return_file_is_held_to_the_upload_limits_and_read_in_the_sandbox(
    client, monkeypatch
):
    batch, _, _, f1, _ = await approved_batch_of(client, (100_000,))
    url = f"{BASE}/{batch['id']}/reconciliation"
    ref = (await lines_of(batch["id"]))[0]["reference"]

    long_reason = _return_text([[ref, "1000.00", "failed", "x" * (70 << 10)]])
    refused(await client.post(url, content=long_reason, headers=f1), 413, "at most 65536 bytes")
    wide = _return_text([[ref, "1000.00", "paid", *["x"] * 300]])
    refused(await client.post(url, content=wide, headers=f1), 400, "at most 200 columns")
    monkeypatch.setenv("UPLOAD_MAX_LINE_BYTES", "100")
    long_line = _return_text([[ref, "1000.00", "failed", "y" * 200]])
    refused(await client.post(url, content=long_line, headers=f1), 413, "longer than 100 bytes")
    monkeypatch.delenv("UPLOAD_MAX_LINE_BYTES")

    monkeypatch.setenv("UPLOAD_PARSE_MEMORY_MB", "64")
    many = _return_text([[f"R{i:07d}", "1.00", "paid", ""] for i in range(1_000_000)])
    refused(await client.post(url, content=many, headers=f1), 400, f"{COULD_NOT_READ} 64 MB")
    assert (await lines_of(batch["id"]))[0]["status"] == "pending"  # nothing applied

    good = return_file((ref, "1000.00", "paid", ""))
    response = await client.post(url, content=good, headers=f1)
    assert response.status_code == 200, response.text
    assert response.json()["paid"] == 1
