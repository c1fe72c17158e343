"""Appending to and reading the audit log."""

from __future__ import annotations

from typing import Any

from audit import chain
from audit.tables import AuditEntry
from kernel.clock import utcnow
from kernel.context import request_id_var
from kernel.db import lock_for_append, unit_of_work

# Any constant works; it names the one advisory lock that serialises appenders on
# PostgreSQL so the chain stays linear.
AUDIT_LOCK_KEY = 7_201_311

_COLUMNS = [getattr(AuditEntry, f) for f in (*chain.HASHED_FIELDS, "hash")]


async def record(
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """Appends one entry inside the caller's unit of work (or a new one).

    Call it last in a transaction: on PostgreSQL it holds the chain lock until commit.
    """
    async with unit_of_work():
        await lock_for_append(AUDIT_LOCK_KEY)
        head = (
            await AuditEntry.select(AuditEntry.seq, AuditEntry.hash)
            .order_by(AuditEntry.seq, ascending=False)
            .first()
            .run()
        )
        entry = chain.link(
            head,
            {
                "at": utcnow().isoformat(timespec="microseconds"),
                "actor": actor,
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "before": chain.canonical_json(before),
                "after": chain.canonical_json(after),
                "request_id": request_id_var.get(),
            },
        )
        await AuditEntry.insert(AuditEntry(**entry)).run()


async def record_denial(actor: str, action: str, path: str, reason: str) -> None:
    await record(
        actor, "permission.denied", "route", path, after={"attempted": action, "reason": reason}
    )


async def list_entries(
    after_seq: int | None, limit: int, action: str | None = None
) -> list[dict[str, Any]]:
    query = AuditEntry.select(*_COLUMNS)
    if after_seq is not None:
        query = query.where(AuditEntry.seq > after_seq)
    if action:
        query = query.where(AuditEntry.action == action)
    return await query.order_by(AuditEntry.seq).limit(limit).run()


async def verify_all(batch_size: int = 5000) -> chain.ChainCheck:
    """Walks the whole chain in seq order, a batch at a time."""
    check = chain.ChainCheck()
    while check.ok:
        rows = (
            await AuditEntry.select(*_COLUMNS)
            .where(AuditEntry.seq > check.head_seq)
            .order_by(AuditEntry.seq)
            .limit(batch_size)
            .run()
        )
        if not rows:
            break
        chain.verify(rows, check)
    return check
