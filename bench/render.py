"""Document rendering figures (issue 6).

    make bench-render
    python bench/render.py --notices 1000 --summary-lines 10000 --end-to-end 10000

1. Notices in a warm worker: 1,000 sample notices rendered the way the batch jobs do
   (50 laid out as one HTML document, split into one PDF each), after a warm-up;
   milliseconds per notice amortised, and the process's RSS afterwards.
2. A 10,000-line batch summary: seconds for the one PDF.
3. End to end without the database: N notices rendered and stored (content-addressed
   files) by 1 and by 2 worker processes, each process warm-up included, as the
   batch jobs do after their totals check.

Targets: at most 65 ms per notice, RSS at most 250 MB after 1,000 notices, the
10,000-line summary in at most 30 s, 10,000 notices end to end in at most 6 minutes
with 2 processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certificates import rendering, samples, storage
from certificates.batch_jobs import NOTICES_PER_LAYOUT


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def render_range(first: int, last: int, folder: str) -> int:
    done = 0
    for start in range(first, last, NOTICES_PER_LAYOUT):
        notices = [
            samples.sample_notice(i) for i in range(start, min(last, start + NOTICES_PER_LAYOUT))
        ]
        for pdf in rendering.render_notices(notices):
            storage.store(Path(folder), pdf)
            done += 1
    return done


def warm_worker(count: int) -> None:
    rendering.render_notices([samples.sample_notice(i) for i in range(5)])  # warm-up
    started, cpu = time.perf_counter(), time.process_time()
    sizes = 0
    for start in range(0, count, NOTICES_PER_LAYOUT):
        notices = [
            samples.sample_notice(i) for i in range(start, min(count, start + NOTICES_PER_LAYOUT))
        ]
        sizes += sum(len(p) for p in rendering.render_notices(notices))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"notices, warm worker: {count} in {seconds:.1f} s = {seconds / count * 1000:.1f} ms "
        f"per notice (target <= 65), CPU {cpu / count * 1000:.1f} ms; "
        f"RSS after: {rss_mb():.0f} MB (target <= 250); "
        f"mean PDF {sizes / count / 1024:.0f} KiB",
        flush=True,
    )


def summary(lines: int) -> None:
    data = samples.sample_summary(lines)
    started, cpu = time.perf_counter(), time.process_time()
    pdf = rendering.render_summary(data)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"summary: {lines} lines in {seconds:.1f} s (target <= 30), CPU {cpu:.1f} s; "
        f"{len(pdf) / 1024 / 1024:.1f} MiB; RSS {rss_mb():.0f} MB",
        flush=True,
    )


def end_to_end(count: int, processes: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        bounds = [(count * i // processes, count * (i + 1) // processes) for i in range(processes)]
        started = time.perf_counter()
        ctx = multiprocessing.get_context("spawn")  # fresh workers, each with its own warm-up
        with ctx.Pool(processes) as pool:
            done = sum(pool.starmap(render_range, [(a, b, folder) for a, b in bounds]))
        seconds = time.perf_counter() - started
    print(
        f"end to end (render + store, no database): {done} notices, {processes} process(es): "
        f"{seconds:.0f} s = {seconds / 60:.1f} min; load average now {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notices", type=int, default=1000)
    parser.add_argument("--summary-lines", type=int, default=10_000)
    parser.add_argument("--end-to-end", type=int, default=0, help="notices; 0 skips it")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    # Wall time on a shared machine includes other processes' turns; CPU time does not.
    warm_worker(args.notices)
    if args.summary_lines:
        summary(args.summary_lines)
    if args.end_to_end:
        for processes in (1, 2):
            end_to_end(args.end_to_end, processes)


if __name__ == "__main__":
    main()
