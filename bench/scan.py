""" "Policy finds people" at Dongguan's scale: the automatic skill-level scan over
1,350,000 people and 2,000,000 certificates (with their employments), loaded straight
into a fresh database (PostgreSQL COPY; SQLite executemany), then scanned twice: the
first run proposes every entitlement, the second must create nothing.

    make bench-scan
    python bench/scan.py --people 200000 --certificates 300000 --engine sqlite

Target (issue 4): the scan in at most 60 s on PostgreSQL, on a 2-core machine. Loading
the data is not timed (it stands for years of registry work); ANALYZE runs after it, as
autovacuum would have on a live database.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kernel.db import bind_engine, close_pool, engine, is_sqlite, make_engine  # noqa: E402
from subsidies.skill_levels import scan  # noqa: E402
from tests.support import databases  # noqa: E402

TARGET_SECONDS = {"postgresql": 60.0}
OCCUPATIONS = ["6-18-02-04", "6-31-01-03", "6-18-01-01", "6-20-03-02", "4-01-05-01", "6-05-01-01"]
TOWNS = ["长安", "虎门", "东城", "南城", "松山湖", "塘厦", "常平", "大朗"]
NOW = "2026-07-01 00:00:00+00"


def generate(people: int, certificates: int, seed: int = 11) -> dict[str, pd.DataFrame]:
    """Registry tables as frames, with ids assigned (1..n) so rows can refer to each other."""
    rng = np.random.default_rng(seed)
    enterprises, issuers = 5_000, 200
    orgs = enterprises + issuers
    organisation = pd.DataFrame(
        {
            "id": np.arange(1, orgs + 1),
            "name": [f"企业{i}" for i in range(orgs)],
            "org_type": ["enterprise"] * enterprises + ["evaluation_organisation"] * issuers,
            # Unique per row (the benchmark does not check GB 32100 characters).
            "credit_code": [f"91441900B{i:09d}" for i in range(orgs)],
            "town": np.array(TOWNS)[np.arange(orgs) % len(TOWNS)],
            "created_at": NOW,
        }
    )
    birth = np.datetime64("1965-01-01") + rng.integers(0, 14_000, people).astype("timedelta64[D]")
    person = pd.DataFrame(
        {
            "id": np.arange(1, people + 1),
            # Unique per row (the benchmark does not check GB 11643 check characters).
            "id_number": [f"4419{i:014d}" for i in range(people)],
            "name": "张三",
            "birth_date": birth.astype(str),
            "sex": np.where(rng.random(people) < 0.5, "M", "F"),
            "hukou": np.where(rng.random(people) < 0.7, "non_local", "local"),
            "insured_months": rng.integers(0, 240, people),
            "fresh_graduate": False,
            "created_by": "bench",
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    # 85% of people are employed, a tenth of them twice (a change of job); 90% insured.
    employed = rng.permutation(people)[: int(people * 0.85)] + 1
    changed = employed[: len(employed) // 10]
    who = np.concatenate([employed, changed])
    n_jobs = len(who)
    start = np.datetime64("2014-01-01") + rng.integers(0, 4_000, n_jobs).astype("timedelta64[D]")
    ended = np.where(
        rng.random(n_jobs) < 0.25,
        (start + rng.integers(200, 2_000, n_jobs).astype("timedelta64[D]")).astype(str),
        "",
    )
    employment = pd.DataFrame(
        {
            "id": np.arange(1, n_jobs + 1),
            "person": who,
            "employer": rng.integers(1, enterprises + 1, n_jobs),
            "started_on": start.astype(str),
            "ended_on": ended,
            "insured": rng.random(n_jobs) < 0.9,
            "reported_by": "bench",
            "created_at": NOW,
        }
    )
    level = rng.choice([5, 4, 3, 2, 1], certificates, p=[0.25, 0.30, 0.25, 0.15, 0.05])
    issued = np.datetime64("2016-01-01") + rng.integers(0, 3_800, certificates).astype(
        "timedelta64[D]"
    )
    certificate = pd.DataFrame(
        {
            "id": np.arange(1, certificates + 1),
            "person": rng.integers(1, people + 1, certificates),
            "occupation_code": np.array(OCCUPATIONS)[
                rng.integers(0, len(OCCUPATIONS), certificates)
            ],
            "occupation_name": "职业",
            "level": level,
            "number": [f"B{i:011d}" for i in range(certificates)],
            "issuer": rng.integers(enterprises + 1, orgs + 1, certificates),
            "issued_on": issued.astype(str),
            "route": "social_evaluation_organisation",
            "status": np.where(rng.random(certificates) < 0.99, "valid", "revoked"),
            "created_by": "bench",
            "created_at": NOW,
        }
    )
    return {
        "organisation": organisation,
        "person": person,
        "employment": employment,
        "certificate": certificate,
    }


async def load_postgresql(url: str, tables: dict[str, pd.DataFrame]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for name, frame in tables.items():
            buffer = io.BytesIO()
            frame.to_csv(buffer, index=False, header=False)
            buffer.seek(0)
            # An empty field is NULL in CSV COPY (ended_on of an open employment).
            await conn.copy_to_table(name, source=buffer, columns=list(frame.columns), format="csv")
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {len(frame) + 1}, false)"
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def load_sqlite(path: str, tables: dict[str, pd.DataFrame]) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        for name, frame in tables.items():
            frame = frame.replace({"": None})
            columns = ", ".join(frame.columns)
            marks = ", ".join("?" for _ in frame.columns)
            rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False)
            conn.executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})", rows)
        conn.execute("ANALYZE")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_350_000)
    parser.add_argument("--certificates", type=int, default=2_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--keep", action="store_true", help="Keep the database (prints its URL).")
    args = parser.parse_args()

    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    url = await databases.fresh_database(args.engine, tmp)
    try:
        started = time.perf_counter()
        tables = generate(args.people, args.certificates)
        if args.engine == "postgresql":
            await load_postgresql(url, tables)
        else:
            load_sqlite(url.removeprefix("sqlite:///"), tables)
        sizes = ", ".join(f"{len(f):,} {n}" for n, f in tables.items())
        print(f"loaded {sizes} in {time.perf_counter() - started:.1f} s")
        del tables

        bind_engine(make_engine(url))
        assert is_sqlite(engine()) == (args.engine == "sqlite")
        for run in ("first", "second"):
            started = time.perf_counter()
            result = await scan.scan("bench:scan")
            seconds = time.perf_counter() - started
            print(
                f"{run} scan ({args.engine}): {seconds:.1f} s, {result['created']:,} claims created"
            )
            if run == "first":
                target = TARGET_SECONDS.get(args.engine)
                if target is not None:
                    verdict = "within" if seconds <= target else "OVER"
                    print(f"  target {target:.0f} s: {verdict}")
            elif result["created"]:
                print("  ERROR: the second scan created claims")
        await close_pool()
    finally:
        if args.keep:
            print(f"kept: {url}")
        elif args.engine == "postgresql":
            await databases.drop_pg_database(url)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
