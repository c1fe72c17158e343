"""Claims as their users see them: the claim row merged with its calculation."""

from __future__ import annotations

from typing import Any

from subsidies.claims import calculations
from subsidies.claims.tables import Claim


async def claim_rows(where: Any) -> list[dict[str, Any]]:
    """Every column of the claims matching the Piccolo condition `where`, in id order,
    each merged with its calculation (status calculated, amount, inputs, trace)."""
    rows = await Claim.select().where(where).order_by(Claim.id).run()
    return await calculations.merged_rows(rows)


async def claims_by_id(ids: list[int]) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in await claim_rows(Claim.id.is_in(ids))}
