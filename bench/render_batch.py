"""A batch's documents end to end, through the real job path: N approved claims (default
10,000) in a fresh PostgreSQL database, a batch built and approved by two finance users,
then Dramatiq worker processes (Redis broker) render and store a notice per line and the
summary. Timed from the approval's commit to the last document stored, with 1 and with
2 worker processes (a fresh batch for each). Target (issue 6): 10,000 notices in at most
6 minutes with 2 processes, and 2 processes close to twice as fast as 1.

    python bench/render_batch.py
    python bench/render_batch.py --notices 2000 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUEUE = f"bench-render-{uuid.uuid4().hex[:8]}"
os.environ.update(
    {
        "DATA_DIR": tempfile.mkdtemp(prefix="bench-render-batch-"),
        "BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/0"),
        "JOB_QUEUE": QUEUE,
    }
)

from batches import finance, seed  # noqa: E402  (bench/batches.py)

from certificates.tables import Document  # noqa: E402
from kernel.db import bind_engine, close_pool, make_engine, start_pool  # noqa: E402
from subsidies.batches import approval, building  # noqa: E402
from subsidies.batches.selection import Filters  # noqa: E402
from tests.support import databases, processes  # noqa: E402
from tests.support.services import require  # noqa: E402
from workers.kinds import load_handlers  # noqa: E402


async def one_run(url: str, notices: int, worker_count: int, scheme: str) -> float:
    await seed(notices, scheme)
    batch_id, _ = await building.build(finance(1), Filters(scheme=scheme))
    log = Path(os.environ["DATA_DIR"]) / f"workers-{worker_count}.log"
    workers = processes.start(
        [
            str(processes.VENV_BIN / "dramatiq"),
            "workers.actors",
            "--processes",
            str(worker_count),
            "--threads",
            "2",
        ],
        log,
        DATABASE_URL=url,
    )
    try:
        await asyncio.sleep(4)  # the workers import and connect before the clock starts
        started = time.perf_counter()
        await approval.approve(finance(2), batch_id)
        expected = notices + 1  # a notice per line and the summary
        while True:
            stored = await Document.count().where(Document.batch_id == batch_id).run()
            if stored >= expected:
                break
            if time.perf_counter() - started > 3600:
                raise RuntimeError(f"only {stored} of {expected} documents after an hour")
            await asyncio.sleep(1)
        seconds = time.perf_counter() - started
    finally:
        processes.kill_group(workers)
    print(
        f"{notices:,} notices + summary, {worker_count} worker process(es): {seconds:.0f} s "
        f"= {seconds / 60:.1f} min ({seconds * 1000 / notices:.0f} ms a notice); "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    require("postgresql")
    load_handlers()
    url = await databases.fresh_database("postgresql", Path(os.environ["DATA_DIR"]))
    bind_engine(make_engine(url))
    await start_pool(10)
    try:
        times = {}
        for count in args.processes:
            times[count] = await one_run(url, args.notices, count, f"bench_render_{count}")
        if 1 in times and 2 in times:
            print(f"speed-up with 2 processes: {times[1] / times[2]:.2f}x")
    finally:
        await close_pool()
        await databases.drop_pg_database(url)


if __name__ == "__main__":
    asyncio.run(main())
