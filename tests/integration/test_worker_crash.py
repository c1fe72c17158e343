"""A worker killed with SIGKILL in the middle of a job: the sweeper re-sends it, a new
worker finishes it, and its effect is applied exactly once. Real brokers, real
worker processes: SQLite with Redis, PostgreSQL with RabbitMQ."""

import asyncio
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from audit.tables import AuditEntry
from kernel.db import unit_of_work
from tests.support import processes, waiting
from tests.support.services import RABBIT_URL, REDIS_URL, forget_queue, require
from tests.support.slow_jobs import BLOCKS_LOOP, KILLS_WORKER, SLOW_EFFECT
from tests.support.waiting import job_row
from workers import outbox
from workers.status import JobStatus

pytestmark = pytest.mark.slow


async def wait_until(predicate, what: str):
    """Until `predicate()` returns a row: fails only when no job moves for a while."""
    return await waiting.until(predicate, bool, what, poll_seconds=0.2)


@pytest.fixture
def broker_url(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        require("redis")
        return REDIS_URL
    require("rabbitmq")
    return RABBIT_URL


@pytest.fixture
def job_queue(broker_url: str):
    """A queue of this test's own on the shared broker, removed afterwards."""
    name = f"jobs-test-{uuid.uuid4().hex[:6]}"
    yield name
    forget_queue(broker_url, name)


async def test_a_killed_worker_delays_a_job_but_never_loses_or_doubles_it(
    db, broker_url, job_queue, tmp_path, monkeypatch
):
    # The test process has no broker connection of its own: its send goes nowhere,
    # exactly like a message lost in a broker restart. The workers' sweepers recover it.
    async def lost(job_id: int) -> None:
        return None

    monkeypatch.setattr("workers.broker.send_job", lost)
    marker = f"crash-{uuid.uuid4().hex[:8]}"
    async with unit_of_work():
        job_id = await outbox.enqueue(
            SLOW_EFFECT, {"marker": marker, "steps": 40, "step_seconds": 0.1}, created_by="t"
        )
    queue_env = {
        "DATABASE_URL": db,
        "BROKER_URL": broker_url,
        "JOB_HANDLER_MODULES": "tests.support.slow_jobs",
        "JOB_LEASE_SECONDS": "2",
        "JOB_RESEND_SECONDS": "1",
        "SWEEP_INTERVAL_SECONDS": "0.5",
        "JOB_QUEUE": job_queue,
    }
    first = processes.start_worker(tmp_path / "worker1.log", **queue_env)
    try:
        running = await wait_until(
            lambda: _running_with_progress(job_id), "the first worker to start the job"
        )
        assert running["attempts"] == 1
    finally:
        processes.kill_group(first)  # SIGKILL: no cleanup, no ack
    assert (await job_row(job_id))["status"] == JobStatus.RUNNING

    second = processes.start_worker(tmp_path / "worker2.log", **queue_env)
    try:
        done = await wait_until(lambda: _done(job_id), "the second worker to finish the job")
    finally:
        processes.kill_group(second)
    assert done["attempts"] == 2
    effects = (
        await AuditEntry.count()
        .where((AuditEntry.action == "test.effect") & (AuditEntry.object_id == marker))
        .run()
    )
    assert effects == 1


async def _running_with_progress(job_id: int, attempt: int = 1) -> dict | None:
    """The job's row once `attempt` runs and has reported progress."""
    row = await job_row(job_id)
    running = row["status"] == JobStatus.RUNNING and row["attempts"] == attempt
    return row if running and row["progress"] > 0 else None


async def _done(job_id: int) -> dict | None:
    row = await job_row(job_id)
    return row if row["status"] == JobStatus.DONE else None


async def test_a_worker_signalled_twice_exits_instead_of_hanging(
    db, broker_url, job_queue, tmp_path, sent
):
    """systemd stops a service by sending SIGTERM to every process in it: each worker
    process gets one from systemd and one from dramatiq's main process, and dramatiq
    exits on the second from inside its graceful stop, mid-job. The process must end
    (its job's lease then expires and another worker takes the job)."""
    async with unit_of_work():
        job_id = await outbox.enqueue(
            SLOW_EFFECT, {"marker": "twice", "steps": 200, "step_seconds": 0.1}, created_by="t"
        )
    worker = processes.start_worker(
        tmp_path / "worker.log",
        DATABASE_URL=db,
        BROKER_URL=broker_url,
        JOB_HANDLER_MODULES="tests.support.slow_jobs",
        JOB_RESEND_SECONDS="1",
        SWEEP_INTERVAL_SECONDS="0.5",
        JOB_QUEUE=job_queue,
    )
    try:
        await wait_until(lambda: _running_with_progress(job_id), "the worker to start the job")
        os.killpg(worker.pid, signal.SIGTERM)  # the whole group, as systemd does
        exited = await asyncio.to_thread(_exits, worker, 30)
        assert exited, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        processes.kill_group(worker)


def _exits(proc, seconds: float) -> bool:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


async def test_a_job_that_kills_its_worker_twice_is_quarantined_not_run_again(
    db, broker_url, job_queue, tmp_path, sent
):
    """A job whose process dies under it (SIGKILL, as the out-of-memory killer does) is
    tried once more; when that process dies too, the next worker marks it failed and
    quarantined instead of running it a third time."""
    async with unit_of_work():
        job_id = await outbox.enqueue(
            SLOW_EFFECT, {"marker": "poison", "steps": 400, "step_seconds": 0.1}, created_by="t"
        )
    env = {
        "DATABASE_URL": db,
        "BROKER_URL": broker_url,
        "JOB_HANDLER_MODULES": "tests.support.slow_jobs",
        "JOB_LEASE_SECONDS": "2",
        "JOB_RESEND_SECONDS": "1",
        "SWEEP_INTERVAL_SECONDS": "0.5",
        "JOB_QUEUE": job_queue,
    }
    for attempt in (1, 2):
        worker = processes.start_worker(tmp_path / f"worker{attempt}.log", **env)
        try:
            running = await wait_until(
                lambda n=attempt: _running_with_progress(job_id, n), f"attempt {attempt} to run"
            )
            assert running["deaths"] == attempt - 1
        finally:
            processes.kill_group(worker)  # SIGKILL, mid-job

    third = processes.start_worker(tmp_path / "worker3.log", **env)
    try:
        failed = await wait_until(lambda: _failed(job_id), "the third worker to quarantine it")
    finally:
        processes.kill_group(third)
    assert failed["deaths"] == 2 and failed["attempts"] == 3 and failed["progress"] < 100
    assert failed["quarantined_at"] is not None and "died twice" in failed["error"]
    effects = (
        await AuditEntry.count()
        .where((AuditEntry.action == "test.effect") & (AuditEntry.object_id == "poison"))
        .run()
    )
    assert effects == 0


async def _failed(job_id: int) -> dict | None:
    row = await job_row(job_id)
    return row if row["status"] == JobStatus.FAILED else None


def beating_pid(beats: Path) -> int | None:
    """The worker process id in the slot's heartbeat file, once it beats."""
    try:
        text = (beats / "worker-0.beat").read_text()
    except FileNotFoundError:
        return None
    return int(text) if text.strip().isdigit() else None


async def test_the_supervisor_replaces_a_worker_process_killed_with_sigkill(
    db, broker_url, job_queue, tmp_path, sent
):
    beats = tmp_path / "beats"
    supervisor = processes.start_supervisor(
        tmp_path / "supervisor.log",
        beats,
        DATABASE_URL=db,
        BROKER_URL=broker_url,
        JOB_HANDLER_MODULES="tests.support.slow_jobs",
        JOB_RESEND_SECONDS="1",
        SWEEP_INTERVAL_SECONDS="0.5",
        JOB_QUEUE=job_queue,
    )
    try:
        first = await waiting.until(
            lambda: beating_pid(beats), bool, "the first worker to beat", poll_seconds=0.2
        )
        os.kill(first, signal.SIGKILL)
        second = await waiting.until(
            lambda: beating_pid(beats),
            lambda pid: pid not in (None, first),
            "a new worker to beat",
            poll_seconds=0.2,
        )
        assert processes.alive(second) and not processes.alive(first)
        assert supervisor.poll() is None  # the supervisor stays up
        async with unit_of_work():
            job_id = await outbox.enqueue(
                SLOW_EFFECT, {"marker": "after-kill", "steps": 2}, created_by="t"
            )
        done = await wait_until(lambda: _done(job_id), "the new worker to run a job")
        assert done["attempts"] == 1
    finally:
        processes.kill_tree(supervisor)
    assert "ended (code" in (tmp_path / "supervisor.log").read_text()


async def test_a_job_that_hangs_its_worker_gets_the_worker_replaced_then_is_quarantined(
    db, broker_url, job_queue, tmp_path, sent
):
    """A handler blocks its worker's event loop: the heartbeat stops, the supervisor
    kills the worker after a lease and starts another, which takes the job over (one
    death) and hangs too; the third worker quarantines it and runs the next job."""
    async with unit_of_work():
        stuck = await outbox.enqueue(BLOCKS_LOOP, {}, created_by="t")
    beats = tmp_path / "beats"
    supervisor = processes.start_supervisor(
        tmp_path / "supervisor.log",
        beats,
        DATABASE_URL=db,
        BROKER_URL=broker_url,
        JOB_HANDLER_MODULES="tests.support.slow_jobs",
        JOB_LEASE_SECONDS="4",
        JOB_RESEND_SECONDS="1",
        SWEEP_INTERVAL_SECONDS="0.5",
        JOB_QUEUE=job_queue,
    )
    try:
        failed = await wait_until(lambda: _failed(stuck), "the hanging job to be quarantined")
        assert failed["deaths"] == 2 and failed["quarantined_at"] is not None
        async with unit_of_work():
            later = await outbox.enqueue(
                SLOW_EFFECT, {"marker": "after-hang", "steps": 2}, created_by="t"
            )
        await wait_until(lambda: _done(later), "the replaced worker to run the next job")
        assert supervisor.poll() is None
    finally:
        processes.kill_tree(supervisor)
    log = (tmp_path / "supervisor.log").read_text()
    assert log.count("has not beaten for") == 2, log[-3000:]


async def test_sigterm_to_the_supervisor_lets_the_running_job_finish_then_exits(
    db, broker_url, job_queue, tmp_path, sent
):
    async with unit_of_work():
        job_id = await outbox.enqueue(
            SLOW_EFFECT, {"marker": "graceful", "steps": 30, "step_seconds": 0.1}, created_by="t"
        )
    supervisor = processes.start_supervisor(
        tmp_path / "supervisor.log",
        tmp_path / "beats",
        DATABASE_URL=db,
        BROKER_URL=broker_url,
        JOB_HANDLER_MODULES="tests.support.slow_jobs",
        JOB_RESEND_SECONDS="1",
        SWEEP_INTERVAL_SECONDS="0.5",
        JOB_QUEUE=job_queue,
    )
    try:
        await wait_until(lambda: _running_with_progress(job_id), "the worker to start the job")
        supervisor.send_signal(signal.SIGTERM)
        # The job has 2-3 s left; a stop that takes minutes is a hang.
        exited = await asyncio.to_thread(_exits, supervisor, 120)
    finally:
        processes.kill_tree(supervisor)
    assert exited and supervisor.returncode == 0, (tmp_path / "supervisor.log").read_text()[-3000:]
    done = await job_row(job_id)
    assert done["status"] == JobStatus.DONE and done["attempts"] == 1 and done["deaths"] == 0


async def test_workers_stop_when_their_supervisor_is_killed(
    db, broker_url, job_queue, tmp_path, sent
):
    beats = tmp_path / "beats"
    supervisor = processes.start_supervisor(
        tmp_path / "supervisor.log",
        beats,
        DATABASE_URL=db,
        BROKER_URL=broker_url,
        JOB_HANDLER_MODULES="tests.support.slow_jobs",
        JOB_QUEUE=job_queue,
    )
    try:
        worker = await waiting.until(
            lambda: beating_pid(beats), bool, "the worker to beat", poll_seconds=0.2
        )
        os.kill(supervisor.pid, signal.SIGKILL)  # the supervisor alone
        await waiting.until(
            lambda: processes.alive(worker), lambda up: not up, "the worker to stop", progress=None
        )
    finally:
        processes.kill_tree(supervisor)


async def test_a_healthy_job_beside_a_poison_one_runs_alone_once_and_is_not_quarantined(
    db, broker_url, job_queue, tmp_path, sent
):
    """A job kills its worker process while another runs beside it: both count a death.
    Each then runs alone, so the poison job's second death is its own: it is
    quarantined, and the healthy one finishes."""
    async with unit_of_work():
        healthy = await outbox.enqueue(
            SLOW_EFFECT, {"marker": "beside", "steps": 80, "step_seconds": 0.1}, created_by="t"
        )
    supervisor = processes.start_supervisor(
        tmp_path / "supervisor.log",
        tmp_path / "beats",
        DATABASE_URL=db,
        BROKER_URL=broker_url,
        JOB_HANDLER_MODULES="tests.support.slow_jobs",
        JOB_LEASE_SECONDS="2",
        JOB_RESEND_SECONDS="1",
        SWEEP_INTERVAL_SECONDS="0.5",
        JOB_QUEUE=job_queue,
    )
    try:
        await wait_until(lambda: _running_with_progress(healthy), "the healthy job to run")
        async with unit_of_work():
            poison = await outbox.enqueue(KILLS_WORKER, {}, created_by="t")
        quarantined = await wait_until(lambda: _failed(poison), "the poison job's quarantine")
        done = await wait_until(lambda: _done(healthy), "the healthy job to finish")
    finally:
        processes.kill_tree(supervisor)
    assert quarantined["deaths"] == 2 and quarantined["quarantined_at"] is not None
    assert "alone" in quarantined["error"]
    assert done["deaths"] == 1 and done["attempts"] == 2 and done["quarantined_at"] is None
    effects = (
        await AuditEntry.count()
        .where((AuditEntry.action == "test.effect") & (AuditEntry.object_id == "beside"))
        .run()
    )
    assert effects == 1


async def test_sigterm_hands_a_long_job_back_and_the_next_worker_runs_it_without_a_death(
    db, broker_url, job_queue, tmp_path, sent
):
    """A deploy stops a worker in the middle of a job longer than its stop grace: the job
    is handed back, not charged, and the next worker finishes it."""
    async with unit_of_work():
        job_id = await outbox.enqueue(
            SLOW_EFFECT, {"marker": "deploy", "steps": 100, "step_seconds": 0.1}, created_by="t"
        )
    env = {
        "DATABASE_URL": db,
        "BROKER_URL": broker_url,
        "JOB_HANDLER_MODULES": "tests.support.slow_jobs",
        "JOB_LEASE_SECONDS": "2",
        "JOB_RESEND_SECONDS": "1",
        "SWEEP_INTERVAL_SECONDS": "0.5",
        "JOB_STOP_GRACE_SECONDS": "1",
        "JOB_QUEUE": job_queue,
    }
    first = processes.start_worker(tmp_path / "worker1.log", **env)
    try:
        await wait_until(lambda: _running_with_progress(job_id), "the worker to start the job")
        first.send_signal(signal.SIGTERM)  # dramatiq's main process passes it on, once
        exited = await asyncio.to_thread(_exits, first, 120)
    finally:
        processes.kill_group(first)
    log = (tmp_path / "worker1.log").read_text()
    assert exited, log[-3000:]
    handed_back = await job_row(job_id)
    assert handed_back["status"] == JobStatus.PENDING, log[-3000:]
    assert handed_back["deaths"] == 0 and handed_back["lease_expires_at"] is None
    assert "handed back" in log

    second = processes.start_worker(tmp_path / "worker2.log", **env)
    try:
        done = await wait_until(lambda: _done(job_id), "the next worker to finish the job")
    finally:
        processes.kill_group(second)
    assert done["deaths"] == 0 and done["attempts"] == 2
    effects = (
        await AuditEntry.count()
        .where((AuditEntry.action == "test.effect") & (AuditEntry.object_id == "deploy"))
        .run()
    )
    assert effects == 1
