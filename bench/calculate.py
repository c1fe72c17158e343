"""Calculation runs: 1,000,000 mixed SUBMITTED claims loaded from the database,
calculated and stored by the job "subsidies.calculate", on SQLite and PostgreSQL; and
the pure calculators alone on a generated frame.

    make bench-calculate
    python bench/calculate.py --claims 200000 --engines sqlite
    python bench/calculate.py --pure-only       # 1,000,000 rows per calculator

Claims: half skill-level claims (people with certificates and, for most, an insured
Dongguan employment; a fifth of them reach a second level in the same occupation, so the
difference rule applies; some are not employed and fail the policy's condition), half
internship months (placements of three months with host insurance; some partial months,
some not insured for the whole month). They are written straight into the tables in
bulk (executemany on SQLite, COPY on PostgreSQL); that setup is timed apart. Training
voucher claims are left out (their calculator needs vouchers and outcomes generated too).

Then one job per scheme runs in this process through workers.runner.execute (claim,
handler, done mark), timed together: rows, seconds, rows/s, peak RSS during the runs
(VmHWM, reset before them), and where the time went per phase.

Pure calculators: each scheme's `calculate` over a generated inputs frame (with its
traces), and the amount core alone (the policy's amount lookup plus
subsidies.calculators.caps.apply_cap's grouped cumulative cap).

Targets (issue 4): the run at most 20 s on SQLite and 15 s on PostgreSQL; the pure
calculator at least 1,500,000 rows/s.

With --workers N the jobs run instead on N real `dramatiq workers.actors` processes
(bench/worker_processes.py), as in a deployment: a run's lanes (PostgreSQL) go to any
of them. `make bench-calculate` runs SQLite in this process and PostgreSQL so.

With --floor (PostgreSQL), the bench also times bare COPY of the claims' columns out
and of the runs' results back in (bench/floor.py): the database's share alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import floor, worker_processes  # noqa: E402
from bench.machine import header_note  # noqa: E402
from kernel.db import (  # noqa: E402
    bind_engine,
    close_pool,
    make_engine,
    start_pool,
    unit_of_work,
)
from subsidies.calculators.caps import apply_cap  # noqa: E402
from subsidies.claims import calculation  # noqa: E402
from subsidies.claims import calculation_store as store  # noqa: E402
from subsidies.claims.submission import CALCULATE  # noqa: E402
from subsidies.policies import documents  # noqa: E402
from subsidies.schemes import calculator_for  # noqa: E402
from tests.support import databases  # noqa: E402
from workers import runner  # noqa: E402
from workers.kinds import load_handlers  # noqa: E402
from workers.tables import Job  # noqa: E402

TARGETS = {"sqlite": 20.0, "postgresql": 15.0}
PURE_TARGET = 1_500_000
OCCUPATIONS = ["6-18-02-04", "6-31-01-03", "6-18-01-01", "6-20-03-02", "6-28-01-05"]
NOW = datetime.now(UTC)


# -- data ----------------------------------------------------------------------------------


def generate(claims: int, seed: int = 4) -> dict[str, pd.DataFrame]:
    """Every row the runs need, with ids assigned here (so foreign keys are known)."""
    rng = np.random.default_rng(seed)
    n_skill = claims // 2
    n_intern = claims - n_skill
    # Skill level: a fifth of the people have two claims (level 4 then 3, same occupation).
    twice = n_skill // 5
    skill_people = n_skill - twice
    placements = -(-n_intern // 3)
    people = skill_people + placements
    person_id = np.arange(1, people + 1)
    birth = np.datetime64("1970-01-01") + rng.integers(0, 12_000, people).astype("timedelta64[D]")
    person = pd.DataFrame(
        {
            "id": person_id,
            "id_number": [f"441900{i:012d}" for i in person_id],
            "name": "张三",
            "birth_date": birth,
            "sex": "M",
            "hukou": np.where(rng.random(people) < 0.6, "non_local", "local"),
            "insured_months": rng.integers(0, 240, people),
            "fresh_graduate": False,
        }
    )
    n_orgs = 220
    organisation = pd.DataFrame(
        {
            "id": np.arange(1, n_orgs + 1),
            "name": [f"企业{i}" for i in range(n_orgs)],
            "org_type": ["evaluation_organisation"] * 20 + ["enterprise"] * (n_orgs - 20),
            "credit_code": [f"91441900{i:010d}" for i in range(n_orgs)],
            "town": "长安",
        }
    )
    issuers = np.arange(1, 21)
    employers = np.arange(21, n_orgs + 1)

    # Skill-level certificates and claims.
    first_holder = np.arange(1, skill_people + 1)
    second_holder = first_holder[:twice]
    holder = np.concatenate([first_holder, second_holder])
    first_level = rng.choice([4, 3, 2, 1], skill_people, p=[0.45, 0.35, 0.15, 0.05])
    first_level[:twice] = 4
    level = np.concatenate([first_level, np.full(twice, 3)])
    occupation_of_person = rng.integers(0, len(OCCUPATIONS), skill_people)
    occupation = np.array(OCCUPATIONS)[occupation_of_person[holder - 1]]
    issued = np.datetime64("2023-01-01") + rng.integers(0, 700, n_skill).astype("timedelta64[D]")
    issued[skill_people:] = issued[:twice] + np.timedelta64(200, "D")
    cert_id = np.arange(1, n_skill + 1)
    certificate = pd.DataFrame(
        {
            "id": cert_id,
            "person": holder,
            "occupation_code": occupation,
            "occupation_name": "职业",
            "level": level,
            "number": [f"Z{i:010d}" for i in cert_id],
            "issuer": issuers[cert_id % len(issuers)],
            "issued_on": issued,
            "route": "social_evaluation_organisation",
            "status": "valid",
        }
    )
    employed = rng.random(skill_people) < 0.95
    employment = pd.DataFrame(
        {
            "person": first_holder[employed],
            "employer": employers[first_holder[employed] % len(employers)],
            "started_on": np.datetime64("2020-01-01"),
            "insured": rng.random(int(employed.sum())) < 0.98,
        }
    )
    skill_claims = pd.DataFrame(
        {
            "scheme": "skill_level",
            "dedupe_key": [f"skill_level:{p}:{lv}" for p, lv in zip(holder, level, strict=True)],
            "person": holder,
            "claimant": None,
            "payee_kind": "person",
            "payee_organisation": None,
            "certificate": cert_id,
            "basis_date": issued,
            "details": "{}",
        }
    )

    # Internship placements (three months each) and one claim per month.
    placement_id = np.arange(1, placements + 1)
    intern = skill_people + placement_id
    host = employers[placement_id % len(employers)]
    start = np.datetime64("2025-03-01")
    end = np.datetime64("2025-05-31")
    insured_to = np.where(rng.random(placements) < 0.97, end, np.datetime64("2025-04-15")).astype(
        "datetime64[D]"
    )
    placement = pd.DataFrame(
        {
            "id": placement_id,
            "host": host,
            "person": intern,
            "school": "东莞技师学院",
            "programme": "百校千人-2025",
            "programme_id": 1,
            "start_date": start,
            "end_date": end,
            "insurance_reference": [f"INS{i}" for i in placement_id],
            "insured_from": start,
            "insured_to": insured_to,
        }
    )
    j = np.arange(n_intern)
    which = j // 3
    month = j % 3
    first_day = np.array(["2025-03-01", "2025-04-01", "2025-05-01"], dtype="datetime64[D]")[month]
    full = np.array([31, 30, 31])[month]
    days = np.where(rng.random(n_intern) < 0.1, rng.integers(1, 28, n_intern), full)
    months = np.array(["2025-03", "2025-04", "2025-05"])[month]
    intern_claims = pd.DataFrame(
        {
            "scheme": "internship",
            "dedupe_key": [
                f"internship:{p}:{m}" for p, m in zip(placement_id[which], months, strict=True)
            ],
            "person": intern[which],
            "claimant": host[which],
            "payee_kind": "organisation",
            "payee_organisation": host[which],
            "certificate": None,
            "basis_date": first_day,
            "details": [
                f'{{"days_attended":{d},"month":"{m}","placement_id":{p}}}'
                for d, m, p in zip(days, months, placement_id[which], strict=True)
            ],
        }
    )
    claim = pd.concat([skill_claims, intern_claims], ignore_index=True)
    claim.insert(0, "id", np.arange(1, len(claim) + 1))
    claim["budget_year"] = claim["basis_date"].to_numpy(dtype="datetime64[Y]").astype(int) + 1970
    return {
        "organisation": organisation,
        "person": person,
        "certificate": certificate,
        "employment": employment,
        "internship_programme": pd.DataFrame(
            {
                "id": [1],
                "name": ["百校千人-2025"],
                "name_key": ["百校千人2025"],
                "plan_year": [2025],
                "scheme": ["internship"],
                "monthly_rate_fen": [300_000],
                "max_months": [3],
                "cap_per_intern_fen": [900_000],
                "start_date": [start],
                "end_date": [end],
                "needs_review": [False],
            }
        ),
        "internship_placement": placement,
        "claim": claim,
    }


CONSTANTS = {
    "person": {"created_by": "bench", "created_at": NOW, "updated_at": NOW},
    "organisation": {"created_at": NOW},
    "certificate": {"created_by": "bench", "created_at": NOW},
    "employment": {"reported_by": "bench", "created_at": NOW},
    "internship_programme": {"created_by": "bench", "created_at": NOW, "updated_at": NOW},
    "internship_placement": {"created_by": "bench", "created_at": NOW, "updated_at": NOW},
    "claim": {
        "origin": "application",
        "status": "submitted",
        "submitted_by": "bench",
        "submitted_at": NOW,
        "updated_at": NOW,
    },
}
ORDER = [
    "organisation",
    "person",
    "certificate",
    "employment",
    "internship_programme",
    "internship_placement",
    "claim",
]


def _values(frame: pd.DataFrame, sqlite: bool) -> tuple[list[str], list[tuple[Any, ...]]]:
    columns, values = [], []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            days = column.to_numpy(dtype="datetime64[D]")
            values.append(days.astype(str).tolist() if sqlite else days.astype(object).tolist())
        elif column.dtype == bool:
            values.append(column.astype(int).tolist() if sqlite else column.tolist())
        else:
            values.append(column.tolist())
        columns.append(name)
    return columns, list(zip(*values, strict=True))


def insert_sqlite(path: str, data: dict[str, pd.DataFrame]) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA cache_size = -262144")
    try:
        for table in ORDER:
            frame = data[table].assign(**CONSTANTS[table])
            for name, value in CONSTANTS[table].items():
                if isinstance(value, datetime):
                    frame[name] = str(value)
            columns, rows = _values(frame, sqlite=True)
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        conn.commit()
        conn.execute("ANALYZE")
    finally:
        conn.close()


async def insert_postgres(url: str, data: dict[str, pd.DataFrame]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for table in ORDER:
            frame = data[table].assign(**CONSTANTS[table])
            columns, rows = _values(frame, sqlite=False)
            await conn.copy_records_to_table(table, records=rows, columns=columns)
            if "id" in columns:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    finally:
        await conn.close()
    # The steady state of claims submitted over weeks: vacuumed (hint bits and the
    # visibility map set), analysed and checkpointed. Otherwise the run's first reads
    # would set the hint bits of a million fresh rows, and autovacuum and a checkpoint
    # of the setup's writes would run during it. (The bench connects as a superuser.)
    await floor.settle(url)


# -- the runs ------------------------------------------------------------------------------


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot, to tell how much of the machine a
    run used: /proc/stat's user, nice, system, irq and softirq (guest time is inside
    user; steal is the host's)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    busy = user + nice + system + irq + softirq
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def new_job(scheme: str) -> int:
    rows = await (
        Job.insert(
            Job(
                kind=CALCULATE,
                payload=json.dumps({"scheme": scheme}),
                status="pending",
                created_by="bench",
            )
        )
        .returning(Job.id)
        .run()
    )
    return rows[0]["id"]


async def finished(scheme: str, job_id: int) -> dict[str, Any]:
    job = await Job.select().where(Job.id == job_id).first().run()
    if job["status"] != "done":
        raise SystemExit(f"{scheme} run failed: {job['error']}")
    return json.loads(job["result"])


async def run_jobs(schemes: list[str]) -> list[dict[str, Any]]:
    """One job per scheme, one after the other, in this process."""
    results = []
    for scheme in schemes:
        job_id = await new_job(scheme)
        await runner.execute(job_id, lease_seconds=600)
        results.append(await finished(scheme, job_id))
    return results


def _warm() -> None:
    """A worker process starting up, before any job (workers of a deployment are up)."""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    load_handlers()


def _execute_elsewhere(url: str, job_id: int) -> float:
    """In a worker process of its own: runs the job; returns that process's peak RSS."""

    async def run() -> None:
        bind_engine(make_engine(url))
        await start_pool(4)
        try:
            await runner.execute(job_id, lease_seconds=600)
        finally:
            await close_pool()

    asyncio.run(run())
    return peak_rss_mb()


