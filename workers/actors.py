"""Dramatiq actors: thin, they load ids and call services.

`dramatiq workers.actors` starts worker processes; the middleware below binds the
database in each of them and runs a sweeper beside the consumers. Data files are checked
before any of that (app.data_files).
"""

from __future__ import annotations

import dramatiq

from app.data_files import check_data_files
from workers import runner
from workers.broker import QUEUE, broker, settings
from workers.kinds import load_handlers
from workers.process import WorkerProcessMiddleware

load_handlers()
check_data_files()

if not settings.embedded_broker:
    broker.add_middleware(WorkerProcessMiddleware(settings))


@dramatiq.actor(actor_name="run_job", queue_name=QUEUE, max_retries=0, time_limit=6 * 3600 * 1000)
async def run_job(job_id: int) -> None:
    await runner.execute(job_id, lease_seconds=settings.job_lease_seconds)
