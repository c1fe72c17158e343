"""Content-addressed storage of rendered documents under DATA_DIR.

A file's path is derived from the SHA-256 of its bytes
(`documents/3f/a2/3fa2….pdf`), so the same bytes are stored once, a stored file can
never be overwritten with other content, and a worker that dies mid-write leaves only
a temporary file (written beside the target, then renamed into place atomically).
With several machines DATA_DIR must be shared storage, as for uploads.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

FOLDER = "documents"


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def relative_path(sha256: str) -> str:
    return f"{FOLDER}/{sha256[:2]}/{sha256[2:4]}/{sha256}.pdf"


def store(data_dir: Path, content: bytes) -> tuple[str, str]:
    """Writes `content` once; returns (sha256, path relative to data_dir)."""
    digest = sha256_of(content)
    rel = relative_path(digest)
    target = data_dir / rel
    if target.exists() and sha256_of(target.read_bytes()) == digest:
        return digest, rel  # an altered copy is replaced, not kept
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".incoming-{uuid.uuid4().hex}")
    try:
        with open(partial, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return digest, rel


def absolute(data_dir: Path, rel: str) -> Path:
    path = (data_dir / rel).resolve()
    if data_dir.resolve() not in path.parents:  # a stored path never leaves DATA_DIR
        raise ValueError(f"stored path {rel!r} is outside the data folder")
    return path
