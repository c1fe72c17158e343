"""API throughput and latency at 64 concurrent connections, from a separate process
against a running server, on SQLite and on PostgreSQL.

    make bench            # both engines
    python bench/api.py --engines sqlite --seconds 5

Targets (issue 2): reads p99 <= 20 ms and >= 2,000 req/s; writes p99 <= 50 ms and
>= 500 req/s, on a 2-core machine.

Each case is driven twice:
- saturation (wrk): 64 connections each sending its next request as soon as the last
  is answered. This finds the most requests per second the server can serve; its
  latency is queueing by construction (throughput x mean latency = 64).
- at the target rate (wrk paced by its Lua `delay()` hook): 64 connections serving one
  Poisson arrival stream per wrk thread, the streams together offering the target's
  requests per second (2,000 reads/s, 500 writes/s). A connection that comes free
  waits for the next arrival (wrk counts whole milliseconds); an arrival that finds
  every connection busy is not queued but dropped, so a server that falls behind
  shows as a lower rate served, which the verdict checks (at least 97% of the
  offered rate). Latency runs from sending to the answer. The p99
  targets are judged here: a closed loop at saturation would turn "p99 <= 20 ms" into
  "more than 3,200 req/s", and the separate requests-per-second target would mean
  nothing. (hey's `-q` was used before: it paces each connection with its own ticker,
  started together, so all 64 connections fire in the same millisecond: a burst of 64
  every 125 ms rather than a rate.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import header_note  # noqa: E402
from tests.support import databases, processes  # noqa: E402
from tests.support.server import start_server  # noqa: E402

TARGETS = {"read": (20.0, 2000.0), "write": (50.0, 500.0)}

WRK_SCRIPT = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "Bearer {key}"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body}
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f\\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""

# Pacing: each wrk thread draws arrival times with exponential gaps (mean: threads /
# rate); a connection that is free asks delay() for the next arrival and waits for it.
# When every connection was busy past an arrival, the schedule restarts from now: the
# missed arrivals are dropped, and the rate served falls below the rate offered.
WRK_PACING = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct {{ long tv_sec; long tv_nsec; }} bench_timespec;
int clock_gettime(int clock, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("seed", threads)
end
local next_arrival = nil
local mean_gap_ms = {mean_gap_ms}
init = function(args)
  math.randomseed(seed * 7919)
end
delay = function()
  local now = now_ms()
  local gap = -math.log(1 - math.random()) * mean_gap_ms
  next_arrival = math.max((next_arrival or now) + gap, now)
  return next_arrival - now
end
"""


WRK_THREADS = 2


def run_wrk(
    url: str,
    key: str,
    method: str,
    body: str | None,
    seconds: int,
    conns: int,
    rate: float | None = None,
) -> dict:
    """wrk at saturation, or paced to offer `rate` requests/s in all (WRK_PACING)."""
    script = WRK_SCRIPT.format(method=method, key=key, body=json.dumps(body) if body else "nil")
    if rate is not None:
        script += WRK_PACING.format(mean_gap_ms=1000 * WRK_THREADS / rate)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", f"-t{WRK_THREADS}", f"-c{conns}", f"-d{seconds}s", "-s", f.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(f.name)
    requests, bad_status, socket_errors, duration, p50, p99 = re.search(
        r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)", out
    ).groups()
    return {
        "requests": int(requests),
        "non_2xx": int(bad_status),
        "socket_errors": int(socket_errors),
        "rps": int(requests) / float(duration),
        "p50_ms": float(p50),
        "p99_ms": float(p99),
    }


async def prepare_pg() -> str:
    return await databases.create_pg_database()


def bench_engine(engine: str, seconds: int, conns: int, workers: str) -> list[dict]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{engine}-"))
    env = {"LOG_LEVEL": "WARNING", "WEB_WORKERS": workers}
    pg_url = None
    if engine == "postgresql":
        pg_url = asyncio.run(prepare_pg())
        env["DATABASE_URL"] = pg_url
    server = start_server(data_dir, **env)
    try:
        key = server.credential("org enterprise")
        org_id = 1
        results = []
        # Warm up connections, pools and caches before measuring.
        run_wrk(f"{server.base}/api/v1/organisations", key, "GET", None, 2, conns)
        for op, method, path, body in (
            ("read", "GET", "/api/v1/organisations", None),
            ("write", "POST", f"/api/v1/organisations/{org_id}/api-keys", '{"label":"bench"}'),
        ):
            case = {"engine": engine, "op": op, "endpoint": f"{method} {path}"}
            r = run_wrk(server.base + path, key, method, body, seconds, conns)
            results.append({**case, "load": "saturation", **r})
            rate = TARGETS[op][1]
            r = run_wrk(server.base + path, key, method, body, seconds, conns, rate)
            results.append({**case, "load": f"{rate:g}/s offered", **r})
        return results
    finally:
        server.interrupt()
        shutil.rmtree(data_dir, ignore_errors=True)
        if pg_url:
            asyncio.run(databases.drop_pg_database(pg_url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--web-workers", default="2")
    args = parser.parse_args()
    engines = args.engines.split(",")
    unknown = sorted(set(engines) - {"sqlite", "postgresql"})
    if unknown:  # any other name would quietly bench the default (SQLite)
        parser.error(f"--engines: unknown {', '.join(unknown)}; known: sqlite, postgresql")
    if not shutil.which("wrk"):
        sys.exit("wrk not found: run `make setup` (it installs Debian's wrk)")
    print(
        f"# bench/api.py  {date.today()}  {platform.node()}  {os.cpu_count()} cores  "
        f"{args.connections} connections  {args.seconds}s each  "
        f"WEB_WORKERS={args.web_workers}  {header_note()}"
    )
    print(
        f"{'engine':<11} {'op':<6} {'load':<17} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>8}  verdict"
    )
    for engine in engines:
        for r in bench_engine(engine, args.seconds, args.connections, args.web_workers):
            print(
                f"{r['engine']:<11} {r['op']:<6} {r['load']:<17} {r['rps']:>8.0f} "
                f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['non_2xx']:>8}  {verdict(r)}"
            )


def verdict(r: dict) -> str:
    """Saturation is judged on throughput, the fixed rate on latency at that rate."""
    p99_max, rps_min = TARGETS[r["op"]]
    if r["non_2xx"] or r["socket_errors"]:
        return "MISSED (errors)"
    if r["load"] == "saturation":
        return f"{'met' if r['rps'] >= rps_min else 'MISSED'} (>= {rps_min:g}/s)"
    kept_up = r["rps"] >= 0.97 * rps_min  # the offered rate, less wrk's start and stop
    met = kept_up and r["p99_ms"] <= p99_max
    return f"{'met' if met else 'MISSED'} (p99 <= {p99_max:g} ms at >= {rps_min:g}/s)"


if __name__ == "__main__":
    del processes
    main()
