"""A graceful stop of a worker (a deploy, Ctrl-C): no new job starts, running jobs get
JOB_STOP_GRACE_SECONDS to finish, and any still running then are cut off and handed
back instead of being left to lose their leases.

Cutting off cancels the job's task: its open transaction rolls back as the
cancellation passes through it, and only then does workers.runner hand the job back
(pending again, its lease cleared, the attempt counting neither as a death nor
against max_attempts), guarded by the attempt number like every write of the job.
A job whose handback cannot be written within HAND_BACK_SECONDS (the database is
gone, or the handler does not let go) keeps its lease, and is taken over once it
expires, as after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator

from workers.gate import GATE

log = logging.getLogger(__name__)

HAND_BACK_SECONDS = 10.0

_changed = threading.Condition()
_running: dict[asyncio.Task[object], asyncio.AbstractEventLoop] = {}
_cut_off: set[asyncio.Task[object]] = set()


@contextlib.contextmanager
def tracked() -> Iterator[None]:
    """Marks the current task as running a claimed job until the block ends."""
    task = asyncio.current_task()
    assert task is not None
    with _changed:
        _running[task] = asyncio.get_running_loop()
    try:
        yield
    finally:
        with _changed:
            _running.pop(task, None)
            _cut_off.discard(task)
            _changed.notify_all()


def was_cut_off() -> bool:
    """Whether the current task was cancelled by stop_jobs (not by anything else)."""
    with _changed:
        return asyncio.current_task() in _cut_off


def running() -> int:
    with _changed:
        return len(_running)


def stop_jobs(grace_seconds: float, hand_back_seconds: float = HAND_BACK_SECONDS) -> int:
    """Closes the gate, waits up to `grace_seconds` for the running jobs to finish,
    then cuts off those left and waits up to `hand_back_seconds` for their handbacks.
    Returns how many were cut off. Called from a thread that runs no job loop."""
    GATE.close()
    with _changed:
        _changed.wait_for(lambda: not _running, timeout=max(0.0, grace_seconds))
        late = dict(_running)
        _cut_off.update(late)
    if late:
        log.warning(
            "stopping: %d job(s) still running after %.0f s; handing them back",
            len(late),
            grace_seconds,
        )
    for task, loop in late.items():
        with contextlib.suppress(RuntimeError):  # its loop has closed
            loop.call_soon_threadsafe(task.cancel)
    with _changed:
        if not _changed.wait_for(lambda: not _running, timeout=hand_back_seconds):
            log.error("stopping: %d job(s) did not let go; their leases will lapse", len(_running))
    return len(late)