async def run_jobs_at_once(
    url: str, schemes: list[str]
) -> tuple[list[dict[str, Any]], float, float]:
    """One job per scheme, all at once, each in a worker process of its own (already
    started, as a deployment's workers are); returns the results, the seconds from
    the jobs' start to the last one's end, and the highest peak RSS among the workers."""
    job_ids = [await new_job(scheme) for scheme in schemes]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(schemes), mp_context=context) as pool:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(pool, _warm) for _ in schemes))
        started = time.perf_counter()
        peaks = await asyncio.gather(
            *(loop.run_in_executor(pool, _execute_elsewhere, url, j) for j in job_ids)
        )
        seconds = time.perf_counter() - started
    results = [await finished(s, j) for s, j in zip(schemes, job_ids, strict=True)]
    return results, seconds, max(peaks)


async def run_jobs_on_workers(
    url: str, schemes: list[str], workers: tuple[int, int, str], at_once: bool
) -> tuple[list[dict[str, Any]], float, float]:
    """One job per scheme, sent to `dramatiq` worker processes (processes, threads,
    broker),
    already started, as `make worker` runs them: one after the other, or all at once;
    returns the results, the seconds from the first job's start to the last one's end,
    and the highest peak RSS among the workers."""
    with worker_processes.running(url, *workers) as pids:
        worker_processes.reset_peak_rss(pids)
        started = time.perf_counter()
        if at_once:
            results = await worker_processes.run(CALCULATE, [{"scheme": s} for s in schemes])
        else:
            results = [(await worker_processes.run(CALCULATE, [{"scheme": s}]))[0] for s in schemes]
        seconds = time.perf_counter() - started
        return results, seconds, worker_processes.peak_rss_mb(pids)


