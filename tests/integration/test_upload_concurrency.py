"""Upload checks take one of UPLOAD_PARSE_CONCURRENCY parse slots per process, on SQLite
and PostgreSQL: while every slot is busy, logins and the readiness probe still answer,
and another upload waits UPLOAD_PARSE_QUEUE_SECONDS at most, then gets 429 with
Retry-After naming why, with nothing stored."""

from __future__ import annotations

import asyncio

from accounts.roles import StaffRole
from kernel import sandbox
from subsidies.internships.tables import MonthFile
from tests.conftest import make_staff
from tests.integration.test_batches import BASE, approved_batch_of, lines_of, return_file
from tests.integration.test_hostile_files import ROUTES, send, stored_files
from tests.support import held_parse
from tests.support import hostile_files as hostile

BUSY = "too many files are being checked; try again in 1 s"


def _workbook(route: str) -> bytes:
    _, _, headers, data = ROUTES[route]
    return hostile.workbook(hostile.sheet_xml(hostile.table(headers, [data])))


async def test_a_busy_parse_slot_refuses_uploads_but_not_logins_or_readiness(
    client, monkeypatch, tmp_path, settings
):
    monkeypatch.setenv("UPLOAD_PARSE_CONCURRENCY", "1")
    monkeypatch.setenv("UPLOAD_PARSE_QUEUE_SECONDS", "0.2")
    batch, _, _, finance, _ = await approved_batch_of(client, (100_000,))
    reference = (await lines_of(batch["id"]))[0]["reference"]
    user = await make_staff(StaffRole.OFFICER)
    incoming = sorted((settings.data_dir / "uploads").rglob(".incoming-*"))

    started, release = tmp_path / "started", tmp_path / "release"
    holding = asyncio.create_task(sandbox.run_async(held_parse.hold, started, release))
    await held_parse.until_started(started, holding)
    try:
        login = {"username": user["username"], "password": user["password"]}
        r = await client.post("/api/v1/auth/login", json=login)
        assert r.status_code in (200, 201), r.text
        r = await client.get("/api/v1/health/ready")
        assert r.status_code == 200, r.text
        for route in ROUTES:
            org, _, r = await send(client, route, _workbook(route), "fine.xlsx")
            assert r.status_code == 429, (route, r.text)
            assert r.headers["Retry-After"] == "1"
            [error] = r.json()["errors"]
            assert error["field"] == "file" and error["reason"].startswith(BUSY), r.text
            assert await stored_files(org["id"]) == 0
            assert await MonthFile.count().where(MonthFile.host == org["id"]).run() == 0
        paid = return_file((reference, "1000.00", "paid", ""))
        r = await client.post(f"{BASE}/{batch['id']}/reconciliation", content=paid, headers=finance)
        assert r.status_code == 429 and BUSY in r.text, r.text
        assert (await lines_of(batch["id"]))[0]["status"] == "pending"
        assert sorted((settings.data_dir / "uploads").rglob(".incoming-*")) == incoming
    finally:
        release.touch()
        assert await holding == "released"

    # The slot free again: uploads pass (their jobs' reads take no slot).
    monkeypatch.setenv("UPLOAD_PARSE_QUEUE_SECONDS", "600")
    for route in ROUTES:
        org, _, r = await send(client, route, _workbook(route), "fine.xlsx")
        assert r.status_code in (201, 202), (route, r.text)
    r = await client.post(f"{BASE}/{batch['id']}/reconciliation", content=paid, headers=finance)
    assert r.status_code == 200 and r.json()["paid"] == 1, r.text
