"""How many uploaded files one process parses at once (kernel.sandbox). A parse holds a
slot for as long as its child runs (up to minutes) and the child may take a GiB of
address space, so without a bound a burst of uploads would take every thread of the
default pool (logins, readiness checks) and the machine's memory.

Callers wait for a slot at most a given time and then give up (the request is told to
come back). They wait in one queue, served in arrival order; a freed slot passes
straight to the next waiter. Jobs' reads take no slot (kernel.sandbox)."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class _TaskWaiter:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[None] = self.loop.create_future()

    def wake(self) -> bool:
        try:
            self.loop.call_soon_threadsafe(self._settle)
        except RuntimeError:  # its loop is closed: nobody is waiting any more
            return False
        return True

    def _settle(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


class ParseSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held = 0
        self._lock = threading.Lock()
        self._queue: deque[Any] = deque()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def busy(self) -> int:
        return self._held

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @property
    def executor(self) -> ThreadPoolExecutor:
        """Threads for the parses of event-loop callers, one per slot: never the loop's
        default pool."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.limit, thread_name_prefix="parse")
            return self._executor

    def _take_or_queue(self, waiter: Any) -> bool:
        with self._lock:
            if self._held < self.limit and not self._queue:
                self._held += 1
                return True
            self._queue.append(waiter)
            return False

    def _leave(self, waiter: Any) -> bool:
        """True if the waiter was still queued (and now is not); False: a slot was
        already handed to it."""
        with self._lock:
            try:
                self._queue.remove(waiter)
            except ValueError:
                return False
            return True

    async def acquire_async(self, within: float) -> bool:
        """True once this task holds a slot; False if none came within `within` s."""
        waiter = _TaskWaiter()
        if self._take_or_queue(waiter):
            return True
        try:
            await asyncio.wait([waiter.future], timeout=within)
        except BaseException:  # cancelled: a slot handed over meanwhile goes on
            if not self._leave(waiter):
                self.release()
            raise
        return not self._leave(waiter)

    def release(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._held -= 1
                    return
                waiter = self._queue.popleft()  # the slot passes on, still held
            if waiter.wake():
                return
