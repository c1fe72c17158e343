"""Outcome import: upload-to-done time and peak memory for a 1,000,000-row CSV report
(about 2% bad rows of several kinds) and a 100,000-row XLSX, through the real path
(HTTP upload to a running server, the outcome job, its embedded Dramatiq worker), on
SQLite and on PostgreSQL.

    make bench-import
    python bench/import_outcomes.py --rows 200000 --engines sqlite

Targets (issue 3): 1M rows in at most 15 s on SQLite and 10 s on PostgreSQL, peak RSS
at most 1.5 GB, on a 2-core machine.

    python bench/import_outcomes.py --engines postgresql --xlsx-rows 0 --floor

also times bare COPY of the rows the CSV's import stored, into a fresh database of the
same schema (bench/floor.py): what the database alone needs on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import xlsxwriter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import floor  # noqa: E402
from bench.machine import header_note  # noqa: E402
from registry.outcomes.columns import COLUMNS  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.server import start_server  # noqa: E402

TARGETS = {"sqlite": 15.0, "postgresql": 10.0}
RSS_TARGET_MB = 1536
REGIONS = ["441900", "440300", "440100", "445200", "440500", "450100", "430100", "510100"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红")
OCCUPATIONS = [
    ("6-18-02-04", "焊工"), ("6-31-01-03", "电工"), ("6-18-01-01", "车工"),
    ("6-20-03-02", "模具工"), ("4-01-05-01", "电子商务师"), ("6-05-01-01", "缝纫工"),
    ("4-03-02-01", "中式烹调师"), ("6-28-01-05", "工业机器人系统操作员"),
]  # fmt: skip
BAD_KINDS = ["checksum", "id_date", "no_name", "bad_date", "hours", "order", "passed", "cert"]


def generate(rows: int, seed: int = 7) -> pd.DataFrame:
    """A report as an institution would send it; ~2% of rows carry one mistake each."""
    rng = np.random.default_rng(seed)
    people = max(1, int(rows * 0.8))
    who = rng.integers(0, people, rows)
    # People: region, birth date, sequence; the check character computed per GB 11643.
    person_region = np.array(REGIONS)[np.arange(people) % len(REGIONS)]
    # One birth date per 1,000 people and a sequence within it: every ID distinct.
    births = np.datetime64("1966-01-01") + (np.arange(people) // 1000 * 37 % 14600).astype(
        "timedelta64[D]"
    )
    sequence = np.char.zfill((np.arange(people) % 1000).astype(str), 3)
    body = np.char.add(
        np.char.add(person_region, np.char.replace(births.astype(str), "-", "")), sequence
    )
    digits = np.frombuffer("".join(body.tolist()).encode(), dtype=np.uint8).reshape(-1, 17) - 48
    weights = np.array([pow(2, 17 - i, 11) for i in range(17)])
    check = np.array(list("10X98765432"))[(digits @ weights) % 11]
    ids = np.char.add(body, check)
    names = np.char.add(
        np.array(SURNAMES)[np.arange(people) % len(SURNAMES)],
        np.char.add(np.array(GIVEN)[(np.arange(people) // 7) % len(GIVEN)],
                    np.array(GIVEN)[(np.arange(people) // 211) % len(GIVEN)]),
    )  # fmt: skip
    occupation = rng.integers(0, len(OCCUPATIONS), rows)
    start = np.datetime64("2026-01-05") + rng.integers(0, 240, rows).astype("timedelta64[D]")
    end = start + rng.integers(5, 60, rows).astype("timedelta64[D]")
    passed = rng.random(rows) < 0.85
    with_cert = passed & (rng.random(rows) < 0.4)
    cert_date = end + rng.integers(3, 20, rows).astype("timedelta64[D]")
    frame = pd.DataFrame(
        {
            "id_number": ids[who],
            "name": names[who],
            "course": np.char.add(np.array([o[1] for o in OCCUPATIONS])[occupation], "技能提升班"),
            "occupation_code": np.array([o[0] for o in OCCUPATIONS])[occupation],
            "occupation_name": np.array([o[1] for o in OCCUPATIONS])[occupation],
            "hours": rng.integers(8, 400, rows).astype(str),
            "start_date": start.astype(str),
            "end_date": end.astype(str),
            "passed": np.where(passed, "是", "否"),
            "certificate_number": np.where(
                with_cert,
                np.char.add(f"ZS{seed:02d}", np.char.zfill(np.arange(rows).astype(str), 8)),
                "",
            ),
            "certificate_level": np.where(
                with_cert, rng.choice(["3", "4", "5", "高级工"], rows), ""
            ),
            "certificate_date": np.where(with_cert, cert_date.astype(str), ""),
            "certificate_issuer_code": "",
        }
    )
    bad = rng.random(rows) < 0.02
    kinds = rng.integers(0, len(BAD_KINDS), rows)
    for number, kind in enumerate(BAD_KINDS):
        hit = bad & (kinds == number)
        if kind == "checksum":
            frame.loc[hit, "id_number"] = frame.loc[hit, "id_number"].str.slice(0, 17) + "Y"
        elif kind == "id_date":
            frame.loc[hit, "id_number"] = "44190019901332" + frame.loc[hit, "id_number"].str.slice(
                14
            )
        elif kind == "no_name":
            frame.loc[hit, "name"] = ""
        elif kind == "bad_date":
            frame.loc[hit, "start_date"] = "2026-02-30"
        elif kind == "hours":
            frame.loc[hit, "hours"] = "0"
        elif kind == "order":
            frame.loc[hit, "end_date"] = "2026-01-01"
        elif kind == "passed":
            frame.loc[hit, "passed"] = "也许"
        elif kind == "cert":
            frame.loc[hit & with_cert, "certificate_level"] = ""
    frame.columns = [f"{c.zh}/{c.en}" for c in COLUMNS]
    return frame


def write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, list(frame.columns))
    for i, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        sheet.write_row(i, 0, values)
    workbook.close()


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the server and its children (the embedded worker runs inside it)."""
    total = 0.0
    for proc in [pid, *_children(pid)]:
        with contextlib.suppress(FileNotFoundError):  # a child that has exited
            for line in Path(f"/proc/{proc}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]) / 1024)
    return total


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(c) for c in found] + [g for c in found for g in _children(int(c))]


