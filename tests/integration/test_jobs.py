"""The outbox, claims, leases, retries and the sweeper, against real databases."""

import asyncio
import json
from datetime import timedelta

import pytest

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from kernel.clock import utcnow
from kernel.db import unit_of_work
from tests.conftest import bearer, org_key, staff_token, unique
from tests.support import waiting
from tests.support.slow_jobs import FAILING, SLOW_EFFECT
from workers import outbox, runner, stopping, sweeper
from workers.gate import GATE
from workers.status import JobStatus
from workers.tables import Job


async def effects(marker: str) -> int:
    return (
        await AuditEntry.count()
        .where((AuditEntry.action == "test.effect") & (AuditEntry.object_id == marker))
        .run()
    )


async def new_job(kind: str = SLOW_EFFECT, **payload) -> tuple[int, str]:
    marker = unique("m")
    async with unit_of_work():
        job_id = await outbox.enqueue(
            kind, {"marker": marker, "steps": 0, **payload}, created_by="staff:1:t"
        )
    return job_id, marker


async def test_a_job_is_sent_only_after_its_transaction_commits(db, sent):
    job_id, _ = await new_job()
    assert sent == [job_id]
    assert (await Job.select(Job.sent_at).where(Job.id == job_id).first().run())["sent_at"]

    with pytest.raises(RuntimeError):
        async with unit_of_work():
            rolled_back = await outbox.enqueue(SLOW_EFFECT, {"marker": "x"}, created_by="t")
            raise RuntimeError("domain change failed")
    assert sent == [job_id]
    assert not await Job.exists().where(Job.id == rolled_back).run()


async def test_enqueue_outside_a_unit_of_work_or_of_an_unknown_kind_is_refused(db):
    with pytest.raises(RuntimeError):
        await outbox.enqueue(SLOW_EFFECT, {}, created_by="t")
    with pytest.raises(LookupError):
        async with unit_of_work():
            await outbox.enqueue("no.such.kind", {}, created_by="t")


async def test_two_deliveries_of_one_message_run_the_job_once(db, sent):
    job_id, marker = await new_job()
    await asyncio.gather(runner.execute(job_id), runner.execute(job_id), runner.execute(job_id))
    job = await Job.select().where(Job.id == job_id).first().run()
    assert job["status"] == JobStatus.DONE and job["attempts"] == 1 and job["progress"] == 100
    assert json.loads(job["result"])["effect_for"] == marker
    assert await effects(marker) == 1
    await runner.execute(job_id)  # a late redelivery of a finished job does nothing
    assert await effects(marker) == 1


async def test_a_worker_whose_lease_was_taken_over_cannot_apply_the_effect(db, sent):
    job_id, marker = await new_job()
    first = await runner.claim(job_id, lease_seconds=60)
    # The first worker stalls; its lease runs out and another worker takes the job.
    await (
        Job.update({Job.lease_expires_at: utcnow() - timedelta(seconds=1)})
        .where(Job.id == job_id)
        .run()
    )
    await runner.execute(job_id)
    assert await effects(marker) == 1
    with pytest.raises(runner.LeaseLost):
        async with first.finishing({"late": True}):
            from audit.log import record

            await record(first.actor, "test.effect", "marker", marker)
    assert await effects(marker) == 1  # the stale worker's effect was rolled back
    with pytest.raises(runner.LeaseLost):
        await first.progress(50)


async def test_a_failing_job_is_retried_with_backoff_then_marked_failed(db, sent):
    job_id, _ = await new_job(FAILING)
    await Job.update({Job.max_attempts: 2}).where(Job.id == job_id).run()
    await runner.execute(job_id)
    job = await Job.select().where(Job.id == job_id).first().run()
    assert job["status"] == JobStatus.PENDING and "internal error (ValueError)" in job["error"]
    assert "driver detail" not in job["error"]
    assert job["not_before"] > utcnow() and job["sent_at"] is None
    await runner.execute(job_id)  # too early: not claimable before not_before
    assert (await Job.select(Job.attempts).where(Job.id == job_id).first().run())["attempts"] == 1
    await (
        Job.update({Job.not_before: utcnow() - timedelta(seconds=1)}).where(Job.id == job_id).run()
    )
    await runner.execute(job_id)
    job = await Job.select().where(Job.id == job_id).first().run()
    assert job["status"] == JobStatus.FAILED and "boom on attempt 2" in job["error"]


