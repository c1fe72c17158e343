"""Appending to and reading the audit log."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from audit import chain
from audit.sealer import seal_pending, seal_soon
from audit.tables import AuditEntry
from kernel.clock import utcnow
from kernel.context import request_id_var
from kernel.db import after_commit, unit_of_work

_HASHED = [getattr(AuditEntry, f) for f in (*chain.HASHED_FIELDS, "hash")]


async def record(
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """Appends one entry inside the caller's unit of work (or a new one): the entry
    commits or rolls back with the change it records, and is sealed after commit."""
    async with unit_of_work():
        await AuditEntry.insert(
            AuditEntry(
                at=utcnow().isoformat(timespec="microseconds"),
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=str(object_id)[:64],
                before=chain.canonical_json(before),
                after=chain.canonical_json(after),
                request_id=request_id_var.get(),
            )
        ).run()
        after_commit(seal_soon)


async def record_denial(actor: str, action: str, path: str, reason: str) -> None:
    await record(
        actor, "permission.denied", "route", path, after={"attempted": action, "reason": reason}
    )


async def list_entries(
    after_id: int | None, limit: int, action: str | None = None
) -> list[dict[str, Any]]:
    """In commit order of writing (id); `seq` is empty until the row is sealed."""
    query = AuditEntry.select(AuditEntry.id, *_HASHED)
    if after_id is not None:
        query = query.where(AuditEntry.id > after_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return await query.order_by(AuditEntry.id).limit(limit).run()


@dataclass
class Verification:
    check: chain.ChainCheck
    unsealed: int  # rows committed while the check ran, sealed by the next round


async def verify_all(batch_size: int = 5000) -> Verification:
    """Seals what has committed, then walks the whole chain in seq order."""
    await seal_pending()
    check = chain.ChainCheck()
    while check.ok:
        rows = await (
            AuditEntry.select(*_HASHED)
            .where(AuditEntry.seq > check.head_seq)
            .order_by(AuditEntry.seq)
            .limit(batch_size)
            .run()
        )
        if not rows:
            break
        chain.verify(rows, check)
        await asyncio.sleep(0)  # SQLite reads never suspend: let requests run between batches
    unsealed = await AuditEntry.count().where(AuditEntry.seq.is_null()).run()
    return Verification(check, unsealed)
