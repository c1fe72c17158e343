"""Real worker processes for a bench: `dramatiq workers.actors`, as `make worker` starts
them, on a queue of the bench's own (RabbitMQ or Redis), against the bench's database. Jobs reach
them as in a deployment: a committed job row, then a message."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kernel.db import unit_of_work
from tests.support.services import forget_queue
from workers.outbox import enqueue
from workers.status import JobStatus
from workers.tables import Job

ROOT = Path(__file__).resolve().parents[1]
# One queue per bench process: workers.broker reads JOB_QUEUE once, at the first send.
QUEUE = f"bench-{uuid.uuid4().hex[:8]}"
DEADLINE_SECONDS = 3600
BROKERS = {"rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F", "redis": "redis://127.0.0.1:6379/0"}


@contextmanager
def running(
    database_url: str, processes: int, threads: int, broker: str = "rabbitmq"
) -> Iterator[list[int]]:
    """Starts the workers and waits until each has its database pool; yields their
    process ids. This process sends its jobs to their queue (set before the first
    send: workers.broker reads the environment once)."""
    queue = QUEUE
    if os.environ.setdefault("BROKER_URL", BROKERS[broker]) != BROKERS[broker]:
        raise SystemExit("one broker per bench process: workers.broker chose it at the first send")
    os.environ["JOB_QUEUE"] = queue
    log = Path(tempfile.mkstemp(prefix="bench-workers-", suffix=".log")[1])
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    args = ["--processes", str(processes), "--threads", str(threads)]
    main = subprocess.Popen(
        [str(ROOT / ".venv/bin/dramatiq"), "workers.actors", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group, so that a kill reaches its workers alone
    )
    try:
        yield _wait_for_pools(main, processes, log)
    finally:
        # The main process alone: it stops its workers (a second SIGTERM to a worker
        # makes dramatiq exit it mid-shutdown).
        main.send_signal(signal.SIGTERM)
        try:
            main.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(main.pid, signal.SIGKILL)
        forget_queue(BROKERS[broker], queue)
        log.unlink(missing_ok=True)


def _wait_for_pools(main: subprocess.Popen[bytes], processes: int, log: Path) -> list[int]:
    """The workers' ids once each holds its database pool's connections."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if main.poll() is not None:
            raise SystemExit(f"the workers exited: {log.read_text()[-2000:]}")
        children = _children(main.pid)
        if len(children) == processes and all(_connected(pid) for pid in children):
            return children
        time.sleep(0.5)
    raise SystemExit(f"the workers did not start: {log.read_text()[-2000:]}")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _connected(pid: int) -> bool:
    """Whether the worker has opened its pool (two connections at start) besides its
    broker's connection."""
    try:
        fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    return sum(fd.startswith("socket:") for fd in fds) >= 3


def reset_peak_rss(pids: list[int]) -> None:
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_mb(pids: list[int]) -> float:
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


async def run(kind: str, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Enqueues one job per payload at once and waits for all; their results."""
    async with unit_of_work():
        ids = [await enqueue(kind, p, created_by="bench") for p in payloads]
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        rows = await Job.select(Job.id, Job.status, Job.result, Job.error).where(Job.id.is_in(ids))
        failed = [r for r in rows if r["status"] == JobStatus.FAILED]
        if failed:
            raise SystemExit(f"job {failed[0]['id']} failed: {failed[0]['error']}")
        if all(r["status"] == JobStatus.DONE for r in rows):
            by_id = {r["id"]: json.loads(r["result"]) for r in rows}
            return [by_id[i] for i in ids]
        await asyncio.sleep(0.1)
    raise SystemExit(f"jobs {ids} not done after {DEADLINE_SECONDS} s")