async def test_a_long_step_without_progress_keeps_its_lease(db, sent):
    job_id, marker = await new_job(steps=1, step_seconds=2.0)
    running = asyncio.create_task(runner.execute(job_id, lease_seconds=1))
    await asyncio.sleep(1.5)  # past the lease the claim took; the heartbeat renewed it
    assert await runner.claim(job_id, lease_seconds=1) is None
    await running
    job = await Job.select(Job.status, Job.attempts).where(Job.id == job_id).first().run()
    assert job == {"status": JobStatus.DONE, "attempts": 1} and await effects(marker) == 1


async def test_the_sweeper_resends_lost_and_abandoned_jobs_once_per_round(db, sent):
    lost, _ = await new_job()
    abandoned, _ = await new_job()
    fresh, _ = await new_job()
    past = utcnow() - timedelta(minutes=5)
    await Job.update({Job.sent_at: past}).where(Job.id == lost).run()
    await runner.claim(abandoned, lease_seconds=60)
    await (
        Job.update({Job.lease_expires_at: past, Job.sent_at: past}).where(Job.id == abandoned).run()
    )
    sent.clear()
    rounds = await asyncio.gather(*(sweeper.sweep_once(resend_after_seconds=60) for _ in range(4)))
    resent = [job_id for r in rounds for job_id in r]
    assert lost in resent and abandoned in resent and fresh not in resent
    assert resent.count(lost) == 1 and resent.count(abandoned) == 1


async def test_a_job_queued_behind_others_is_re_sent_less_and_less_often(db, sent):
    """Waiting its turn, a pending job would be re-sent every round; the wait between
    re-sends doubles with its age instead (a lost message is still re-sent)."""
    job_id, _ = await new_job()
    now = utcnow()

    async def sent_at(created_ago: int, sent_ago: int) -> list[int]:
        await (
            Job.update(
                {
                    Job.created_at: now - timedelta(minutes=created_ago),
                    Job.sent_at: now - timedelta(minutes=sent_ago),
                }
            )
            .where(Job.id == job_id)
            .run()
        )
        return await sweeper.sweep_once(resend_after_seconds=60)

    assert job_id in await sent_at(created_ago=3, sent_ago=2)  # last sent 1 min after due
    assert job_id not in await sent_at(created_ago=10, sent_ago=4)  # waited 6, only 4 since
    assert job_id in await sent_at(created_ago=10, sent_ago=7)  # waited 3, 7 since
    assert job_id in await sent_at(created_ago=600, sent_ago=16)  # the wait is capped


async def test_the_embedded_worker_runs_jobs_started_through_the_api(client):
    _, auditor = await staff_token(StaffRole.AUDITOR)
    r = await client.post("/api/v1/audit/verifications", headers=bearer(auditor))
    assert r.status_code == 202
    job_url = r.json()["job_url"]
    job = await waiting.api_job_finished(client, job_url, bearer(auditor))
    assert job["status"] == "done" and job["result"]["ok"] is True and job["progress"] == 100


async def test_a_job_is_visible_only_to_whoever_started_it(client):
    _, auditor = await staff_token(StaffRole.AUDITOR)
    _, other_auditor = await staff_token(StaffRole.AUDITOR)
    _, admin = await staff_token(StaffRole.ADMIN)
    job_url = (await client.post("/api/v1/audit/verifications", headers=bearer(auditor))).json()[
        "job_url"
    ]
    assert (await client.get(job_url, headers=bearer(auditor))).status_code == 200
    assert (await client.get(job_url, headers=bearer(admin))).status_code == 200
    assert (await client.get(job_url, headers=bearer(other_auditor))).status_code == 404

    org_a, key_a = await org_key()
    _, key_b = await org_key()
    async with unit_of_work():
        org_job = await outbox.enqueue(
            SLOW_EFFECT,
            {"marker": unique("m"), "steps": 0},
            created_by="org",
            organisation_id=org_a["id"],
        )
    assert (await client.get(f"/api/v1/jobs/{org_job}", headers=bearer(key_a))).status_code == 200
    assert (await client.get(f"/api/v1/jobs/{org_job}", headers=bearer(key_b))).status_code == 404
    assert (await client.get("/api/v1/jobs/999999", headers=bearer(key_a))).status_code == 404


