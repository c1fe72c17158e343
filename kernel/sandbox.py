"""Parsing an uploaded file in a child process whose memory and CPU time are limited, so a
hostile file can only fail its own parse: never the API process or a worker.

`run(function, *args)` returns what `function(*args)` returns; `stream(function, *args,
decode=...)` yields what the generator `function(*args)` yields, each item encoded in the
child (`encode`, e.g. a frame as Arrow IPC) and decoded here. An exception the function
raises comes back as itself (a domain error keeps its field and details). A child that
runs out of memory or CPU time, is killed, or outlives the parent's deadline is an
`UnreadableFile` naming why; the callers say "the file could not be read: <why>".

Children come from a forkserver that has the parsing modules loaded: starting one is a
fork of a small single-threaded process (milliseconds), never a fork of the threaded,
asyncio, database-pooled process that asks.

A process runs at most UPLOAD_PARSE_CONCURRENCY uploads' parses at once
(kernel.parse_slots). From the event loop, `await run_async(...)` (or `call_async` for
code that reads a `stream` and collects it) waits for a slot at most
UPLOAD_PARSE_QUEUE_SECONDS, then is refused with 429 and Retry-After; the parse runs in
a thread of its own pool, never the loop's default one (logins, readiness checks).
`run` and `stream` called from other threads (jobs) take no slot: a worker runs at
most one child per job thread already, and a job waiting for a slot would block a
thread of the pool its own waiting runs in.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import math
import multiprocessing
import os
import pickle
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from kernel.errors import TooManyRequests
from kernel.parse_slots import ParseSlots

F_SETPIPE_SZ = 1031  # Linux fcntl
M_ARENA_MAX = -8  # glibc's mallopt parameter
MEMORY_EXIT = 86  # the child's exit code when even reporting its MemoryError failed
_PRELOAD = ["pyarrow", "pyarrow.csv", "pyarrow.compute", "pyarrow.ipc", "pandas"]
_PRELOAD += ["kernel.xlsx_rows", "kernel.file_limits"]
_context: Any = None
_context_lock = threading.Lock()
_slots: dict[tuple[int, int], ParseSlots] = {}  # by process and limit
_slots_lock = threading.Lock()

# Message tags, child to parent.
_ITEM, _RESULT, _ERROR, _MEMORY = b"I", b"R", b"E", b"M"


class UnreadableFile(ValueError):
    """The child reading a file failed as a process: out of memory, out of CPU time,
    killed, or past the deadline. The message says which, without a prefix."""


@dataclass(frozen=True)
class SandboxLimits:
    memory_mb: int = 1024  # address space the parse may add to the child's own
    cpu_seconds: int = 300

    @property
    def deadline_seconds(self) -> float:
        """What the parent waits for a reply, in total: on a busy machine a child gets
        part of a core, so well over its CPU time; a child that sleeps or blocks gets
        no more than this."""
        return 3.0 * self.cpu_seconds + 10

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SandboxLimits:
        env = dict(os.environ if env is None else env)
        return cls(
            memory_mb=_positive(
                "UPLOAD_PARSE_MEMORY_MB", env.get("UPLOAD_PARSE_MEMORY_MB", "1024")
            ),
            cpu_seconds=_positive(
                "UPLOAD_PARSE_CPU_SECONDS", env.get("UPLOAD_PARSE_CPU_SECONDS", "300")
            ),
        )


def _positive(name: str, text: str) -> int:
    number = int(text)
    if number < 1:
        raise ValueError(f"{name} must be 1 or more, not {text!r}")
    return number


def preload(*modules: str) -> None:
    """Modules the forkserver imports once, so each child has them at no cost; effective
    when called before the first parse (at import time of the caller)."""
    for name in modules:
        if name not in _PRELOAD:
            _PRELOAD.append(name)


def _forkserver() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            # The forkserver inherits the environment: there mimalloc (pyarrow's default
            # pool) must not reserve 1 GiB of address space at its first allocation.
            os.environ.setdefault("MIMALLOC_ARENA_RESERVE", "0")
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(_PRELOAD))
            _context = context
        return _context


def slots() -> ParseSlots:
    """This process's parse slots, UPLOAD_PARSE_CONCURRENCY of them."""
    limit = _positive("UPLOAD_PARSE_CONCURRENCY", os.environ.get("UPLOAD_PARSE_CONCURRENCY", "2"))
    key = (os.getpid(), limit)
    with _slots_lock:
        if key not in _slots:
            _slots[key] = ParseSlots(limit)
        return _slots[key]


