"""Claims as their users see them: the claim row merged with its calculation."""

from __future__ import annotations

from typing import Any

from subsidies.claims import calculations, trace_store
from subsidies.claims.tables import CalculationTrace, Claim


async def claim_rows(where: Any) -> list[dict[str, Any]]:
    """Every column of the claims matching the Piccolo condition `where`, in id order,
    each merged with its calculation (status calculated, amount, inputs, trace)."""
    rows = await Claim.select().where(where).order_by(Claim.id).run()
    return await calculations.merged_rows(rows)


async def claims_by_id(ids: list[int]) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in await claim_rows(Claim.id.is_in(ids))}


async def stored_trace(text: str) -> str:
    """Stores a trace as a run would (outside a run's unit of work); returns its digest."""
    name = trace_store.digest(text)
    await CalculationTrace.raw(
        "INSERT INTO calculation_trace (digest, steps) VALUES ({}, {}) "
        "ON CONFLICT (digest) DO NOTHING",
        name,
        text,
    ).run()
    return name