async def expire_lease(job_id: int) -> None:
    """As when the worker running the job dies: its lease runs out."""
    past = utcnow() - timedelta(seconds=1)
    await Job.update({Job.lease_expires_at: past}).where(Job.id == job_id).run()


async def test_a_job_whose_worker_died_twice_is_quarantined_and_never_run_again(client, sent):
    job_id, marker = await new_job()
    assert await runner.claim(job_id, lease_seconds=60) is not None
    await expire_lease(job_id)
    again = await runner.claim(job_id, lease_seconds=60)  # one death: tried once more
    assert again is not None and again.attempt == 2
    row = await waiting.job_row(job_id)
    assert row["deaths"] == 1 and row["quarantined_at"] is None
    await expire_lease(job_id)
    assert await runner.claim(job_id, lease_seconds=60) is None  # the second death
    row = await waiting.job_row(job_id)
    assert row["status"] == JobStatus.FAILED and row["deaths"] == 2
    assert row["quarantined_at"] is not None and "died twice" in row["error"]
    # Neither a sweep, a start (which re-sends everything due) nor a delivery runs it.
    assert job_id not in await sweeper.sweep_once(resend_after_seconds=0)
    await runner.execute(job_id)
    assert (await waiting.job_row(job_id))["status"] == JobStatus.FAILED
    assert await effects(marker) == 0

    # The job shows why; only an admin may send it back to the queue.
    _, admin_token = await staff_token(StaffRole.ADMIN)
    shown = (await client.get(f"/api/v1/jobs/{job_id}", headers=bearer(admin_token))).json()
    assert shown["status"] == "failed" and shown["deaths"] == 2, shown
    assert shown["quarantined_at"] and "died twice" in shown["error"]
    _, officer = await staff_token(StaffRole.OFFICER)
    r = await client.post(f"/api/v1/jobs/{job_id}/requeue", headers=bearer(officer))
    assert r.status_code == 403
    r = await client.post(f"/api/v1/jobs/{job_id}/requeue", headers=bearer(admin_token))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending" and r.json()["deaths"] == 0
    assert r.json()["quarantined_at"] is None
    assert sent[-1] == job_id  # sent after the commit
    await runner.execute(job_id)
    assert (await waiting.job_row(job_id))["status"] == JobStatus.DONE
    assert await effects(marker) == 1
    audit = await AuditEntry.select().where(AuditEntry.action == "job.requeued").run()
    assert [e["object_id"] for e in audit][-1] == str(job_id)
    r = await client.post(f"/api/v1/jobs/{job_id}/requeue", headers=bearer(admin_token))
    assert r.status_code == 409, r.text  # done, not quarantined


async def test_a_handler_that_raises_keeps_the_retry_policy_and_counts_no_death(db, sent):
    job_id, _ = await new_job(FAILING)
    await runner.execute(job_id)
    row = await waiting.job_row(job_id)
    assert row["status"] == JobStatus.PENDING and row["deaths"] == 0
    assert row["quarantined_at"] is None


async def running(job_id: int) -> bool:
    row = await waiting.job_row(job_id)
    return row["status"] == JobStatus.RUNNING and row["progress"] > 0


async def effect_order(markers: list[str]) -> list[str]:
    rows = await (
        AuditEntry.select(AuditEntry.object_id)
        .where((AuditEntry.action == "test.effect") & AuditEntry.object_id.is_in(markers))
        .order_by(AuditEntry.id)
        .run()
    )
    return [r["object_id"] for r in rows]