def queue_seconds() -> float:
    """How long an event-loop caller waits for a slot before it is refused."""
    text = os.environ.get("UPLOAD_PARSE_QUEUE_SECONDS", "10")
    seconds = float(text)
    if not 0 <= seconds <= 3600:
        raise ValueError(f"UPLOAD_PARSE_QUEUE_SECONDS must be 0 to 3600, not {text!r}")
    return seconds


async def run_async(
    function: Callable[..., Any], *args: Any, limits: SandboxLimits | None = None
) -> Any:
    """`run` for the event loop: a slot within UPLOAD_PARSE_QUEUE_SECONDS or
    TooManyRequests (field `file`), then the parse in the slots' own threads."""
    return await call_async(_run, function, args, limits)


async def call_async(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` in a parse thread, holding a slot (waited for as in
    `run_async`): for code that reads a `stream` and collects it."""
    held = slots()
    wait = queue_seconds()
    if not await held.acquire_async(wait):
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"too many files are being checked; try again in {seconds} s "
            f"正在检查的文件过多，请 {seconds} 秒后重试",
            retry_after=seconds,
            field="file",
        )
    try:
        work = held.executor.submit(function, *args)
    except BaseException:
        held.release()
        raise
    # The slot goes back once the work is done or, cancelled with its caller while still
    # queued, never runs; a caller that goes away does not stop a running parse.
    work.add_done_callback(lambda _: held.release())
    return await asyncio.wrap_future(work)


def run(function: Callable[..., Any], *args: Any, limits: SandboxLimits | None = None) -> Any:
    """`function(*args)` in a limited child; its result (pickled) or its exception.
    Blocks: from the event loop, use `run_async`."""
    return _run(function, args, limits)


def _run(function: Callable[..., Any], args: tuple[Any, ...], limits: SandboxLimits | None) -> Any:
    child = _Child(function, args, None, limits or SandboxLimits.from_env())
    try:
        tag, parts = child.receive()
        if tag == _RESULT:
            return pickle.loads(parts[0])
        raise AssertionError(f"unexpected message {tag!r}")  # pragma: no cover
    finally:
        child.stop()


def stream(
    function: Callable[..., Iterator[Any]],
    *args: Any,
    encode: Callable[[Any], Sequence[Any]],
    decode: Callable[[list[bytes]], Any],
    limits: SandboxLimits | None = None,
) -> Iterator[Any]:
    """The items the generator `function(*args)` yields in a limited child, in order.
    The child runs at most one item ahead (the pipe is its buffer). `encode` (in the child) turns
    an item into parts (bytes-like: an Arrow buffer is sent without a copy), `decode`
    (here) the parts back into an item. Closing this generator early kills the child.
    It takes no slot: inside `call_async` that caller's slot covers it."""
    child = _Child(function, args, encode, limits or SandboxLimits.from_env())
    try:
        while True:
            tag, parts = child.receive()
            if tag == _RESULT:
                return
            yield decode(parts)
    finally:
        child.stop()


class _Child:
    def __init__(
        self,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        encode: Callable[[Any], Sequence[Any]] | None,
        limits: SandboxLimits,
    ) -> None:
        self.limits = limits
        self.waited = 0.0
        self.stopped = False
        context = _forkserver()
        self.reader, writer = context.Pipe(duplex=False)
        with contextlib.suppress(OSError):  # fewer switches per chunk of megabytes
            fcntl.fcntl(self.reader.fileno(), F_SETPIPE_SZ, 1 << 20)
        self.process = context.Process(
            target=_main,
            args=(writer, limits.memory_mb, limits.cpu_seconds, function, args, encode),
            daemon=True,
        )
        self.process.start()
        writer.close()  # the child holds the only writer: its death is our EOF

    def receive(self) -> tuple[bytes, list[bytes]]:
        """The next (tag, parts); an error the function raised is raised here."""
        header = self._next()
        tag, count = header[:1], int.from_bytes(header[1:], "little")
        parts = [self._next() for _ in range(count)]
        if tag == _ERROR:
            raise _rebuilt(parts[0])
        if tag == _MEMORY:
            raise self._memory()
        return tag, parts

    def _next(self) -> bytes:
        while True:
            remaining = self.limits.deadline_seconds - self.waited
            if remaining <= 0:
                self.stop()
                raise UnreadableFile(
                    f"it took more than {self.limits.deadline_seconds:.0f} s to read 读取文件超时"
                )
            started = time.monotonic()
            ready = wait([self.reader, self.process.sentinel], timeout=remaining)
            self.waited += time.monotonic() - started
            if self.reader in ready or self.reader.poll(0):
                try:
                    return self.reader.recv_bytes()
                except (EOFError, OSError):
                    raise self._death() from None
            if ready:  # only the sentinel: the child is gone and sent nothing more
                raise self._death()

    def _death(self) -> UnreadableFile:
        self.process.join(5)
        code = self.process.exitcode
        if code == MEMORY_EXIT:
            return self._memory()
        if code == -signal.SIGXCPU:
            return UnreadableFile(
                f"it took more than {self.limits.cpu_seconds} s of CPU time "
                f"读取文件耗时超过 {self.limits.cpu_seconds} 秒"
            )
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            return UnreadableFile(f"the process reading it was stopped by {name} 读取进程被终止")
        return UnreadableFile(
            f"the process reading it ended with exit code {code} 读取进程异常退出"
        )

    def _memory(self) -> UnreadableFile:
        mb = self.limits.memory_mb
        return UnreadableFile(f"it needs more than {mb} MB of memory 读取文件需要超过 {mb} MB 内存")

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.reader.close()
        self.process.close()


def _main(
    conn: Connection,
    memory_mb: int,
    cpu_seconds: int,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    encode: Callable[[Any], Sequence[Any]] | None,
) -> None:
    """The child: limits first, then the function; every outcome is one message."""
    try:
        _limit(memory_mb, cpu_seconds)
        if encode is None:
            result = pickle.dumps(function(*args), protocol=pickle.HIGHEST_PROTOCOL)
            _send(conn, _RESULT, [result])
        else:
            for item in function(*args):
                _send(conn, _ITEM, encode(item))
            _send(conn, _RESULT, [])
    except MemoryError:
        try:
            _send(conn, _MEMORY, [])
        except BaseException:
            os._exit(MEMORY_EXIT)
    except RuntimeError as exc:
        if "can't start new thread" not in str(exc):  # a thread's stack is address space
            _send(conn, _ERROR, [_portable(exc)])
        else:
            _send(conn, _MEMORY, [])
    except BrokenPipeError:
        pass  # the parent stopped reading: nobody to tell
    except BaseException as exc:
        _send(conn, _ERROR, [_portable(exc)])
    finally:
        conn.close()


def _limit(memory_mb: int, cpu_seconds: int) -> None:
    import pyarrow as pa

    # The system allocator fails an allocation past the limit with a MemoryError;
    # arenas that reserve address space up front would fail sooner and less clearly.
    pa.set_memory_pool(pa.system_memory_pool())
    # One malloc arena: each thread's own arena reserves 64 MB of address space.
    ctypes.CDLL(None).mallopt(M_ARENA_MAX, 1)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would otherwise dump core
    with open("/proc/self/statm") as statm:
        start = int(statm.read().split()[0]) * resource.getpagesize()
    memory = start + (memory_mb << 20)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime) + cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))  # SIGXCPU, then SIGKILL


def _send(conn: Connection, tag: bytes, parts: Sequence[Any]) -> None:
    """One message: its tag and number of parts, then each part as it is (a buffer is
    written to the pipe without a copy)."""
    conn.send_bytes(tag + len(parts).to_bytes(4, "little"))
    for part in parts:
        conn.send_bytes(part)


def _portable(exc: BaseException) -> bytes:
    """The exception as its class, args and attributes: pickling an exception keeps only
    its args, which would lose a domain error's field."""
    try:
        return pickle.dumps((type(exc), exc.args, dict(vars(exc))))
    except Exception:
        return pickle.dumps((RuntimeError, (f"{type(exc).__name__}: {exc}",), {}))


def _rebuilt(payload: bytes) -> BaseException:
    kind, args, attributes = pickle.loads(payload)
    exc = kind.__new__(kind)
    exc.args = args
    exc.__dict__.update(attributes)
    return exc
