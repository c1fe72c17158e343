"""What a standalone worker process needs besides its consumers: a bound database
(with a pool on the actors' event loop), a sweeper thread, and the removal of temporary
files a crash left."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from typing import Any

from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from app.logs import configure as configure_logging
from app.settings import Settings
from audit.sealer import seal_pending
from kernel.db import bind_engine, make_engine, start_pool
from kernel.spool import start_removing_stale
from workers.daily import run_due
from workers.sweeper import sweep_once

log = logging.getLogger(__name__)

BEAT_SECONDS = 1.0


class WorkerProcessMiddleware(Middleware):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def before_worker_boot(self, broker, worker):  # type: ignore[no-untyped-def]
        configure_logging(self.settings.log_level)
        bind_engine(make_engine(self.settings.database_url))
        start_removing_stale(self.settings.data_dir)

    def after_worker_boot(self, broker, worker):  # type: ignore[no-untyped-def]
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(start_pool(max_size=pool_size(self.settings, worker)))
            beat_file = os.environ.get("WORKER_HEARTBEAT_FILE")
            if beat_file:
                asyncio.run_coroutine_threadsafe(beat(Path(beat_file)), loop_thread.loop)
        self._thread = threading.Thread(target=self._sweep_forever, name="sweeper", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker, worker):  # type: ignore[no-untyped-def]
        self._stop.set()

    def _sweep_forever(self) -> None:
        asyncio.run(sweep_loop(self.settings, self._stop))


async def beat(path: Path) -> None:
    """Touches `path` every BEAT_SECONDS from the jobs' event loop, for as long as the
    process lives: workers.supervisor replaces a worker whose loop stops beating (a
    job blocking it). The file holds this process's id."""
    while True:
        _touch(path)  # on the loop itself, on purpose: a tiny write
        await asyncio.sleep(BEAT_SECONDS)


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except FileNotFoundError:
        path.write_text(str(os.getpid()))


def pool_size(settings: Settings, worker: Any) -> int:
    """Connections enough for every job thread at once: a job may hold one for its own
    transaction while its parts (an outcome import: OUTCOME_IMPORT_PARTS, all of them
    held until they commit together) or child jobs it runs beside it (a calculation
    run's two lanes: workers.fan_out) each hold another, and its lease heartbeat needs
    one more; two spare (the audit sealer, a
    connection a failed rollback did not return). A pool smaller than that could leave
    every thread waiting for a connection another thread holds."""
    per_job = max(settings.outcome_import_parts, 2) + 1
    return int(worker.worker_threads) * per_job + 2


async def sweep_loop(settings: Settings, stop: threading.Event | asyncio.Event) -> None:
    """Every SWEEP_INTERVAL_SECONDS until `stop` is set: re-send lost jobs, seal
    audit rows that no process sealed after its commit (it stopped first), and queue the
    day's daily tasks once their hour has come (DAILY_SCAN_HOUR; once a day in all)."""
    while not stop.is_set():
        try:
            await sweep_once(settings.job_resend_seconds)
            await seal_pending()
            await run_due(settings.daily_scan_hour)
        except Exception:
            log.exception("maintenance round failed; trying again next round")
        waited = 0.0
        while waited < settings.sweep_interval_seconds and not stop.is_set():
            await asyncio.sleep(0.2)
            waited += 0.2
