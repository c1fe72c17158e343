"""Who may run beside whom in one process: ordinary jobs share the process, a suspect
runs alone.

A worker process runs several jobs at once (threads, one event loop). When one of
them kills the process (out of memory, a signal) or hangs its loop, every job it was
running loses its lease, and each is later taken over as abandoned with one more
death (workers.runner). A job that has died once therefore runs alone: it waits until
the jobs running here have finished, and no new one starts here meanwhile. Its second
death is then its own, and a healthy job charged once because it shared a process
with a poison one runs alone next time and succeeds.

One gate per process, shared by every event loop in it (the worker's loop, a test's):
its state sits behind a thread lock, and waiters are woken on their own loops.
A job run by a job of this process (workers.fan_out runs children itself) runs under
its parent's hold, so it never waits on the gate; a suspect cannot run so.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Hold:
    alone: bool
    owner: asyncio.Task[object] | None  # the task that entered: only it may park
    held: bool = True  # False while parked


_hold: ContextVar[Hold | None] = ContextVar("job_gate_hold", default=None)


class Gate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shared = 0
        self._alone = False
        self._waiting_alone = 0
        self._closed = False
        self._wakers: set[Callable[[], None]] = set()

    @property
    def waiting_alone(self) -> int:
        """Suspects waiting to run alone (tests watch it)."""
        with self._lock:
            return self._waiting_alone

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    def close(self) -> None:
        """A graceful stop: jobs not yet let in give up (they hold no claim), so their
        threads are free to stop; jobs already in are not disturbed."""
        with self._lock:
            self._closed = True
            self._wake()

    def reopen(self) -> None:
        with self._lock:
            self._closed = False

    async def _acquire(self, alone: bool, *, even_closed: bool = False) -> bool:
        """Waits its turn; False if the gate was closed meanwhile."""
        if alone:
            with self._lock:
                self._waiting_alone += 1
        try:
            return await self._wait_for_turn(alone, even_closed)
        finally:
            if alone:
                with self._lock:
                    self._waiting_alone -= 1
                    self._wake()  # ordinary jobs held back by this waiter may go on

    async def _wait_for_turn(self, alone: bool, even_closed: bool) -> bool:
        loop = asyncio.get_running_loop()
        while True:
            changed: asyncio.Future[None] = loop.create_future()

            def wake(future: asyncio.Future[None] = changed) -> None:
                with contextlib.suppress(RuntimeError):  # its loop has closed
                    loop.call_soon_threadsafe(_resolve, future)

            with self._lock:
                if self._closed and not even_closed:
                    return False
                if alone and not self._alone and self._shared == 0:
                    self._alone = True
                    return True
                # Ordinary jobs let a waiting suspect go first, or it could wait forever.
                if not alone and not self._alone and self._waiting_alone == 0:
                    self._shared += 1
                    return True
                self._wakers.add(wake)
            try:
                await changed
            finally:
                with self._lock:
                    self._wakers.discard(wake)

    def _release(self, alone: bool) -> None:
        with self._lock:
            if alone:
                self._alone = False
            else:
                self._shared -= 1
            self._wake()

    def _wake(self) -> None:
        for wake in list(self._wakers):
            wake()

    @contextlib.asynccontextmanager
    async def entered(self, alone: bool) -> AsyncIterator[bool]:
        """Yields whether the job may run: False once the gate is closed, and for a
        suspect inside a job of this process."""
        held = _hold.get()
        if held is not None:
            yield not alone
            return
        if not await self._acquire(alone):
            yield False
            return
        hold = Hold(alone, asyncio.current_task())
        token = _hold.set(hold)
        try:
            yield True
        finally:
            _hold.reset(token)
            if hold.held:
                self._release(alone)

    @contextlib.asynccontextmanager
    async def parked(self) -> AsyncIterator[None]:
        """Lets go of this task's hold while it only waits on jobs run elsewhere (a
        parent on its children): one of them may be a suspect that needs this process
        to itself. Taken back afterwards, after any suspect that went in meanwhile."""
        held = _hold.get()
        if held is None or held.owner is not asyncio.current_task():
            yield
            return
        self._release(held.alone)
        held.held = False
        try:
            yield
        finally:
            held.held = await self._acquire(held.alone, even_closed=True)


def holding() -> bool:
    """Whether this task runs inside a job of this process."""
    return _hold.get() is not None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


GATE = Gate()