def run_import(base: str, key: str, path: Path, pid: int) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, timeout=600) as http:
        started = time.perf_counter()
        with open(path, "rb") as body:
            response = http.post(
                "/api/v1/outcome-reports",
                content=body,
                params={"filename": path.name},
                headers={**headers, "Content-Type": "application/octet-stream"},
            )
        response.raise_for_status()
        uploaded = time.perf_counter() - started
        report = response.json()
        while True:
            job = http.get(f"/api/v1/jobs/{report['job_id']}", headers=headers).json()
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        report = http.get(f"/api/v1/outcome-reports/{report['id']}", headers=headers).json()
    if job["status"] != "done":
        raise SystemExit(f"import failed: {job['error']}")
    phases = (job.get("result") or {}).get("seconds", {})
    return {
        "seconds": elapsed, "upload_s": uploaded, "rss_mb": peak_rss_mb(pid), "phases": phases,
        **report,
    }  # fmt: skip


# The tables an import stores, each with the column naming its person: the floor run
# splits them by person into as many transactions as the import's parts.
STORED = (("person", "id"), ("certificate", "person"), ("training_outcome", "person"))
STORED_FROM = ("organisation", "outcome_report")  # what they refer to, copied untimed


async def import_floor(source_url: str) -> float:
    """Seconds for bare COPY of the rows the import stored into a fresh database of the
    same schema, split by person into OUTCOME_IMPORT_PARTS transactions at once."""
    from app.migrate import migrate
    from app.settings import Settings
    from kernel.db import bind_engine, make_engine

    parts = Settings.from_env(dict(os.environ)).outcome_import_parts
    async with floor.connected(source_url) as source:
        before = [(t, await floor.dump(source, f"SELECT * FROM {t}")) for t in STORED_FROM]
        stored = [
            [
                (table, await floor.dump(
                    source, f"SELECT * FROM {table} WHERE coalesce({by}, 0) % {parts} = {k}"
                ))
                for table, by in STORED
            ]
            for k in range(parts)
        ]  # fmt: skip
    url = await databases.create_pg_database()
    try:
        bind_engine(make_engine(url))
        await migrate()
        await floor.copy_in(url, [before])
        await floor.settle(url)
        return await floor.copy_in(url, stored)
    finally:
        await databases.drop_pg_database(url)


