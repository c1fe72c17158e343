"""Removing the temporary files a crash left under DATA_DIR.

Files are written beside their final place under a temporary name and renamed when
complete (uploads and stored documents: `.incoming-…`; payment files: `.….part`); XLSX
exports are built in DATA_DIR/tmp. A process killed mid-write leaves these behind, and
an upload spool can be hundreds of MiB. Each process start removes those untouched for
STALE_SECONDS: a file still being written by another process (an upload in progress on
another API process or host sharing DATA_DIR) has a fresh modification time, since
every received chunk is written at once."""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

STALE_SECONDS = 3600.0
TEMPORARY_NAMES = (".incoming-*", ".*.part")  # anywhere under DATA_DIR
TMP_FOLDER = "tmp"  # everything in it is temporary


def stale_files(data_dir: Path, older_than: float = STALE_SECONDS) -> list[Path]:
    """Temporary files under `data_dir` last modified more than `older_than` s ago."""
    cutoff = time.time() - older_than
    found = []
    for folder, _dirs, names in os.walk(data_dir):  # symlinks not followed
        in_tmp = Path(folder) == data_dir / TMP_FOLDER
        for name in names:
            if not in_tmp and not any(fnmatch.fnmatch(name, p) for p in TEMPORARY_NAMES):
                continue
            path = Path(folder) / name
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    found.append(path)
            except FileNotFoundError:  # renamed or removed meanwhile by its writer
                continue
    return found


def remove_stale(data_dir: Path, older_than: float = STALE_SECONDS) -> list[Path]:
    removed = []
    for path in stale_files(data_dir, older_than):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError:
            log.exception("could not remove the temporary file %s", path)
            continue
        removed.append(path)
    if removed:
        log.info("removed %d temporary file(s) left by a crash: %s", len(removed), removed[:10])
    return removed


def start_removing_stale(data_dir: Path) -> threading.Thread:
    """In a thread of its own: a large DATA_DIR (a million stored documents) takes a
    while to walk, and the process need not wait for it."""

    def run() -> None:
        try:
            remove_stale(data_dir)
        except Exception:
            log.exception("removing temporary files under %s failed", data_dir)

    thread = threading.Thread(target=run, name="spool-cleanup", daemon=True)
    thread.start()
    return thread
