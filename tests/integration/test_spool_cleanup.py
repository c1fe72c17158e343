"""Temporary files a crash left under DATA_DIR are removed when a process starts;
fresh ones (a write in progress elsewhere) and finished files are kept."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from app.factory import create_app
from kernel import spool
from tests.support import waiting
from tests.support.asgi import serve

LEFT = (
    "uploads/outcomes/.incoming-3f2a",
    "uploads/claim_files/.incoming-77aa",
    "documents/ab/cd/.incoming-91bc",
    "batches/B2026-0001/.B2026-0001-payment.csv.5e1f.part",
    "tmp/export-k2j3.xlsx",
)
KEPT = (
    "uploads/outcomes/0a1b.csv",  # a received report
    "documents/ab/cd/abcd.pdf",
    "batches/B2026-0001/B2026-0001-payment.csv",
    "registry.sqlite",
)
FRESH = ("uploads/outcomes/.incoming-in-progress", "tmp/export-being-written.xlsx")


def lay_out(data_dir: Path) -> None:
    two_hours_ago = time.time() - 7200
    for name in (*LEFT, *KEPT, *FRESH):
        path = data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 10)
        if name not in FRESH:
            os.utime(path, (two_hours_ago, two_hours_ago))


def present(data_dir: Path) -> set[str]:
    return {str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file()}


def test_only_old_temporary_files_are_removed(tmp_path):
    lay_out(tmp_path)
    removed = spool.remove_stale(tmp_path)
    assert {str(p.relative_to(tmp_path)) for p in removed} == set(LEFT)
    assert present(tmp_path) == {*KEPT, *FRESH}


async def test_an_api_process_start_removes_what_a_crash_left(db, settings, tmp_path):
    lay_out(tmp_path)
    app = create_app(replace(settings, data_dir=tmp_path), engine_bound=True, run_jobs=False)
    async with serve(app):
        left = await waiting.until(
            lambda: present(tmp_path) & set(LEFT),
            lambda names: not names,
            "the start's clean-up",
            progress=None,
        )
    assert left == set() and {*KEPT, *FRESH} <= present(tmp_path)