# What a run reads of each claim (subsidies.claims.calculation_store.CLAIM_COLUMNS).
CLAIM_READ = (
    "id, person, claimant, payee_organisation, certificate, basis_date, budget_year, "
    "details, status, amount_fen, cap_key"
)


async def calculation_floor(url: str, lanes: int) -> tuple[float, float]:
    """Seconds to read the claims out and to COPY the runs' calculations back in, bare,
    each split into `lanes` at once (bench/floor.py): a floor under the run's loading
    of claims and storing of results, without its inputs, caps or traces."""
    async with floor.connected(url) as conn:
        parts = [
            [("claim_calculation", await floor.dump(
                conn, f"SELECT * FROM claim_calculation WHERE claim % {lanes} = {k}"
            ))]
            for k in range(lanes)
        ]  # fmt: skip
        await conn.execute("TRUNCATE claim_calculation")
    await floor.settle(url)
    reads = [f"SELECT {CLAIM_READ} FROM claim WHERE id % {lanes} = {k}" for k in range(lanes)]
    return await floor.read_out(url, reads), await floor.copy_in(url, parts)


async def bench_engine(
    engine: str,
    claims: int,
    pure_rows: int,
    runs: bool,
    at_once: bool = False,
    with_floor: bool = False,
    workers: tuple[int, int, str] = (0, 0, ""),
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-calculate-{engine}-"))
    url = (
        f"sqlite:///{work / 'bench.sqlite'}"
        if engine == "sqlite"
        else await databases.create_pg_database()
    )
    try:
        bind_engine(make_engine(url))
        from app.migrate import migrate

        await migrate()
        started = time.perf_counter()
        data = generate(claims)
        schemes = sorted(data["claim"]["scheme"].unique())
        if engine == "sqlite":
            insert_sqlite(url.removeprefix("sqlite:///"), data)
        else:
            await insert_postgres(url, data)
        setup = time.perf_counter() - started
        del data
        await start_pool(4)
        pure: list[tuple[str, int, float]] = []
        if pure_rows:
            frames = {scheme: await real_inputs(scheme, pure_rows) for scheme in schemes}
            pure = bench_pure(frames)
            del frames
        gc.collect()
        if not runs:
            await close_pool()
            return {"engine": engine, "pure": pure}
        calculation.TIMINGS.clear()
        reset_peak_rss()
        busy, own = machine_busy_seconds(), own_cpu_seconds()
        if workers[0]:
            results, seconds, rss = await run_jobs_on_workers(url, schemes, workers, at_once)
        elif at_once:
            results, seconds, rss = await run_jobs_at_once(url, schemes)
        else:
            started = time.perf_counter()
            results = await run_jobs(schemes)
            seconds = time.perf_counter() - started
            rss = peak_rss_mb()
        await close_pool()
        cpu = (own_cpu_seconds() - own, machine_busy_seconds() - busy)
        bare = None
        if with_floor and engine == "postgresql":
            bare = await calculation_floor(url, calculation.LANES_POSTGRESQL)
        return {
            "engine": engine,
            "rows": sum(r["claims"] for r in results),
            "seconds": seconds,
            "rss_mb": rss,
            "setup_s": setup,
            "results": results,
            "phases": dict(calculation.TIMINGS),
            "cpu": cpu,
            "pure": pure,
            "floor": bare,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if engine == "postgresql":
            await databases.drop_pg_database(url)


# -- the pure calculators ------------------------------------------------------------------


def _policy(scheme: str) -> documents.Policy:
    found = documents.version_for(documents.load_defaults(), scheme, date(2025, 6, 1))
    assert found is not None
    return found


async def real_inputs(scheme: str, limit: int) -> pd.DataFrame:
    """The scheme's own load_inputs over the first `limit` claims of the database, as
    the run would see them (already_fen 0): the pure bench's frames, so they keep up
    with whatever the calculators read."""
    calculator = calculator_for(scheme)
    frames = []
    async with unit_of_work():
        basis = await store.submitted_basis(scheme, None)
        ids = basis["id"].to_numpy()[:limit]
        for start in range(0, len(ids), calculation.CHUNK):
            claims = await store.load_submitted(ids[start : start + calculation.CHUNK].tolist())
            claims = claims.drop(columns=["status", "amount_fen", "cap_key"])
            frames.append(await calculator.load_inputs(claims))
    inputs = pd.concat(frames).sort_index()
    inputs["already_fen"] = np.zeros(len(inputs), dtype=np.int64)
    return inputs


def amount_core(inputs: pd.DataFrame, policy: documents.Policy) -> np.ndarray:
    """The policy's amount per level (a lookup) and the per-person cap (grouped cumsum)."""
    by_level = np.zeros(7, dtype=np.int64)
    for key, fen in policy.parameters.amount_by_level_fen.items():
        by_level[int(key)] = fen
    level = inputs["level"].fillna(0).to_numpy(dtype=np.int64)
    capped, _ = apply_cap(
        by_level[level],
        inputs["person_id"].to_numpy(),
        inputs["already_fen"].to_numpy(dtype=np.int64),
        policy.parameters.cap_per_person_fen,
    )
    return capped


def bench_pure(frames: dict[str, pd.DataFrame]) -> list[tuple[str, int, float]]:
    out = []
    if "skill_level" in frames:
        skill = frames["skill_level"]
        started = time.perf_counter()
        amount_core(skill, _policy("skill_level"))
        seconds = time.perf_counter() - started
        out.append(("skill_level amount core (lookup + cap)", len(skill), seconds))
    for scheme, inputs in frames.items():
        calculate = calculator_for(scheme).calculate
        policy = _policy(scheme)
        started = time.perf_counter()
        result = calculate(inputs, policy)
        seconds = time.perf_counter() - started
        assert len(result) == len(inputs)
        out.append((f"{scheme} calculate() with traces", len(inputs), seconds))
    return out


def print_pure(results: list[tuple[str, int, float]]) -> None:
    print(f"  {'pure calculator':<40} {'rows':>9} {'seconds':>8} {'rows/s':>10}  target")
    for name, rows, seconds in results:
        verdict = "met" if rows / seconds >= PURE_TARGET else "MISSED"
        print(
            f"  {name:<40} {rows:>9} {seconds:>8.2f} {rows / seconds:>10.0f}  "
            f"{verdict} (>= {PURE_TARGET:,} rows/s)"
        )


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument(
        "--pure-rows", type=int, default=1_000_000, help="rows per scheme for the pure bench"
    )
    parser.add_argument(
        "--at-once",
        action="store_true",
        help="also run the schemes' jobs at once, each in a worker process of its own",
    )
    parser.add_argument(
        "--pure-only",
        action="store_true",
        help="only the pure calculators, --pure-rows rows each (SQLite data)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="PostgreSQL: also time bare COPY of the claims out and the results in "
        "(bench/floor.py)",
    )
    parser.add_argument(
        "--lanes",
        type=int,
        default=calculation.LANES_POSTGRESQL,
        help="PostgreSQL: lanes of one run (default the code's; 1: the claims one chunk "
        "after another, as before lanes)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run the jobs on this many `dramatiq workers.actors` processes (see "
        "--broker) instead of in this process: a run's lanes go to any of them",
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="with --workers: threads per worker process"
    )
    parser.add_argument(
        "--broker",
        choices=sorted(worker_processes.BROKERS),
        default="rabbitmq",
        help="with --workers: the broker that carries the jobs",
    )
    args = parser.parse_args()
    if args.workers and args.lanes != calculation.LANES_POSTGRESQL:
        parser.error("--lanes applies to this process only, not to --workers")
    calculation.LANES_POSTGRESQL = args.lanes
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    load_handlers()
    print(
        f"# bench/calculate.py  {date.today()}  {platform.node()}  {os.cpu_count()} cores  "
        f"{header_note()}"
    )
    if args.pure_only:
        # Half the generated claims are skill-level ones: generate enough that each
        # scheme's calculator gets --pure-rows rows.
        args.claims = max(args.claims, 2 * args.pure_rows)
        r = asyncio.run(bench_engine("sqlite", args.claims, args.pure_rows, runs=False))
        print(f"pure calculators, inputs loaded by the schemes from {args.claims} claims:")
        print_pure(r["pure"])
        return
    print(
        f"{'engine':<11} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'peak RSS MB':>12} "
        f"{'setup s':>8}  target"
    )
    engines = args.engines.split(",")
    unknown = sorted(set(engines) - set(TARGETS))
    if unknown:
        parser.error(f"--engines: unknown {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    for number, engine in enumerate(engines):
        pure_rows = args.pure_rows if number == 0 else 0
        workers = (args.workers, args.threads, args.broker)
        r = asyncio.run(
            bench_engine(
                engine, args.claims, pure_rows, runs=True, with_floor=args.floor, workers=workers
            )
        )
        target = ""
        if args.claims >= 1_000_000:
            verdict = "met" if r["seconds"] <= TARGETS[engine] else "MISSED"
            target = f"{verdict} (<= {TARGETS[engine]:g} s)"
        if args.workers:
            target += (
                f" on {args.workers} worker processes of {args.threads} threads ({args.broker})"
            )
        print_run(engine, r, target)
        if r["phases"]:  # kept by the process that ran the jobs
            print("    phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in r["phases"].items()))
        print_cpu(r, elsewhere=bool(args.workers))
        if r["floor"]:
            read, write = r["floor"]
            print(
                f"    floor: bare COPY of the claims out {read:.1f} s, of the results in "
                f"{write:.1f} s ({calculation.LANES_POSTGRESQL} at once)"
            )
        if r["pure"]:
            print_pure(r["pure"])
        if args.at_once:
            r = asyncio.run(
                bench_engine(engine, args.claims, 0, runs=True, at_once=True, workers=workers)
            )
            each = "on the workers" if args.workers else "a worker process each"
            print_run(f"{engine} *", r, f"* the schemes at once, {each}")
            print_cpu(r, elsewhere=True)


def print_cpu(r: dict[str, Any], elsewhere: bool = False) -> None:
    """CPU seconds of the run: of this process unless the jobs ran `elsewhere`, and of
    the whole machine."""
    own, machine = r["cpu"]
    mine = "" if elsewhere else f"this process {own:.1f} s, "
    print(
        f"    CPU: {mine}the whole machine {machine:.1f} s "
        f"of {os.cpu_count()} x {r['seconds']:.1f} s"
    )


def print_run(label: str, r: dict[str, Any], note: str) -> None:
    print(
        f"{label:<11} {r['rows']:>9} {r['seconds']:>8.1f} {r['rows'] / r['seconds']:>9.0f} "
        f"{r['rss_mb']:>12.0f} {r['setup_s']:>8.1f}  {note}"
    )
    for result in r["results"]:
        print(
            f"    {result['scheme']:<12} claims {result['claims']:>8}  "
            f"zero {result['zero']:>7}  total {result['total_fen'] / 100:>16,.2f} yuan"
        )


if __name__ == "__main__":
    main()