def bench_engine(engine: str, files: list[Path], with_floor: bool = False) -> list[dict]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-import-{engine}-"))
    env = {"LOG_LEVEL": "WARNING", "WEB_WORKERS": "1"}
    pg_url = None
    if engine == "postgresql":
        pg_url = asyncio.run(databases.create_pg_database())
        env["DATABASE_URL"] = pg_url
    server = start_server(data_dir, **env)
    try:
        key = server.credential("org training_institution")
        results = [
            {"engine": engine, "file": f.name, **run_import(server.base, key, f, server.proc.pid)}
            for f in files
        ]
        server.interrupt()
        if with_floor and pg_url:
            results[0]["floor_s"] = asyncio.run(import_floor(pg_url))
        return results
    finally:
        server.interrupt()
        shutil.rmtree(data_dir, ignore_errors=True)
        if pg_url:
            asyncio.run(databases.drop_pg_database(pg_url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="PostgreSQL: also time bare COPY of the rows the CSV's import stored (bench/floor.py)",
    )
    args = parser.parse_args()
    if args.floor and args.xlsx_rows:
        parser.error("--floor times the CSV's rows alone: give --xlsx-rows 0 with it")
    work = Path(tempfile.mkdtemp(prefix="bench-import-files-"))
    try:
        t = time.perf_counter()
        csv_path = work / f"outcomes-{args.rows}.csv"
        generate(args.rows).to_csv(csv_path, index=False)
        files = [csv_path]
        made = f"{csv_path.stat().st_size / 1e6:.0f} MB CSV"
        if args.xlsx_rows:  # 0: the CSV alone
            xlsx_path = work / f"outcomes-{args.xlsx_rows}.xlsx"
            write_xlsx(generate(args.xlsx_rows, seed=11), xlsx_path)
            files.append(xlsx_path)
            made += f", {xlsx_path.stat().st_size / 1e6:.0f} MB XLSX"
        print(
            f"# bench/import_outcomes.py  {date.today()}  {platform.node()}  "
            f"{os.cpu_count()} cores  files made in {time.perf_counter() - t:.1f}s: {made}  "
            f"{header_note()}"
        )
        print(
            f"{'engine':<11} {'file':<22} {'rows':>8} {'accepted':>9} {'rejected':>8} "
            f"{'seconds':>8} {'upload':>7} {'rows/s':>8} {'peak RSS MB':>12}  target"
        )
        for engine in args.engines.split(","):
            for r in bench_engine(engine, files, args.floor):
                target = ""
                if r["file"].endswith(".csv") and args.rows >= 1_000_000:
                    ok = r["seconds"] <= TARGETS[engine] and r["rss_mb"] <= RSS_TARGET_MB
                    verdict = "met" if ok else "MISSED"
                    target = f"{verdict} (<= {TARGETS[engine]:g} s, <= {RSS_TARGET_MB} MB)"
                print(
                    f"{r['engine']:<11} {r['file']:<22} {r['total_rows']:>8} {r['accepted']:>9} "
                    f"{r['rejected']:>8} {r['seconds']:>8.1f} {r['upload_s']:>7.1f} "
                    f"{r['total_rows'] / r['seconds']:>8.0f} "
                    f"{r['rss_mb']:>12.0f}  {target}"
                )
                phases = ", ".join(f"{k} {v:.1f}s" for k, v in r["phases"].items())
                print(f"    phases: {phases}")
                if "floor_s" in r:
                    print(
                        f"    floor: bare COPY of the stored rows, same schema and parts: "
                        f"{r['floor_s']:.1f} s"
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
