"""The audit log: appended by every change, linear under concurrency, tamper-evident."""

import asyncio

from accounts.roles import StaffRole
from app.migrate import migrate
from audit.log import record, verify_all
from audit.tables import AuditEntry
from kernel.db import bind_engine, make_engine, unit_of_work
from tests.conftest import bearer, make_org, staff_token
from tests.support import databases


async def test_state_changes_are_recorded_with_actor_before_after_and_request_id(client):
    _, admin = await staff_token(StaffRole.ADMIN)
    org = await make_org()
    r = await client.post(
        f"/api/v1/organisations/{org['id']}/api-keys",
        json={"label": "audit me"},
        headers={**bearer(admin), "X-Request-ID": "req-audit-1"},
    )
    assert r.status_code == 201
    row = (
        await AuditEntry.select()
        .where(AuditEntry.action == "api_key.issued")
        .where(AuditEntry.request_id == "req-audit-1")
        .first()
        .run()
    )
    assert row["actor"].startswith("staff:") and '"label":"audit me"' in row["after"]
    assert r.json()["key"] not in row["after"]  # the secret never reaches the log


async def test_auditors_list_and_verify_the_chain(client):
    _, auditor = await staff_token(StaffRole.AUDITOR)
    page = (await client.get("/api/v1/audit", params={"limit": 3}, headers=bearer(auditor))).json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    nxt = await client.get(
        "/api/v1/audit", params={"cursor": page["next_cursor"], "limit": 3}, headers=bearer(auditor)
    )
    assert nxt.json()["items"][0]["id"] > page["items"][-1]["id"]
    verdict = (await client.get("/api/v1/audit/verify", headers=bearer(auditor))).json()
    assert verdict["ok"] and verdict["checked"] >= 3


async def test_concurrent_appends_keep_one_linear_chain(db):
    async def change(i: int) -> None:
        async with unit_of_work():
            await record("staff:1:load", "load.test", "thing", i, after={"i": i})

    await asyncio.gather(*(change(i) for i in range(40)))
    check = (await verify_all()).check
    assert check.ok, check.reason
    seqs = [r["seq"] for r in await AuditEntry.select(AuditEntry.seq).run()]
    assert sorted(seqs) == list(range(1, len(seqs) + 1))


async def test_a_rolled_back_change_leaves_no_audit_row(db):
    marker = "rolled-back-change"
    try:
        async with unit_of_work():
            await record("staff:1:x", "will.rollback", "thing", marker)
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert not await AuditEntry.exists().where(AuditEntry.object_id == marker).run()


async def test_editing_or_deleting_a_row_is_detected(database_url, tmp_dir):
    # A database of its own: this test damages the chain on purpose.
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    url = await databases.fresh_database(kind, tmp_dir)
    try:
        for i in range(6):
            await record("staff:1:a", "thing.changed", "thing", i, after={"v": i})
        assert (await verify_all()).check.ok

        await AuditEntry.update({AuditEntry.after: '{"v":42}'}).where(AuditEntry.seq == 3).run()
        check = (await verify_all()).check
        assert not check.ok and check.first_bad_seq == 3

        await AuditEntry.update({AuditEntry.after: '{"v":2}'}).where(AuditEntry.seq == 3).run()
        assert (await verify_all()).check.ok
        await AuditEntry.delete().where(AuditEntry.seq == 5).run()
        check = (await verify_all()).check
        assert not check.ok and check.first_bad_seq == 6
    finally:
        if kind == "postgresql":
            await databases.drop_pg_database(url)
        bind_engine(make_engine(database_url))
        await migrate()


async def test_closing_the_pool_waits_for_the_scheduled_sealing_round(client):
    """Shutdown (and every bench's end) closes the pool right after the last change; the
    sealing round that change scheduled must finish first, not fail on a closed pool."""
    from audit import sealer
    from kernel.db import _before_close

    assert sealer.drain in _before_close  # close_pool runs it
    await record("test", "test.drained", "test", "drain")  # schedules a round in 0.05 s
    await sealer.drain()
    row = (
        await AuditEntry.select(AuditEntry.seq)
        .where(AuditEntry.action == "test.drained")
        .first()
        .run()
    )
    assert row["seq"] is not None


async def test_stopping_the_embedded_worker_finishes_its_sealing_rounds(db, monkeypatch):
    """A job's commit on the worker's loop schedules a sealing round there; stopping the
    worker before the round starts must let it run, not stop the loop under it (a round
    cut off mid-transaction held the sealers' lock for good)."""
    from dramatiq.asyncio import get_event_loop_thread

    from audit import sealer
    from workers.embedded import EmbeddedWorker

    monkeypatch.setattr(sealer, "SEAL_DELAY_SECONDS", 1.0)  # longer than stopping takes
    worker = EmbeddedWorker(threads=1)
    worker.start()
    try:
        action = f"test.worker_sealed.{id(worker)}"
        get_event_loop_thread().run_coroutine(record("test", action, "test", "worker"))
    finally:
        await asyncio.to_thread(worker.stop)
    row = await AuditEntry.select(AuditEntry.seq).where(AuditEntry.action == action).first().run()
    assert row["seq"] is not None
