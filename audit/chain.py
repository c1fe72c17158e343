"""The hash chain, as pure functions: each row's hash covers its content and the
previous row's hash, so editing or deleting a row breaks every later link."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "request_id",
    "prev_hash",
)


def canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(entry: Mapping[str, Any]) -> str:
    material = json.dumps([entry[f] for f in HASHED_FIELDS], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def link(previous: Mapping[str, Any] | None, entry: dict[str, Any]) -> dict[str, Any]:
    """Fills seq, prev_hash and hash of `entry` given the current head of the chain."""
    entry["seq"] = previous["seq"] + 1 if previous else 1
    entry["prev_hash"] = previous["hash"] if previous else GENESIS
    entry["hash"] = entry_hash(entry)
    return entry


@dataclass
class ChainCheck:
    ok: bool = True
    checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    first_bad_seq: int | None = None
    reason: str | None = None


def verify(entries: Iterable[Mapping[str, Any]], check: ChainCheck | None = None) -> ChainCheck:
    """Checks entries in seq order; can be fed batch after batch with the same `check`."""
    check = check or ChainCheck()
    for entry in entries:
        if not check.ok:
            break
        problem = _problem(check, entry)
        if problem:
            check.ok, check.first_bad_seq, check.reason = False, entry["seq"], problem
            break
        check.checked += 1
        check.head_seq, check.head_hash = entry["seq"], entry["hash"]
    return check


def _problem(check: ChainCheck, entry: Mapping[str, Any]) -> str | None:
    if entry["seq"] != check.head_seq + 1:
        return f"sequence jumps from {check.head_seq} to {entry['seq']} (a row was removed)"
    if entry["prev_hash"] != check.head_hash:
        return "prev_hash does not match the previous row (a row was removed or replaced)"
    if entry_hash(entry) != entry["hash"]:
        return "content does not match its hash (the row was edited)"
    return None
