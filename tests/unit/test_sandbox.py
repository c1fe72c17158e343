"""kernel.sandbox with real child processes: a parse past its memory or CPU time, or a
child killed from outside, is an error naming why, never a dead or hung parent; what
the parse raises comes back as itself."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from kernel import sandbox
from kernel.errors import InvalidInput, TooLarge, TooManyRequests
from tests.support import held_parse

SMALL = sandbox.SandboxLimits(memory_mb=64, cpu_seconds=2)


@pytest.fixture
def patient(monkeypatch):
    """The parent waits five minutes for a reply: on a busy machine a child's 2 CPU
    seconds may take far more wall time, and the outcome asserted is the child's own."""
    monkeypatch.setattr(sandbox.SandboxLimits, "deadline_seconds", property(lambda self: 300.0))


def allocate(mb: int) -> int:
    return len(bytearray(mb << 20))


def spin() -> None:
    while True:
        pass


def pid_then_sleep() -> Iterator[int]:
    yield os.getpid()
    time.sleep(600)


def numbers(n: int) -> Iterator[int]:
    yield from range(n)


def pickled(item: object) -> list[bytes]:
    return [pickle.dumps(item)]


def unpickled(parts: list[bytes]) -> object:
    return pickle.loads(parts[0])


def refuse(kind: str) -> None:
    if kind == "too large":
        raise TooLarge("the file is too large 文件过大", field="file")
    raise InvalidInput.single("file", "the first row must be the header")


def test_a_parse_past_the_memory_limit_fails_with_the_limit_named():
    assert sandbox.run(allocate, 16, limits=SMALL) == 16 << 20
    with pytest.raises(sandbox.UnreadableFile, match="it needs more than 64 MB of memory"):
        sandbox.run(allocate, 200, limits=SMALL)
    assert sandbox.run(allocate, 16, limits=SMALL) == 16 << 20  # the next parse is fine


def test_a_parse_past_its_cpu_time_is_stopped_and_named(patient):
    with pytest.raises(sandbox.UnreadableFile, match="more than 2 s of CPU time"):
        sandbox.run(spin, limits=SMALL)


def test_a_child_killed_from_outside_is_reported_not_waited_for(patient):
    """Its death is the answer, not the deadline."""
    items = sandbox.stream(pid_then_sleep, encode=pickled, decode=unpickled, limits=SMALL)
    pid = next(items)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(sandbox.UnreadableFile, match="stopped by SIGKILL"):
        next(items)


def test_the_parent_stops_a_child_that_outlives_its_deadline(monkeypatch):
    monkeypatch.setattr(sandbox.SandboxLimits, "deadline_seconds", property(lambda self: 1.0))
    items = sandbox.stream(pid_then_sleep, encode=pickled, decode=unpickled, limits=SMALL)
    pid = next(items)
    with pytest.raises(sandbox.UnreadableFile, match="it took more than 1 s to read"):
        next(items)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_stream_yields_every_item_and_early_close_kills_the_child():
    assert list(sandbox.stream(numbers, 5, encode=pickled, decode=unpickled)) == [
        0,
        1,
        2,
        3,
        4,
    ]
    items = sandbox.stream(pid_then_sleep, encode=pickled, decode=unpickled, limits=SMALL)
    pid = next(items)
    items.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_domain_error_comes_back_with_its_field():
    with pytest.raises(TooLarge) as large:
        sandbox.run(refuse, "too large")
    assert large.value.details == {"field": "file"} and "文件过大" in large.value.message
    with pytest.raises(InvalidInput) as invalid:
        sandbox.run(refuse, "header")
    assert invalid.value.errors[0].field == "file"


def test_the_limits_come_from_the_environment():
    limits = sandbox.SandboxLimits.from_env(
        {"UPLOAD_PARSE_MEMORY_MB": "300", "UPLOAD_PARSE_CPU_SECONDS": "7"}
    )
    assert (limits.memory_mb, limits.cpu_seconds) == (300, 7)
    with pytest.raises(ValueError, match="UPLOAD_PARSE_MEMORY_MB must be 1 or more"):
        sandbox.SandboxLimits.from_env({"UPLOAD_PARSE_MEMORY_MB": "0"})


async def test_uploads_take_slots_past_which_a_request_is_refused_but_a_job_reads(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("UPLOAD_PARSE_CONCURRENCY", "1")
    monkeypatch.setenv("UPLOAD_PARSE_QUEUE_SECONDS", "0.2")
    started, release = tmp_path / "started", tmp_path / "release"
    holding = asyncio.create_task(sandbox.run_async(held_parse.hold, started, release))
    await held_parse.until_started(started, holding)
    assert sandbox.slots().busy == 1
    with pytest.raises(TooManyRequests) as refused:
        await sandbox.run_async(allocate, 1, limits=SMALL)
    assert refused.value.retry_after == 1 and refused.value.details["field"] == "file"
    assert "too many files are being checked; try again in 1 s" in refused.value.message
    # A job's read takes no slot: it runs while every slot is held.
    items = sandbox.stream(numbers, 3, encode=pickled, decode=unpickled, limits=SMALL)
    assert await asyncio.to_thread(list, items) == [0, 1, 2]
    assert await asyncio.to_thread(sandbox.run, allocate, 1, limits=SMALL) == 1 << 20
    assert sandbox.slots().busy == 1 and sandbox.slots().waiting == 0
    release.touch()
    assert await holding == "released"
    assert sandbox.slots().busy == 0
    # Collected from a stream inside call_async: one slot, not two.
    assert await sandbox.call_async(
        list, sandbox.stream(numbers, 2, encode=pickled, decode=unpickled)
    ) == [0, 1]


async def test_a_call_cancelled_while_queued_for_a_parse_thread_gives_its_slot_back(
    monkeypatch,
):
    monkeypatch.setenv("UPLOAD_PARSE_CONCURRENCY", "1")
    held = sandbox.slots()
    busy_thread, ran = threading.Event(), []
    held.executor.submit(busy_thread.wait)  # the one parse thread, busy without a slot
    call = asyncio.create_task(sandbox.call_async(ran.append, "ran"))
    while held.busy == 0:  # until it holds the slot and waits for the thread
        assert not call.done()
        await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    busy_thread.set()
    await asyncio.wrap_future(held.executor.submit(lambda: None))  # the queue drained
    assert held.busy == 0 and held.waiting == 0 and ran == []
    assert await sandbox.call_async(ran.append, "ran") is None and ran == ["ran"]
