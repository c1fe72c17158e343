"""Files the service wrote are handed out only while they are still what it wrote: the
digest taken at writing time (in the documents table, or in the hash-chained audit log
for payment files) is compared with the bytes read for each download, and those same
bytes are served, so nothing can change between the check and the answer."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from kernel.errors import Conflict


async def read_unaltered(path: Path, expected: str | None, what: str) -> bytes:
    """The file's bytes, once they hash to `expected`; the caller serves these very
    bytes, so nothing can change between the check and the download. Raises Conflict
    (409) naming both digests when they differ (or no digest was recorded), or when the
    file is gone: an altered bank file or document is never served."""
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise Conflict(
            f"{what} is missing from storage 文件已不在存储中",
            field="sha256",
            expected=expected,
            found=None,
        ) from None
    found = hashlib.sha256(content).hexdigest()
    if expected is None or found != expected:
        raise Conflict(
            f"{what} is not the file that was written (sha256 {found}, written "
            f"{expected or 'unknown'}): it was changed on disk after it was written "
            "文件在写入后被改动，拒绝下载",
            field="sha256",
            expected=expected,
            found=found,
        )
    return content
