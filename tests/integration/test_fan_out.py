"""workers.fan_out: a parent job's children run by other workers or by the parent
itself, never twice, on SQLite and PostgreSQL."""

import asyncio
import json
from datetime import timedelta

import pytest

from kernel.clock import utcnow
from kernel.db import unit_of_work
from tests.conftest import unique
from tests.integration.test_jobs import effects
from tests.support import waiting
from tests.support.slow_jobs import FAILING, FAN_OUT, SLOW_EFFECT
from workers import fan_out, kinds, outbox, runner
from workers.status import JobStatus
from workers.tables import Job


@pytest.fixture(autouse=True)
def quick_take_over(monkeypatch):
    monkeypatch.setattr(fan_out, "TAKE_OVER_SECONDS", 0.3)


async def new_parent(markers: list[str], **payload) -> int:
    async with unit_of_work():
        return await outbox.enqueue(
            FAN_OUT, {"markers": markers, **payload}, created_by="staff:1:t"
        )


async def job(job_id: int) -> dict:
    return await Job.select().where(Job.id == job_id).first().run()


async def test_with_no_other_worker_the_parent_runs_every_child_itself(db, sent):
    markers = [unique("m"), unique("m")]
    parent = await new_parent(markers)
    await runner.execute(parent)
    done = await job(parent)
    assert done["status"] == JobStatus.DONE, done["error"]
    result = json.loads(done["result"])
    assert [r["effect_for"] for r in result["results"]] == markers
    assert sent[1:] == result["children"]  # each child was sent to the broker too
    for child, marker in zip(result["children"], markers, strict=True):
        row = await job(child)
        assert row["status"] == JobStatus.DONE and row["attempts"] == 1
        assert json.loads(row["payload"])["parent"] == parent
        assert row["created_by"] == f"job:{parent}:{FAN_OUT}"
        assert await effects(marker) == 1


async def test_a_child_another_worker_takes_runs_there_once(db, sent, monkeypatch):
    """A worker takes the second child a moment after its message arrives; the parent
    runs the first and leaves the second to it, and waits for it."""
    monkeypatch.setattr(fan_out, "TAKE_OVER_SECONDS", 3.0)
    markers = [unique("m"), unique("m")]
    parent = await new_parent(markers, step_seconds=0.5)
    elsewhere: list[int] = []

    async def other_worker() -> None:
        await waiting.until(  # until the parent has sent its children
            lambda: len(sent), lambda n: n == 3, "the children's messages"
        )
        await asyncio.sleep(0.3)  # busy with something else first
        ctx = await runner.claim(sent[2])
        assert ctx is not None, "the parent took the child its message went to a worker for"
        elsewhere.append(ctx.job_id)
        await kinds.handler_for(ctx.kind)(ctx)

    await asyncio.gather(runner.execute(parent), other_worker())
    result = json.loads((await job(parent))["result"])
    assert elsewhere == [result["children"][1]]
    assert [r["effect_for"] for r in result["results"]] == markers
    assert [r["attempt"] for r in result["results"]] == [1, 1]
    assert [await effects(m) for m in markers] == [1, 1]


async def test_a_retried_parent_reuses_its_children_and_takes_over_a_dead_ones(db, sent):
    """The parent's first attempt enqueued its children and died; so did the worker
    running the first child. The next attempt enqueues nothing new, takes the first
    child over once its lease has expired, and runs the second."""
    markers = [unique("m"), unique("m")]
    parent = await new_parent(markers)
    first_attempt = await runner.claim(parent)
    children = await fan_out.children(
        first_attempt, SLOW_EFFECT, [{"marker": m, "steps": 0} for m in markers]
    )
    assert await runner.claim(children[0]) is not None  # a worker that then died
    past = utcnow() - timedelta(seconds=1)
    await Job.update({Job.lease_expires_at: past}).where(Job.id.is_in([parent, children[0]])).run()

    second_attempt = await runner.claim(parent)
    again = await fan_out.children(
        second_attempt, SLOW_EFFECT, [{"marker": m, "steps": 0} for m in markers]
    )
    assert again == children
    results = await fan_out.results(second_attempt, children)
    assert [r["effect_for"] for r in results] == markers
    assert [r["attempt"] for r in results] == [2, 1]
    assert [await effects(m) for m in markers] == [1, 1]
    with pytest.raises(runner.LeaseLost):  # the first attempt can enqueue nothing more
        await fan_out.children(first_attempt, SLOW_EFFECT, [{"marker": unique("m")}])


async def test_a_child_that_fails_for_good_fails_the_parent_for_good(db, sent, monkeypatch):
    monkeypatch.setattr(runner, "RETRY_BACKOFF_SECONDS", (0, 0, 0, 0))
    parent = await new_parent([unique("m")], child_kind=FAILING)
    await runner.execute(parent)
    failed = await job(parent)
    assert failed["status"] == JobStatus.FAILED and failed["attempts"] == 1
    child = sent[1]
    assert failed["error"] == f"part 1 of 1 (job {child}) failed: boom on attempt 5"
    assert (await job(child))["status"] == JobStatus.FAILED


async def test_a_child_that_died_once_runs_alone_while_its_parent_waits_without_its_process(
    db, sent
):
    """The parent runs as a job of this process: it does not run a child that must run
    alone, and lets go of the process while it waits, so the child's own delivery,
    here too, runs it (a single worker would otherwise wait on itself for ever)."""
    markers = [unique("m"), unique("m")]
    parent = await new_parent(markers, step_seconds=0.3)
    earlier = await runner.claim(parent)  # an earlier attempt, handed back
    payloads = [{"marker": m, "steps": 1, "step_seconds": 0.3} for m in markers]
    children = await fan_out.children(earlier, SLOW_EFFECT, payloads)
    await (
        Job.update({Job.status: JobStatus.PENDING, Job.lease_expires_at: None})
        .where(Job.id == parent)
        .run()
    )
    await Job.update({Job.deaths: 1}).where(Job.id == children[0]).run()

    parent_run = asyncio.create_task(runner.execute(parent))
    try:
        await waiting.until(
            lambda: job(children[1]), lambda row: row["status"] == JobStatus.DONE, "child 2"
        )
        assert (await job(children[0]))["status"] == JobStatus.PENDING  # left to a worker
        await asyncio.wait_for(runner.execute(children[0]), 120)  # its delivery, here
        await asyncio.wait_for(parent_run, 120)
    finally:
        parent_run.cancel()
    done = await job(parent)
    assert done["status"] == JobStatus.DONE, done["error"]
    first = await job(children[0])
    assert first["attempts"] == 1 and first["deaths"] == 1
    assert [await effects(m) for m in markers] == [1, 1]
