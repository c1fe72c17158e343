"""What the API process starts and stops: database binding and pool, the removal of
temporary files a crash left, the embedded worker (when there is no broker), and the
sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from app.settings import Settings
from audit.sealer import seal_pending
from kernel.db import bind_engine, close_pool, make_engine, start_pool
from kernel.spool import start_removing_stale

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if not app.state.get("engine_bound"):
        bind_engine(make_engine(settings.database_url))
    await start_pool(settings.pg_pool_size)
    start_removing_stale(settings.data_dir)
    worker = None
    stop_sweeping = asyncio.Event()
    sweeper = None
    if app.state.get("run_jobs", True):
        from workers.process import sweep_loop
        from workers.sweeper import sweep_once

        if settings.embedded_broker:
            from workers.embedded import EmbeddedWorker

            worker = EmbeddedWorker()
            worker.start()
            # A fresh in-memory queue holds nothing: re-send every pending job now.
            await sweep_once(resend_after_seconds=0)
        sweeper = asyncio.create_task(sweep_loop(settings, stop_sweeping))
    # Everything built so far (routes, schemas, handlers) lives as long as the process:
    # moving it out of the collector's sight keeps full collections short under load.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        stop_sweeping.set()
        if sweeper is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        if worker is not None:
            # Blocking join of worker threads; run it off the loop so their
            # in-flight jobs can still finish.
            await asyncio.to_thread(worker.stop)
        await seal_pending()
        await close_pool()