async def test_a_job_that_died_once_runs_alone_in_its_process(db, sent):
    """It waits, unclaimed, for the job running beside it to finish, and a job arriving
    meanwhile waits for it: a second death would be its own."""
    first, first_marker = await new_job(steps=8, step_seconds=0.1)
    suspect, suspect_marker = await new_job()
    await Job.update({Job.deaths: 1}).where(Job.id == suspect).run()
    later, later_marker = await new_job()

    tasks = [asyncio.create_task(runner.execute(first))]
    await waiting.until(lambda: running(first), bool, "the first job to run")
    tasks.append(asyncio.create_task(runner.execute(suspect)))
    await waiting.until(lambda: GATE.waiting_alone, lambda n: n == 1, "the suspect to wait")
    assert (await waiting.job_row(suspect))["status"] == JobStatus.PENDING  # not claimed
    tasks.append(asyncio.create_task(runner.execute(later)))
    await asyncio.gather(*tasks)

    assert await effect_order([first_marker, suspect_marker, later_marker]) == [
        first_marker,
        suspect_marker,
        later_marker,
    ]
    row = await waiting.job_row(suspect)
    assert row["status"] == JobStatus.DONE and row["deaths"] == 1 and row["attempts"] == 1


@pytest.fixture
def gate_reopened():
    yield
    GATE.reopen()  # stop_jobs closes this process's gate, as a stopping worker's


async def test_a_job_cut_off_by_a_stop_is_handed_back_not_charged(db, sent, gate_reopened):
    job_id, marker = await new_job(steps=400, step_seconds=0.1)
    task = asyncio.create_task(runner.execute(job_id))
    await waiting.until(lambda: running(job_id), bool, "the job to run")
    assert await asyncio.to_thread(stopping.stop_jobs, 0.2) == 1
    assert await task is None  # it ended quietly: its message is acknowledged
    row = await waiting.job_row(job_id)
    assert row["status"] == JobStatus.PENDING and row["lease_expires_at"] is None
    assert row["deaths"] == 0 and row["attempts"] == 1 and row["max_attempts"] == 6
    assert row["sent_at"] is None  # the next sweep sends it again
    assert await effects(marker) == 0  # its transaction rolled back
    # While stopping, a delivery takes nothing.
    await runner.execute(job_id)
    assert (await waiting.job_row(job_id))["status"] == JobStatus.PENDING

    GATE.reopen()  # another worker
    await (
        Job.update({Job.payload: json.dumps({"marker": marker, "steps": 0})})
        .where(Job.id == job_id)
        .run()
    )
    await runner.execute(job_id)
    row = await waiting.job_row(job_id)
    assert row["status"] == JobStatus.DONE and row["deaths"] == 0 and row["attempts"] == 2
    assert await effects(marker) == 1


async def test_a_job_cancelled_not_by_a_stop_is_not_handed_back(db, sent):
    """A cancellation such as the actor's time limit: the attempt counts, the job keeps
    its lease, and is taken over (one death) once that lapses."""
    job_id, marker = await new_job(steps=400, step_seconds=0.1)
    task = asyncio.create_task(runner.execute(job_id))
    await waiting.until(lambda: running(job_id), bool, "the job to run")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = await waiting.job_row(job_id)
    assert row["status"] == JobStatus.RUNNING and row["lease_expires_at"] is not None
    assert row["attempts"] == 1 and row["max_attempts"] == 5 and row["deaths"] == 0
    assert await effects(marker) == 0

    await (
        Job.update(
            {
                Job.payload: json.dumps({"marker": marker, "steps": 0}),
                Job.lease_expires_at: utcnow() - timedelta(seconds=1),
            }
        )
        .where(Job.id == job_id)
        .run()
    )
    await runner.execute(job_id)
    row = await waiting.job_row(job_id)
    assert row["status"] == JobStatus.DONE and row["deaths"] == 1 and row["attempts"] == 2
    assert row["max_attempts"] == 5 and await effects(marker) == 1


async def test_a_claim_takes_a_job_only_with_the_deaths_its_gate_was_entered_for(db, sent):
    """Seen pending (not run alone), then abandoned by a worker that died: that takeover
    would be its first death and must run alone, so this claim takes nothing."""
    job_id, _ = await new_job()
    await (
        Job.update(
            {Job.status: JobStatus.RUNNING, Job.lease_expires_at: utcnow() - timedelta(seconds=1)}
        )
        .where(Job.id == job_id)
        .run()
    )
    assert await runner.claim(job_id, deaths=0) is None
    assert (await waiting.job_row(job_id))["deaths"] == 0
    ctx = await runner.claim(job_id, deaths=1)  # entered to run alone
    assert ctx is not None and (await waiting.job_row(job_id))["deaths"] == 1
