"""Keeps N Dramatiq worker processes running: `python -m app worker`.

dramatiq's own main process stops every worker and exits when one of them dies, and
does nothing about one that hangs. Here each slot is a `dramatiq workers.actors
--processes 1` process group of its own, and the supervisor
- starts it again when it exits while the supervisor is not stopping (after a pause
  that grows while a slot keeps dying young, so a broken setup does not spin);
- kills (SIGKILL, the whole group) and starts again a worker whose event loop has not
  touched its heartbeat file (WORKER_HEARTBEAT_FILE, workers.process) for a job lease
  (JOB_LEASE_SECONDS): its async jobs run on that loop, so a stuck loop is a stuck
  job, and past the lease another worker may take that job over anyway (counting its
  worker's death, workers.runner.MAX_DEATHS);
- on SIGTERM or SIGINT passes SIGTERM to each slot's main process (once: a worker
  signalled twice stops mid-job) and waits for them to stop: each gives its running
  jobs JOB_STOP_GRACE_SECONDS and hands back those still running
  (workers.stopping), and dramatiq is told to wait that long for its threads.
A slot's main process exiting with dramatiq's "bad import or arguments" code stops
the supervisor: starting it again cannot help.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from workers.stopping import HAND_BACK_SECONDS

log = logging.getLogger("workers.supervisor")

BOOT_GRACE_SECONDS = 300.0  # imports, broker and database connections, before a beat
POLL_SECONDS = 0.5
RET_IMPORT = 2  # dramatiq.cli: a module import or an argument failed
PR_SET_PDEATHSIG = 1  # linux/prctl.h
MAX_PAUSE_SECONDS = 30.0
YOUNG_SECONDS = 30.0  # a slot that dies younger than this waits longer each time
SHUTDOWN_MARGIN_SECONDS = 10.0  # a worker's own stopping beside its jobs' grace


@dataclass
class Slot:
    number: int
    beat: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    quick_deaths: int = 0
    not_before: float = field(default=0.0)


class Supervisor:
    def __init__(
        self,
        processes: int,
        threads: int,
        heartbeat_dir: Path,
        hang_seconds: float,
        stop_grace_seconds: float = 30.0,
    ) -> None:
        self.threads = threads
        self.hang_seconds = hang_seconds
        self.stop_grace_seconds = stop_grace_seconds
        self.slots = [Slot(n, heartbeat_dir / f"worker-{n}.beat") for n in range(processes)]
        self.stopping = threading.Event()

    def run(self) -> int:
        for slot in self.slots:
            self._start(slot)
        while not self.stopping.is_set():
            for slot in self.slots:
                code = self._check(slot)
                if code is not None:
                    self.stop()
                    return code
            self.stopping.wait(POLL_SECONDS)
        self._stop_all()
        return 0

    def stop(self) -> None:
        self.stopping.set()

    def _start(self, slot: Slot) -> None:
        slot.beat.unlink(missing_ok=True)
        args = [sys.executable, "-m", "dramatiq", "workers.actors"]
        args += ["--processes", "1", "--threads", str(self.threads)]
        args += [
            "--worker-shutdown-timeout",
            str(int(shutdown_seconds(self.stop_grace_seconds) * 1000)),
        ]
        env = {**os.environ, "WORKER_HEARTBEAT_FILE": str(slot.beat)}
        slot.proc = subprocess.Popen(
            args, env=env, start_new_session=True, preexec_fn=_stop_with_parent
        )
        slot.started = time.monotonic()
        log.info("worker slot %d started (pid %d)", slot.number, slot.proc.pid)

    def _check(self, slot: Slot) -> int | None:
        """Restarts a dead or hung slot; returns an exit code to stop with, if any."""
        now = time.monotonic()
        if slot.proc is None:
            if now >= slot.not_before:
                self._start(slot)
            return None
        code = slot.proc.poll()
        if code is None:
            if self._hung(slot, now):
                log.error(
                    "worker slot %d (pid %d): its event loop has not beaten for %.0f s; "
                    "killing and replacing it",
                    slot.number,
                    slot.proc.pid,
                    self.hang_seconds,
                )
                _kill_group(slot.proc)
                code = slot.proc.wait()
            else:
                return None
        else:
            _kill_group(slot.proc)  # the worker process of a main process that exited
        if code == RET_IMPORT:
            log.critical("worker slot %d cannot start (exit code %d); stopping", slot.number, code)
            return code
        lived = now - slot.started
        slot.quick_deaths = slot.quick_deaths + 1 if lived < YOUNG_SECONDS else 0
        pause = min(MAX_PAUSE_SECONDS, 2.0 ** (slot.quick_deaths - 1)) if slot.quick_deaths else 0
        log.error(
            "worker slot %d (pid %d) ended (code %s) after %.0f s; starting it again in %.0f s",
            slot.number,
            slot.proc.pid,
            code,
            lived,
            pause,
        )
        slot.proc, slot.restarts, slot.not_before = None, slot.restarts + 1, now + pause
        if pause == 0:
            self._start(slot)
        return None

    def _hung(self, slot: Slot, now: float) -> bool:
        try:
            silent = time.time() - slot.beat.stat().st_mtime
        except FileNotFoundError:  # not booted yet
            return now - slot.started > BOOT_GRACE_SECONDS
        return silent > self.hang_seconds

    def _stop_all(self) -> None:
        running = [s.proc for s in self.slots if s.proc is not None and s.proc.poll() is None]
        for proc in running:
            try:
                os.kill(proc.pid, signal.SIGTERM)  # dramatiq's main passes it on, once
            except ProcessLookupError:
                continue
        for proc in running:
            proc.wait()
            _kill_group(proc)


def shutdown_seconds(stop_grace_seconds: float) -> float:
    """How long a worker may take to stop: its jobs' grace, their handbacks, and its
    own stopping. A process manager must wait at least this long before SIGKILL."""
    return stop_grace_seconds + HAND_BACK_SECONDS + SHUTDOWN_MARGIN_SECONDS


def _stop_with_parent() -> None:
    """In a slot's main process before it runs: SIGTERM when the supervisor dies (even
    by SIGKILL), so no slot outlives it unsupervised. Linux only; elsewhere a no-op."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def supervise(
    processes: int,
    threads: int,
    heartbeat_dir: Path | None,
    lease_seconds: int,
    stop_grace_seconds: float = 30.0,
) -> int:
    """Runs until SIGTERM or SIGINT; returns the exit code. A loop silent for a job
    lease is hung (at least 3 s: beats come every second)."""
    beats = heartbeat_dir or Path(tempfile.mkdtemp(prefix="worker-beats-"))
    beats.mkdir(parents=True, exist_ok=True)
    hang = max(3.0, float(lease_seconds))
    supervisor = Supervisor(max(1, processes), threads, beats, hang, stop_grace_seconds)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: supervisor.stop())
    log.info(
        "supervising %d worker process(es), %d thread(s) each; heartbeats in %s",
        len(supervisor.slots),
        threads,
        beats,
    )
    return supervisor.run()
