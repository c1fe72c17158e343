"""Hostile spreadsheets and CSV files against a real server: each file is built in a temp
folder, uploaded through every route that takes a file (outcome reports, claim files,
internship month files), and the answer, the seconds to it (and to the job's end when
the answer is a job) and the server's peak RSS growth are printed per file. Targets:
every file answered 4xx, or with a job that fails or finishes cleanly, within 5 s; RSS
growth at most 300 MB; the server still answering /api/v1/health at the end. Files are
parsed in a child process (kernel/sandbox.py): its memory is not the server's.

    python bench/hostile_files.py            # the bombs at 100 MB, 1 GB and 2.4 GB
    python bench/hostile_files.py --quick    # the bombs at 100 MB only
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import header_note  # noqa: E402
from subsidies.internships.month_rows import COLUMNS as MONTH_COLUMNS  # noqa: E402
from tests.support import hostile_files as hostile  # noqa: E402
from tests.support.outcome_files import EN_HEADERS, csv_bytes, row  # noqa: E402
from tests.support.server import start_server  # noqa: E402

SECONDS_TARGET = 5.0
RSS_TARGET_MB = 300
CLAIM_HEADERS = [
    "身份证号/ID number",
    "人员ID/Person ID",
    "基准日期/Basis date",
    "证书ID/Certificate ID",
]
ROUTES = {
    # route: (path, query, credential label, header row, a data row)
    "outcomes": ("/api/v1/outcome-reports", {}, "org training_institution", EN_HEADERS, row(1)),
    "claims": (
        "/api/v1/claim-files",
        {"scheme": "skill_level"},
        "org enterprise",
        CLAIM_HEADERS,
        [row(2)[0], "", "", "1"],
    ),
    "months": (
        "/api/v1/internships/month-files",
        {},
        "org enterprise",
        [c.en for c in MONTH_COLUMNS],
        ["", row(3)[0], "", "", "2025-03", "20"],
    ),
}


def wide_csv(headers: list[str], data: list[str]) -> bytes:
    """500,000 columns in about 5 MB: the header and one row."""
    extra = ",".join("x" for _ in range(500_000 - len(headers)))
    return f"{','.join(headers)},{extra}\n{','.join(data)},{extra}\n".encode()


def nul_after_8k(headers: list[str], data: list[str]) -> bytes:
    copies = 8192 // len(",".join(data)) + 1
    return csv_bytes([data] * copies + [[data[0], "张\x00三", *data[2:]]], headers=headers)


def expanding_strings(copies: int) -> Callable[[list[str], list[str]], bytes]:
    """About 7 MB (under a claim file's 8 MiB) whose shared strings unpack to some 530 MB
    of XML (75 times, under the ratio limit) and, each holding a character outside the
    BMP, to 2 GB as Python text: the cell naming the last one comes after `copies` of
    the data row (1: the door reads it; 1,000: only the job does)."""

    def text(i: int) -> str:
        return hashlib.sha256(str(i).encode()).hexdigest() * 64 + "\U0001f600"

    return lambda h, d: hostile.hoarding_strings(h, d, text, 130_000, copies)


def files(quick: bool) -> list[tuple[str, str, Callable[[list[str], list[str]], bytes]]]:
    """(name, file name, builder from the route's header and data row)."""
    bombs = [100 << 20] if quick else [100 << 20, 1 << 30, int(2.4 * (1 << 30))]
    made: list[tuple[str, str, Callable[[list[str], list[str]], bytes]]] = [
        ("declares XFD1048576", "grid.xlsx",
         lambda h, d: hostile.declared_corner("XFD1048576", h, [d])),
        ("declares Z1048576", "grid.xlsx",
         lambda h, d: hostile.declared_corner("Z1048576", h, [d])),
        ("cell at Z1048576, declares A1:B2", "far.xlsx",
         lambda h, d: hostile.workbook(hostile.sheet_xml(
             [*hostile.table(h, [d]), (1048576, [(25, "x")])], dimension="A1:B2"))),
        ("cell at XFD1048576, no dimension", "far.xlsx",
         lambda h, d: hostile.workbook(hostile.sheet_xml(
             [*hostile.table(h, [d]), (1048576, [(16383, "x")])]))),
    ]  # fmt: skip
    for size in bombs:
        made.append(
            (
                f"ZIP bomb {size / (1 << 20):.0f} MB unpacked",
                "bomb.xlsx",
                lambda h, d, size=size: hostile.expanding_sheet(h, d, size),
            )
        )
    made += [
        ("CSV of 500,000 columns", "wide.csv", wide_csv),
        ("CSV field of 200 KiB", "long.csv",
         lambda h, d: csv_bytes([d, [*d[:-1], "x" * (200 << 10)]], headers=h)),
        ("CSV NUL after 8 KiB", "nul.csv", nul_after_8k),
        ("7 MB that expands to 2 GB, row 2", "strings.xlsx", expanding_strings(1)),
        ("7 MB that expands to 2 GB, row 1002", "strings.xlsx", expanding_strings(1000)),
    ]  # fmt: skip
    return made


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak(pid: int) -> None:
    """VmHWM back to the present RSS (Linux: 5 into clear_refs), so each file's peak is
    its own."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def upload(http: httpx.Client, key: str, route: str, body: bytes, name: str) -> tuple[str, float]:
    path, query, _, _, _ = ROUTES[route]
    headers = {"Authorization": f"Bearer {key}"}
    started = time.perf_counter()
    try:
        response = http.post(
            path,
            params={"filename": name, **query},
            content=body,
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
    except httpx.HTTPError as exc:
        return f"no answer: {type(exc).__name__}", time.perf_counter() - started
    answer = str(response.status_code)
    if response.status_code >= 400:
        reason = response.json().get("errors", [{}])[0].get("reason", response.text)
        answer += f" {reason[:70]}"
    elif response.status_code == 202:
        job_id = response.json()["job_id"]
        while True:
            job = http.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        answer += f" job {job['status']}"
        if job["status"] == "failed":
            answer += f": {job['error'][:60]}"
    return answer, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the 100 MB bomb only")
    args = parser.parse_args()
    print(f"machine: {header_note()}")
    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    server = start_server(work / "data", LOG_LEVEL="WARNING")
    failures = 0
    try:
        pid = server.proc.pid
        print(f"{'file':<36} {'bytes':>10} {'route':<9} {'s':>6} {'+RSS MB':>8}  answer")
        with httpx.Client(base_url=server.base, timeout=120) as http:
            for label, name, build in files(args.quick):
                for route, (_, _, who, headers, data) in ROUTES.items():
                    body = build(headers, data)
                    (work / name).write_bytes(body)
                    key = server.credential(who)
                    reset_peak(pid)
                    base = rss_kb(pid, "VmRSS")
                    answer, seconds = upload(http, key, route, body, name)
                    growth = (rss_kb(pid, "VmHWM") - base) / 1024
                    ok = (
                        seconds <= SECONDS_TARGET
                        and growth <= RSS_TARGET_MB
                        and not answer.startswith(("5", "no answer"))
                    )
                    failures += not ok
                    print(
                        f"{label:<36} {len(body):>10} {route:<9} {seconds:>6.2f} "
                        f"{growth:>8.0f}  {answer}{'' if ok else '  <-- MISSES TARGET'}"
                    )
            health = http.get("/api/v1/health")
        print(f"health after all files: {health.status_code} {health.text[:80]}")
        print(f"{failures} of the files missed a target")
    finally:
        server.interrupt()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
