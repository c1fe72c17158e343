"""Files the service wrote are handed out only while they are still what it wrote: the
digest taken at writing time (in the documents table, or in the hash-chained audit log
for payment files) is compared with the file's bytes at every download."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from kernel.errors import Conflict


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def ensure_unaltered(path: Path, expected: str | None, what: str) -> None:
    """Raises Conflict (409) naming both digests when the file differs from `expected`
    (or no digest was recorded): an altered bank file or document is never served."""
    try:
        found = await asyncio.to_thread(file_sha256, path)
    except FileNotFoundError:
        raise Conflict(
            f"{what} is missing from storage 文件已不在存储中",
            field="sha256",
            expected=expected,
            found=None,
        ) from None
    if expected is None or found != expected:
        raise Conflict(
            f"{what} is not the file that was written (sha256 {found}, written "
            f"{expected or 'unknown'}): it was changed on disk after it was written "
            "文件在写入后被改动，拒绝下载",
            field="sha256",
            expected=expected,
            found=found,
        )
